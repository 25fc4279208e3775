package fal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/fal/falfake"
	"github.com/tryonhq/tryon/pkg/media"
	"github.com/tryonhq/tryon/pkg/retry"
	"github.com/tryonhq/tryon/pkg/syncbuffer"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// fastRetry keeps the real retry logic but drops the waits, so retry tests
// run in milliseconds without depending on timing.
var fastRetry = retry.Policy{Waits: []time.Duration{time.Millisecond, 2 * time.Millisecond}, MaxRetryAfter: 20 * time.Second}

// testEnv is a fake fal, a provider pointed at it, and the provider's log.
type testEnv struct {
	fake *falfake.Server
	p    *Provider
	logs *syncbuffer.Buffer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	fake := falfake.New()
	t.Cleanup(fake.Close)
	fake.RetryAfter = ""
	logs := &syncbuffer.Buffer{}
	p := New(Config{
		Key:        fake.Key,
		BaseURL:    fake.URL(),
		HTTPClient: &http.Client{},
		Fetcher:    insecureTestFetcher{client: &http.Client{}},
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
	})
	p.retry = fastRetry
	return &testEnv{fake: fake, p: p, logs: logs}
}

// testImage encodes a small solid PNG of the given size.
func testImage(t *testing.T, w, h int, c color.RGBA) *tryon.Image {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return &tryon.Image{Bytes: buf.Bytes(), ContentType: "image/png", Width: w, Height: h}
}

// sentBody decodes the body of the fake's last call.
func sentBody(t *testing.T, fake *falfake.Server) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(fake.LastRequest().Body, &m); err != nil {
		t.Fatalf("decode sent body: %v", err)
	}
	return m
}

func asProviderError(t *testing.T, err error) *tryon.ProviderError {
	t.Helper()
	var perr *tryon.ProviderError
	if !errors.As(err, &perr) {
		t.Fatalf("err = %v (%T), want *tryon.ProviderError", err, err)
	}
	if perr.Provider != "fal" {
		t.Errorf("Provider = %q, want fal", perr.Provider)
	}
	return perr
}

func TestGenerateTextToImage(t *testing.T) {
	for _, tc := range []struct {
		service      tryon.Service
		endpoint     string
		width, heigh int
		wantRatio    string
		wantRes      any // the resolution sent: nil for none
		wantW, wantH int
	}{
		{tryon.ServiceBanana, "fal-ai/nano-banana", 1024, 1024, "1:1", nil, 1024, 1024},
		{tryon.ServiceBanana, "fal-ai/nano-banana", 1920, 1080, "16:9", nil, 1344, 768},
		// Nano Banana Pro gets the smallest tier that covers the request.
		{tryon.ServiceBananaPro, "fal-ai/nano-banana-pro", 720, 1280, "9:16", "1K", 768, 1376},
		{tryon.ServiceBananaPro, "fal-ai/nano-banana-pro", 1080, 1920, "9:16", "2K", 1536, 2752},
	} {
		t.Run(string(tc.service)+"/"+tc.wantRatio+"/"+fmt.Sprint(tc.wantRes), func(t *testing.T) {
			env := newTestEnv(t)
			res, err := env.p.Generate(context.Background(), tryon.ProviderRequest{
				Service: tc.service, Prompt: "a red summer dress on a hanger", Width: tc.width, Height: tc.heigh,
			})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}

			last := env.fake.LastRequest()
			if last.Endpoint != tc.endpoint {
				t.Errorf("endpoint = %q, want %q", last.Endpoint, tc.endpoint)
			}
			if got, want := last.Authorization, "Key "+env.fake.Key; got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			body := sentBody(t, env.fake)
			want := map[string]any{
				"prompt": "a red summer dress on a hanger", "num_images": float64(1),
				"output_format": "png", "aspect_ratio": tc.wantRatio, "resolution": tc.wantRes,
			}
			for k, v := range want {
				if body[k] != v {
					t.Errorf("body[%q] = %v, want %v", k, body[k], v)
				}
			}
			if _, ok := body["image_urls"]; ok {
				t.Errorf("text-to-image body has image_urls: %v", body["image_urls"])
			}

			if res.ContentType != media.PNG || res.Width != tc.wantW || res.Height != tc.wantH {
				t.Errorf("result = %s %dx%d, want image/png %dx%d", res.ContentType, res.Width, res.Height, tc.wantW, tc.wantH)
			}
			if info, ok := media.Sniff(res.Bytes); !ok || info.Width != res.Width {
				t.Errorf("result bytes sniff as %+v, %v", info, ok)
			}
			if got := env.fake.FileRequests(); got != 1 {
				t.Errorf("output downloads = %d, want 1", got)
			}
		})
	}
}

func TestGenerateTryOn(t *testing.T) {
	for _, tc := range []struct {
		service      tryon.Service
		endpoint     string
		wantW, wantH int
	}{
		{tryon.ServiceBanana, "fal-ai/nano-banana/edit", 864, 1184},
		{tryon.ServiceBananaPro, "fal-ai/nano-banana-pro/edit", 896, 1200},
	} {
		t.Run(string(tc.service), func(t *testing.T) {
			env := newTestEnv(t)
			person := testImage(t, 30, 40, color.RGBA{200, 150, 120, 255})
			garment := testImage(t, 20, 20, color.RGBA{10, 20, 200, 255})

			res, err := env.p.Generate(context.Background(), tryon.ProviderRequest{
				Service: tc.service, Prompt: "put the jacket on her", Width: 768, Height: 1024,
				Person: person, Garment: garment,
			})
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}

			if got := env.fake.LastRequest().Endpoint; got != tc.endpoint {
				t.Errorf("endpoint = %q, want %q", got, tc.endpoint)
			}
			if got := env.fake.Calls(tc.endpoint); got != 1 {
				t.Errorf("calls to %s = %d, want 1", tc.endpoint, got)
			}
			body := sentBody(t, env.fake)
			if body["aspect_ratio"] != "3:4" {
				t.Errorf("aspect_ratio = %v, want 3:4", body["aspect_ratio"])
			}
			urls, _ := body["image_urls"].([]any)
			if len(urls) != 2 {
				t.Fatalf("image_urls = %v, want 2 entries", body["image_urls"])
			}
			for i, want := range []*tryon.Image{person, garment} {
				u, _ := urls[i].(string)
				payload, ok := strings.CutPrefix(u, "data:image/png;base64,")
				if !ok {
					t.Fatalf("image_urls[%d] = %.40q…, want a data:image/png;base64 URI", i, u)
				}
				got, err := base64.StdEncoding.DecodeString(payload)
				if err != nil || !bytes.Equal(got, want.Bytes) {
					t.Errorf("image_urls[%d] does not carry input %d's bytes (err %v)", i, i, err)
				}
			}
			if res.Width != tc.wantW || res.Height != tc.wantH {
				t.Errorf("result = %dx%d, want %dx%d", res.Width, res.Height, tc.wantW, tc.wantH)
			}
		})
	}
}

func TestGenerateTryOnWithoutPromptOrSize(t *testing.T) {
	env := newTestEnv(t)
	_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{
		Service: tryon.ServiceBanana,
		Person:  testImage(t, 30, 40, color.RGBA{1, 2, 3, 255}),
		Garment: testImage(t, 20, 20, color.RGBA{4, 5, 6, 255}),
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	body := sentBody(t, env.fake)
	if body["prompt"] != defaultTryOnPrompt {
		t.Errorf("prompt = %v, want the default try-on instruction", body["prompt"])
	}
	if _, ok := body["aspect_ratio"]; ok {
		t.Errorf("aspect_ratio sent without a requested size: %v", body["aspect_ratio"])
	}
}

func TestGenerateDataURLOutput(t *testing.T) {
	env := newTestEnv(t)
	res, err := env.p.Generate(context.Background(), tryon.ProviderRequest{
		Service: tryon.ServiceBanana, Prompt: "a scarf [fal:data_url]", Width: 1, Height: 1,
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if res.ContentType != media.PNG || res.Width != 1024 || res.Height != 1024 {
		t.Errorf("result = %s %dx%d, want image/png 1024x1024", res.ContentType, res.Width, res.Height)
	}
	if got := env.fake.FileRequests(); got != 0 {
		t.Errorf("output downloads = %d, want 0 for an inline answer", got)
	}
}

func TestGenerateFailures(t *testing.T) {
	for _, tc := range []struct {
		token      falfake.Scenario
		kind       tryon.FailureKind
		status     int
		calls      int    // model calls, retries included
		detailHas  string // a piece of fal's own words that must reach Detail
		detailLack string // something Detail must not repeat
	}{
		{falfake.Unauthorized, tryon.FailAuth, 401, 1, "No user found", ""},
		{falfake.Forbidden, tryon.FailAuth, 403, 1, "Admin lock", ""},
		{falfake.LockedBalance, tryon.FailQuota, 403, 1, "Exhausted balance", ""},
		{falfake.Validation, tryon.FailInvalidRequest, 422, 1, "image_too_large", "(the image url)"},
		{falfake.ContentPolicy, tryon.FailContentBlocked, 422, 1, "content_policy_violation", ""},
		{falfake.RateLimited, tryon.FailRateLimited, 429, 3, "Too many", ""},
		{falfake.InternalError, tryon.FailUnavailable, 500, 3, "runner_server_error", ""},
		{falfake.Unavailable, tryon.FailUnavailable, 503, 3, "runner_scheduling_failure", ""},
		{falfake.Malformed, tryon.FailBadResponse, 0, 1, "decode answer", ""},
		{falfake.NoImages, tryon.FailNoOutput, 0, 1, "can't make that image", ""},
		{falfake.MissingFile, tryon.FailBadResponse, 0, 1, "HTTP 404", ""},
	} {
		t.Run(strings.Trim(string(tc.token), "[]"), func(t *testing.T) {
			env := newTestEnv(t)
			res, err := env.p.Generate(context.Background(), tryon.ProviderRequest{
				Service: tryon.ServiceBanana, Prompt: "a coat " + string(tc.token),
			})
			if res != nil {
				t.Errorf("result = %+v, want nil", res)
			}
			perr := asProviderError(t, err)
			if perr.Kind != tc.kind {
				t.Errorf("Kind = %q, want %q (err %v)", perr.Kind, tc.kind, err)
			}
			if perr.Status != tc.status {
				t.Errorf("Status = %d, want %d", perr.Status, tc.status)
			}
			if perr.Message == "" || strings.Contains(perr.Message, env.fake.Key) {
				t.Errorf("Message = %q, want a tenant-safe message", perr.Message)
			}
			if !strings.Contains(perr.Detail, tc.detailHas) {
				t.Errorf("Detail = %q, want it to contain %q", perr.Detail, tc.detailHas)
			}
			if tc.detailLack != "" && strings.Contains(perr.Detail, tc.detailLack) {
				t.Errorf("Detail = %q, must not contain %q", perr.Detail, tc.detailLack)
			}
			if got := env.fake.Calls("fal-ai/nano-banana"); got != tc.calls {
				t.Errorf("calls = %d, want %d", got, tc.calls)
			}
		})
	}
}

func TestGenerateRetriesFlaky(t *testing.T) {
	env := newTestEnv(t)
	res, err := env.p.Generate(context.Background(), tryon.ProviderRequest{
		Service: tryon.ServiceBananaPro, Prompt: "a hat [fal:flaky]",
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	if res.ContentType != media.PNG {
		t.Errorf("ContentType = %q, want image/png", res.ContentType)
	}
	if got := env.fake.Calls("fal-ai/nano-banana-pro"); got != 2 {
		t.Errorf("calls = %d, want 2 (one 503, one success)", got)
	}
	if !strings.Contains(env.logs.String(), "retrying") {
		t.Errorf("log does not mention the retry:\n%s", env.logs)
	}
}

func TestGenerateNoRetryWithoutRoomInDeadline(t *testing.T) {
	env := newTestEnv(t)
	env.p.retry.MinAttempt = time.Hour // no deadline below leaves room for another attempt
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_, err := env.p.Generate(ctx, tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a hat [fal:flaky]"})
	if perr := asProviderError(t, err); perr.Kind != tryon.FailUnavailable {
		t.Errorf("Kind = %q, want unavailable", perr.Kind)
	}
	if got := env.fake.TotalCalls(); got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}
}

func TestGenerateRateLimitRetryAfter(t *testing.T) {
	t.Run("Reported", func(t *testing.T) {
		env := newTestEnv(t)
		env.fake.RetryAfter = "7"
		env.p.retry.Waits = nil
		_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "x [fal:429]"})
		if perr := asProviderError(t, err); perr.RetryAfter != 7*time.Second {
			t.Errorf("RetryAfter = %v, want 7s", perr.RetryAfter)
		}
	})
	t.Run("LongerThanDeadlineNotWaited", func(t *testing.T) {
		env := newTestEnv(t)
		env.fake.RetryAfter = "120"
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := env.p.Generate(ctx, tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "x [fal:429]"})
		perr := asProviderError(t, err)
		if perr.Kind != tryon.FailRateLimited || perr.RetryAfter != 120*time.Second {
			t.Errorf("got %s RetryAfter %v, want rate_limited after 2m0s", perr.Kind, perr.RetryAfter)
		}
		if got := env.fake.TotalCalls(); got != 1 {
			t.Errorf("calls = %d, want 1", got)
		}
	})
}

func TestGenerateHangTimesOut(t *testing.T) {
	env := newTestEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	_, err := env.p.Generate(ctx, tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a tie [fal:hang]"})
	if perr := asProviderError(t, err); perr.Kind != tryon.FailTimeout {
		t.Errorf("Kind = %q, want timeout (err %v)", perr.Kind, err)
	}
	if got := env.fake.TotalCalls(); got != 1 {
		t.Errorf("calls = %d, want 1", got)
	}
}

func TestGenerateWrongKey(t *testing.T) {
	env := newTestEnv(t)
	env.fake.Key = "someone-else:secret"
	_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a sock"})
	if perr := asProviderError(t, err); perr.Kind != tryon.FailAuth || perr.Status != 401 {
		t.Errorf("got %s (HTTP %d), want auth (HTTP 401)", perr.Kind, perr.Status)
	}
}

func TestGenerateAuthFailureLogsWithoutKey(t *testing.T) {
	env := newTestEnv(t)
	_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a belt [fal:401]"})
	asProviderError(t, err)
	logs := env.logs.String()
	if !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "configuration problem") {
		t.Errorf("auth failure not logged loudly:\n%s", logs)
	}
	for _, secret := range strings.Split(env.fake.Key, ":") {
		if strings.Contains(logs, secret) {
			t.Errorf("log contains the key part %q:\n%s", secret, logs)
		}
	}
}

func TestGenerateRefusesBeforeCalling(t *testing.T) {
	person := testImage(t, 30, 40, color.RGBA{1, 2, 3, 255})
	for _, tc := range []struct {
		name string
		key  string
		req  tryon.ProviderRequest
		kind tryon.FailureKind
	}{
		{"ErrNoKey", "", tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a cap"}, tryon.FailAuth},
		{"ErrPersonWithoutGarment", "k", tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a cap", Person: person}, tryon.FailInvalidRequest},
		{"ErrNoPrompt", "k", tryon.ProviderRequest{Service: tryon.ServiceBanana}, tryon.FailInvalidRequest},
		{"ErrVideoService", "k", tryon.ProviderRequest{Service: tryon.ServiceVeo3, Prompt: "a cap"}, tryon.FailInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.p.key = tc.key
			_, err := env.p.Generate(context.Background(), tc.req)
			if perr := asProviderError(t, err); perr.Kind != tc.kind {
				t.Errorf("Kind = %q, want %q", perr.Kind, tc.kind)
			}
			if got := env.fake.TotalCalls(); got != 0 {
				t.Errorf("calls = %d, want 0", got)
			}
		})
	}
}

func TestGenerateOutputOverLimit(t *testing.T) {
	env := newTestEnv(t)
	env.p.maxOutput = 100
	_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a glove"})
	if perr := asProviderError(t, err); perr.Kind != tryon.FailBadResponse {
		t.Errorf("Kind = %q, want bad_response", perr.Kind)
	}
}

func TestNameAndModel(t *testing.T) {
	p := New(Config{
		Fetcher:   insecureTestFetcher{},
		Endpoints: map[tryon.Service]string{tryon.ServiceBananaPro: "/fal-ai/nano-banana-pro-v2/edit/"},
	})
	if got := p.Name(); got != "fal" {
		t.Errorf("Name = %q, want fal", got)
	}
	for s, want := range map[tryon.Service]string{
		tryon.ServiceBanana:    "fal-ai/nano-banana/edit",
		tryon.ServiceBananaPro: "fal-ai/nano-banana-pro-v2/edit",
		tryon.ServiceVeo3:      "",
	} {
		if got := p.Model(s); got != want {
			t.Errorf("Model(%s) = %q, want %q", s, got, want)
		}
	}
	if p.baseURL != DefaultBaseURL {
		t.Errorf("baseURL = %q, want %q", p.baseURL, DefaultBaseURL)
	}
}

func TestNewPanicsWithoutFetcher(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New without a Fetcher did not panic")
		}
	}()
	New(Config{Key: "k"})
}

func TestGenerateHonoursRetryableFalse(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("X-Fal-Retryable", "false")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"detail": "Model is being redeployed", "error_type": "runner_scheduling_failure"}`))
	}))
	defer srv.Close()
	p := New(Config{Key: "k", BaseURL: srv.URL, Fetcher: insecureTestFetcher{client: srv.Client()}})
	p.retry = fastRetry

	_, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a shoe"})
	if perr := asProviderError(t, err); perr.Kind != tryon.FailUnavailable {
		t.Errorf("Kind = %q, want unavailable", perr.Kind)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("calls = %d, want 1: fal said a retry would not help", got)
	}
}

// TestGenerateHonoursNeedsRetry: fal's X-Fal-Needs-Retry overrides the
// status, both ways.
func TestGenerateHonoursNeedsRetry(t *testing.T) {
	t.Run("OneForcesARetry", func(t *testing.T) {
		env := newTestEnv(t)
		_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a hat " + string(falfake.NeedsRetry)})
		if err != nil {
			t.Fatalf("Generate: %v", err)
		}
		if got := env.fake.TotalCalls(); got != 2 {
			t.Errorf("calls = %d, want 2: fal asked for a retry of its 400", got)
		}
	})
	t.Run("ZeroForbidsOne", func(t *testing.T) {
		env := newTestEnv(t)
		_, err := env.p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceBanana, Prompt: "a hat " + string(falfake.NoRetry)})
		if perr := asProviderError(t, err); perr.Kind != tryon.FailUnavailable {
			t.Errorf("Kind = %q, want unavailable", perr.Kind)
		}
		if got := env.fake.TotalCalls(); got != 1 {
			t.Errorf("calls = %d, want 1: fal said not to retry its 503", got)
		}
	})
}
