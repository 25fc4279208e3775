package gemini

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/color"
	"image/png"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// tryOn is a try-on request for service with the given prompt.
func tryOn(t *testing.T, service tryon.Service, prompt string, w, h int) tryon.ProviderRequest {
	return tryon.ProviderRequest{
		Service: service,
		Prompt:  prompt,
		Width:   w,
		Height:  h,
		Person:  pngImage(t, 30, 40, color.White),
		Garment: pngImage(t, 20, 20, color.Black),
	}
}

// shortDeadline leaves too little time for any retry, so each call is one
// attempt.
func shortDeadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), minImageAttempt/2)
	t.Cleanup(cancel)
	return ctx
}

func TestGenerateImageSucceeds(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	tests := []struct {
		name          string
		service       tryon.Service
		w, h          int
		wantW, wantH  int
		wantImageSize string
	}{
		{"FlashSquareIs1024", tryon.ServiceBanana, 1024, 1024, 1024, 1024, ""},
		{"FlashPortraitUsesFlashTable", tryon.ServiceBanana, 1080, 1920, 768, 1344, ""},
		{"ProThreeByFourAt1K", tryon.ServiceBananaPro, 900, 1200, 896, 1200, "1K"},
		{"ProFullHDAt2K", tryon.ServiceBananaPro, 1920, 1080, 2752, 1536, "2K"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.Generate(context.Background(), tryOn(t, tt.service, "red jacket", tt.w, tt.h))
			if err != nil {
				t.Fatal(err)
			}
			if res.ContentType != "image/png" || res.Width != tt.wantW || res.Height != tt.wantH {
				t.Errorf("got %s %dx%d, want image/png %dx%d", res.ContentType, res.Width, res.Height, tt.wantW, tt.wantH)
			}
			var body map[string]any
			if err := json.Unmarshal(f.LastBody(geminifake.RouteGenerateContent), &body); err != nil {
				t.Fatal(err)
			}
			ic := body["generationConfig"].(map[string]any)["imageConfig"].(map[string]any)
			size, hasSize := ic["imageSize"]
			if tt.wantImageSize == "" && hasSize {
				t.Errorf("imageSize = %v sent to %s, want none", size, p.Model(tt.service))
			}
			if tt.wantImageSize != "" && size != tt.wantImageSize {
				t.Errorf("imageSize = %v, want %q", size, tt.wantImageSize)
			}
		})
	}
}

func TestGenerateImageSkipsThoughtImage(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	res, err := p.Generate(context.Background(), tryOn(t, tryon.ServiceBananaPro, "coat "+geminifake.TokenThought, 1024, 1024))
	if err != nil {
		t.Fatal(err)
	}
	// The thought image is a quarter the size and grey; the answer is not.
	if res.Width != 1024 || res.Height != 1024 {
		t.Errorf("size = %dx%d, want the final 1024x1024", res.Width, res.Height)
	}
	img, err := png.Decode(bytes.NewReader(res.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := img.At(512, 512).RGBA()
	wr, wg, wb, _ := geminifake.ImageColor.RGBA()
	if r != wr || g != wg || b != wb {
		t.Errorf("centre colour = %v, want the final image's %v", img.At(512, 512), geminifake.ImageColor)
	}
}

func TestGenerateImageRequestBody(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	req := tryOn(t, tryon.ServiceBanana, "make it denim", 900, 1200)
	if _, err := p.Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	got, ok := f.Last(geminifake.RouteGenerateContent)
	if !ok {
		t.Fatal("no generateContent request reached the fake")
	}
	if got.Header.Get("x-goog-api-key") != f.Key() {
		t.Errorf("x-goog-api-key = %q, want the key", got.Header.Get("x-goog-api-key"))
	}
	if strings.Contains(got.URL, "key") || strings.Contains(got.URL, f.Key()) {
		t.Errorf("URL %q carries the key", got.URL)
	}
	if !strings.HasSuffix(got.URL, "/v1beta/models/gemini-2.5-flash-image:generateContent") {
		t.Errorf("URL = %q, want the 2.5 flash generateContent path", got.URL)
	}
	if bytes.Contains(got.Body, []byte("inline_data")) || bytes.Contains(got.Body, []byte("mime_type")) {
		t.Errorf("body uses snake_case; want camelCase")
	}

	var body struct {
		Contents []struct {
			Role  string `json:"role"`
			Parts []struct {
				Text       string `json:"text"`
				InlineData *struct {
					MimeType string `json:"mimeType"`
					Data     string `json:"data"`
				} `json:"inlineData"`
			} `json:"parts"`
		} `json:"contents"`
		GenerationConfig struct {
			ResponseModalities []string       `json:"responseModalities"`
			ImageConfig        map[string]any `json:"imageConfig"`
		} `json:"generationConfig"`
	}
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Contents) != 1 || body.Contents[0].Role != "user" || len(body.Contents[0].Parts) != 3 {
		t.Fatalf("contents = %+v, want one user content with three parts", body.Contents)
	}
	parts := body.Contents[0].Parts
	if !strings.Contains(parts[0].Text, "make it denim") || !strings.Contains(parts[0].Text, "first image") {
		t.Errorf("text part = %q, want the try-on instruction around the tenant's prompt", parts[0].Text)
	}
	for i, want := range []*tryon.Image{req.Person, req.Garment} {
		in := parts[i+1].InlineData
		if in == nil {
			t.Fatalf("part %d has no inlineData", i+1)
		}
		if in.MimeType != want.ContentType || in.Data != base64.StdEncoding.EncodeToString(want.Bytes) {
			t.Errorf("part %d = %s (%d base64 chars), want %s of image %d", i+1, in.MimeType, len(in.Data), want.ContentType, i)
		}
	}
	if m := body.GenerationConfig.ResponseModalities; len(m) != 1 || m[0] != "IMAGE" {
		t.Errorf("responseModalities = %v, want [IMAGE]", m)
	}
	if ic := body.GenerationConfig.ImageConfig; ic["aspectRatio"] != "3:4" || ic["imageSize"] != nil {
		t.Errorf("imageConfig = %v, want aspectRatio 3:4 and no imageSize", ic)
	}
}

func TestGenerateImageWithoutSizeFollowsPerson(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	req := tryOn(t, tryon.ServiceBanana, "", 0, 0) // person is 30x40
	res, err := p.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Width != 864 || res.Height != 1184 {
		t.Errorf("size = %dx%d, want 3:4 (864x1184)", res.Width, res.Height)
	}
}

func TestGenerateImageFailures(t *testing.T) {
	tests := []struct {
		name      string
		token     string
		wantKind  tryon.FailureKind
		wantCount int    // generateContent requests made
		wantText  string // in Message or Detail
		wantLoud  bool   // logged as a configuration problem
	}{
		{"TextOnlyIsNoOutputRetriedOnce", geminifake.TokenTextOnly, tryon.FailNoOutput, 2, "description", false},
		{"NoImageIsNoOutputRetriedOnce", geminifake.TokenNoImage, tryon.FailNoOutput, 2, "NO_IMAGE", false},
		{"BlockReasonIsContentBlocked", geminifake.TokenBlock, tryon.FailContentBlocked, 1, "PROHIBITED_CONTENT", false},
		{"ImageSafetyIsContentBlocked", geminifake.TokenImageSafety, tryon.FailContentBlocked, 1, "IMAGE_SAFETY", false},
		{"DailyQuotaIsQuota", geminifake.Token429Daily, tryon.FailQuota, 1, "quota", true},
		// A daily quota named only in ErrorInfo.metadata is spent until the
		// day resets: not a rate limit to retry.
		{"DailyQuotaInErrorInfoIsQuota", geminifake.Token429DailyInfo, tryon.FailQuota, 1, "quota", true},
		// No candidates and only a blockReasonMessage: a block, not nonsense.
		{"BlockReasonMessageIsContentBlocked", geminifake.TokenBlockMessage, tryon.FailContentBlocked, 1, "may violate our policies", false},
		{"UnknownModelIsInvalidRequest", geminifake.Token404, tryon.FailInvalidRequest, 1, "not found", true},
		{"PermissionDeniedIsAuth", geminifake.Token403, tryon.FailAuth, 1, "PERMISSION_DENIED", true},
		{"MalformedJSONIsBadResponse", geminifake.TokenMalformed, tryon.FailBadResponse, 1, "decode", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			p, logs := newProvider(t, f)
			// No deadline: only the retry rules limit the attempts.
			res, err := p.Generate(context.Background(), tryOn(t, tryon.ServiceBanana, "shirt "+tt.token, 1024, 1024))
			if res != nil {
				t.Fatalf("got a result, want %q", tt.wantKind)
			}
			pe := wantKind(t, err, tt.wantKind)
			if !strings.Contains(pe.Message+" "+pe.Detail, tt.wantText) {
				t.Errorf("error %q does not mention %q", err, tt.wantText)
			}
			if got := f.Count(geminifake.RouteGenerateContent); got != tt.wantCount {
				t.Errorf("requests = %d, want %d", got, tt.wantCount)
			}
			if loud := strings.Contains(logs.String(), "level=ERROR"); loud != tt.wantLoud {
				t.Errorf("logged at error level = %v, want %v; logs:\n%s", loud, tt.wantLoud, logs)
			}
		})
	}
}

func TestGenerateImageTransientFailuresWithShortDeadline(t *testing.T) {
	tests := []struct {
		name           string
		token          string
		wantKind       tryon.FailureKind
		wantStatus     int
		wantRetryAfter time.Duration
		wantText       string
	}{
		{"RateLimitedCarriesRetryAfter", geminifake.Token429, tryon.FailRateLimited, 429, 2 * time.Second, "exceeded your current quota"},
		{"OverloadedIsUnavailable", geminifake.Token503, tryon.FailUnavailable, 503, 0, "overloaded"},
		{"InternalIsUnavailable", geminifake.Token500, tryon.FailUnavailable, 500, 0, "INTERNAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			p, _ := newProvider(t, f)
			_, err := p.Generate(shortDeadline(t), tryOn(t, tryon.ServiceBanana, "hat "+tt.token, 1024, 1024))
			pe := wantKind(t, err, tt.wantKind)
			if pe.Status != tt.wantStatus || pe.RetryAfter != tt.wantRetryAfter {
				t.Errorf("Status, RetryAfter = %d, %v; want %d, %v", pe.Status, pe.RetryAfter, tt.wantStatus, tt.wantRetryAfter)
			}
			if !strings.Contains(pe.Detail, tt.wantText) {
				t.Errorf("Detail = %q, want it to contain %q", pe.Detail, tt.wantText)
			}
			// No room for a retry before the deadline: exactly one attempt.
			if got := f.Count(geminifake.RouteGenerateContent); got != 1 {
				t.Errorf("requests = %d, want 1", got)
			}
		})
	}
}

func TestGenerateImageRateLimitedIsRetriedWhileDeadlineAllows(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	// Room for one 2 s RetryInfo wait plus one attempt, and not for two.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second+minImageAttempt+time.Second)
	defer cancel()
	_, err := p.Generate(ctx, tryOn(t, tryon.ServiceBanana, "scarf "+geminifake.Token429, 1024, 1024))
	pe := wantKind(t, err, tryon.FailRateLimited)
	if pe.RetryAfter != 2*time.Second {
		t.Errorf("RetryAfter = %v, want 2s", pe.RetryAfter)
	}
	if got := f.Count(geminifake.RouteGenerateContent); got != 2 {
		t.Errorf("requests = %d, want 2 (one retry after RetryInfo)", got)
	}
}

func TestGenerateImageFlakyIsRetriedAndSucceeds(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 2*minImageAttempt)
	defer cancel()
	res, err := p.Generate(ctx, tryOn(t, tryon.ServiceBanana, "boots "+geminifake.TokenFlaky, 1024, 1024))
	if err != nil {
		t.Fatalf("err = %v, want success after a retry", err)
	}
	if res.Width != 1024 {
		t.Errorf("width = %d, want 1024", res.Width)
	}
	if got := f.Count(geminifake.RouteGenerateContent); got != 2 {
		t.Errorf("requests = %d, want 2", got)
	}
}

func TestGenerateImageHangTimesOut(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f)
	const budget = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, err := p.Generate(ctx, tryOn(t, tryon.ServiceBanana, "gloves "+geminifake.TokenHang, 1024, 1024))
	wantKind(t, err, tryon.FailTimeout)
	// A generous margin: this checks the call is abandoned at the deadline,
	// not how precisely.
	if elapsed := time.Since(start); elapsed > budget+5*time.Second {
		t.Errorf("returned after %v, want soon after the %v deadline", elapsed, budget)
	}
}

func TestGenerateImageBadKeyIsAuth(t *testing.T) {
	f := newFake(t)
	const wrongKey = "AIzaSyWRONG-key-should-never-be-logged"
	p, logs := newProvider(t, f, func(c *Config) { c.APIKey = wrongKey })
	_, err := p.Generate(context.Background(), tryOn(t, tryon.ServiceBanana, "belt", 1024, 1024))
	pe := wantKind(t, err, tryon.FailAuth)
	if pe.Status != 400 || !strings.Contains(pe.Detail, "API_KEY_INVALID") {
		t.Errorf("Status, Detail = %d, %q; want 400 with API_KEY_INVALID", pe.Status, pe.Detail)
	}
	if got := f.Count(geminifake.RouteGenerateContent); got != 1 {
		t.Errorf("requests = %d, want 1 (never retried)", got)
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "configuration problem") {
		t.Errorf("logs = %q, want an error-level configuration problem", out)
	}
	if strings.Contains(out, wrongKey) || strings.Contains(err.Error(), wrongKey) {
		t.Error("the API key leaked into the logs or the error")
	}
}

func TestGenerateWithoutKeyIsAuthWithoutARequest(t *testing.T) {
	f := newFake(t)
	p, _ := newProvider(t, f, func(c *Config) { c.APIKey = "" })
	_, err := p.Generate(context.Background(), tryOn(t, tryon.ServiceBanana, "tie", 1024, 1024))
	wantKind(t, err, tryon.FailAuth)
	if got := f.Count(geminifake.RouteGenerateContent); got != 0 {
		t.Errorf("requests = %d, want 0", got)
	}
}

func TestGenerateUnknownServiceIsInvalidRequest(t *testing.T) {
	logs := &logBuffer{}
	p := New(Config{APIKey: "k", BaseURL: "http://127.0.0.1:1", Logger: slog.New(slog.NewTextHandler(logs, nil))})
	_, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: "sora"})
	wantKind(t, err, tryon.FailInvalidRequest)
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("logs = %q, want an error-level configuration problem", logs)
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	p := New(Config{APIKey: "k", Models: map[tryon.Service]string{tryon.ServiceBanana: "gemini-3.1-flash-image-preview"}})
	if p.Name() != "gemini" {
		t.Errorf("Name = %q, want gemini", p.Name())
	}
	for s, want := range map[tryon.Service]string{
		tryon.ServiceBanana:    "gemini-3.1-flash-image-preview",
		tryon.ServiceBananaPro: "gemini-3-pro-image-preview",
		tryon.ServiceVeo3:      "veo-3.0-fast-generate-001",
	} {
		if got := p.Model(s); got != want {
			t.Errorf("Model(%s) = %q, want %q", s, got, want)
		}
	}
	if p.baseURL != DefaultBaseURL || p.maxVideo != 100<<20 {
		t.Errorf("baseURL, maxVideo = %q, %d; want defaults", p.baseURL, p.maxVideo)
	}
}
