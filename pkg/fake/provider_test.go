package fake

import (
	"context"
	"hash/crc32"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func TestNameAndModel(t *testing.T) {
	p := New(Options{})
	if got := p.Name(); got != "fake" {
		t.Errorf("Name() = %q, want fake", got)
	}
	for s, want := range map[tryon.Service]string{
		tryon.ServiceBanana:    "fake-banana",
		tryon.ServiceBananaPro: "fake-banana-pro",
		tryon.ServiceVeo3:      "fake-veo3",
	} {
		if got := p.Model(s); got != want {
			t.Errorf("Model(%s) = %q, want %q", s, got, want)
		}
	}
}

func imageRequest(prompt string) tryon.ProviderRequest {
	return tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: prompt, Width: 256, Height: 256}
}

func TestFailureTokens(t *testing.T) {
	for _, c := range []struct {
		token      string
		kind       tryon.FailureKind
		message    string
		retryAfter time.Duration
	}{
		{"[fake:blocked]", tryon.FailContentBlocked, "the fake provider blocked this prompt", 0},
		{"[fake:unavailable]", tryon.FailUnavailable, "the fake provider is unavailable; try again shortly", 2 * time.Second},
		{"[fake:error]", tryon.FailBadResponse, "the fake provider returned an answer that could not be read", 0},
		{"[fake:no_output]", tryon.FailNoOutput, "the fake provider returned no image", 0},
	} {
		t.Run(string(c.kind), func(t *testing.T) {
			for _, service := range []tryon.Service{tryon.ServiceBanana, tryon.ServiceBananaPro} {
				req := imageRequest("a dress " + c.token)
				req.Service = service
				res, err := New(Options{}).Generate(context.Background(), req)
				if res != nil {
					t.Errorf("%s: result %+v with an error", service, res)
				}
				pe := providerError(t, err, c.kind)
				if pe.Message != c.message || pe.RetryAfter != c.retryAfter {
					t.Errorf("%s: message %q, retry after %v; want %q, %v", service, pe.Message, pe.RetryAfter, c.message, c.retryAfter)
				}
				if !strings.Contains(pe.Detail, c.token) {
					t.Errorf("%s: detail %q does not name %s", service, pe.Detail, c.token)
				}
			}
		})
	}
}

func TestOptionsFail(t *testing.T) {
	kinds := []tryon.FailureKind{
		tryon.FailInvalidRequest, tryon.FailAuth, tryon.FailRateLimited, tryon.FailQuota,
		tryon.FailContentBlocked, tryon.FailNoOutput, tryon.FailUnavailable, tryon.FailTimeout, tryon.FailBadResponse,
	}
	good, err := New(Options{VideoLatency: -1}).Start(context.Background(), videoRequest("a walk"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			p := New(Options{Fail: kind, VideoLatency: -1})
			_, err := p.Generate(context.Background(), imageRequest("a dress"))
			pe := providerError(t, err, kind)
			if strings.Contains(pe.Message, "Fail") || pe.Message == "the fake provider failed" {
				t.Errorf("message %q: want one for %s, with no internals", pe.Message, kind)
			}
			_, err = p.Generate(context.Background(), videoRequest("a walk"))
			providerError(t, err, kind)
			_, err = p.Start(context.Background(), videoRequest("a walk"))
			providerError(t, err, kind)
			_, err = p.Poll(context.Background(), good)
			providerError(t, err, kind)
		})
	}
}

func TestInvalidRequests(t *testing.T) {
	p := New(Options{})
	for name, req := range map[string]tryon.ProviderRequest{
		"UnknownService": {Service: "dalle", Prompt: "x", Width: 256, Height: 256},
		"TooSmall":       {Service: tryon.ServiceBanana, Prompt: "x", Width: 63, Height: 256},
		"TooLarge":       {Service: tryon.ServiceBanana, Prompt: "x", Width: 256, Height: 4097},
		"OneSideZero":    {Service: tryon.ServiceBanana, Prompt: "x", Width: 256},
		"BadPerson":      {Service: tryon.ServiceBanana, Prompt: "x", Width: 256, Height: 256, Person: &tryon.Image{Bytes: []byte("\x89PNG\r\n\x1a\nbroken")}, Garment: webpImage(8, 8)},
		"BadDuration":    {Service: tryon.ServiceVeo3, Prompt: "x", DurationSeconds: 5},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Generate(context.Background(), req)
			pe := providerError(t, err, tryon.FailInvalidRequest)
			if pe.Detail == "" {
				t.Error("no detail for the logs")
			}
		})
	}
	_, err := p.Start(context.Background(), imageRequest("x"))
	providerError(t, err, tryon.FailInvalidRequest)
}

func TestDecompressionBombRefused(t *testing.T) {
	// A PNG header declaring 20000×20000 pixels: DecodeConfig reads only the
	// header, so the fake must refuse before decoding.
	big := solidImage(t, "png", 1, 1, red)
	b := append([]byte(nil), big.Bytes...)
	putBE := func(at int, v uint32) {
		b[at], b[at+1], b[at+2], b[at+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	putBE(16, 20000)
	putBE(20, 20000)
	putBE(29, crc32.ChecksumIEEE(b[12:29])) // IHDR's type and data
	req := imageRequest("x")
	req.Person, req.Garment = &tryon.Image{Bytes: b}, big
	_, err := New(Options{}).Generate(context.Background(), req)
	pe := providerError(t, err, tryon.FailInvalidRequest)
	if !strings.Contains(pe.Detail, "20000") {
		t.Errorf("detail %q", pe.Detail)
	}
}

func TestContextEndsFirst(t *testing.T) {
	for name, c := range map[string]struct {
		opts   Options
		prompt string
	}{
		"Latency":    {Options{Latency: time.Hour}, "a dress"},
		"SleepToken": {Options{}, "a dress [fake:sleep=10m]"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, err := New(c.opts).Generate(ctx, imageRequest(c.prompt))
			pe := providerError(t, err, tryon.FailTimeout)
			if !strings.Contains(pe.Detail, "deadline") {
				t.Errorf("detail %q does not say why", pe.Detail)
			}
			if ctx.Err() == nil {
				t.Error("Generate returned before the context ended, without waiting")
			}
		})
	}
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p := New(Options{})
		for _, call := range []func() error{
			func() error { _, err := p.Generate(ctx, imageRequest("x")); return err },
			func() error { _, err := p.Start(ctx, videoRequest("x")); return err },
			func() error { _, err := p.Poll(ctx, "fake-ops/x"); return err },
		} {
			providerError(t, call(), tryon.FailTimeout)
		}
	})
	t.Run("VideoLatency", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		_, err := New(Options{VideoLatency: time.Hour}).Generate(ctx, videoRequest("a walk"))
		providerError(t, err, tryon.FailTimeout)
	})
}

func TestLatencyHonoured(t *testing.T) {
	const latency = 30 * time.Millisecond
	for name, c := range map[string]struct {
		opts   Options
		prompt string
	}{
		"Latency":    {Options{Latency: latency}, "a dress"},
		"SleepToken": {Options{}, "a dress [fake:sleep=30ms]"},
	} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			if _, err := New(c.opts).Generate(context.Background(), imageRequest(c.prompt)); err != nil {
				t.Fatal(err)
			}
			if elapsed := time.Since(start); elapsed < latency {
				t.Errorf("answered after %v, want at least %v", elapsed, latency)
			}
		})
	}
}

// TestConcurrentUse runs one Provider from many goroutines, for -race.
func TestConcurrentUse(t *testing.T) {
	p := New(Options{VideoLatency: -1})
	person, garment := solidImage(t, "jpeg", 40, 60, red), solidImage(t, "png", 20, 20, blue)
	want, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "same", Width: 300, Height: 200, Person: person, Garment: garment})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%4 == 0 {
				if _, err := p.Generate(context.Background(), videoRequest("walk")); err != nil {
					t.Error(err)
				}
				return
			}
			got, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "same", Width: 300, Height: 200, Person: person, Garment: garment})
			if err != nil {
				t.Error(err)
				return
			}
			if string(got.Bytes) != string(want.Bytes) {
				t.Error("concurrent call made different bytes")
			}
		})
	}
	wg.Wait()
}
