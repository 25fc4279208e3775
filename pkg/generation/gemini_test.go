package generation_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/blob/blobfake"
	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// geminiEnv runs the app with live keys served by a fake Gemini API that
// speaks the real wire format.
func geminiEnv(t *testing.T, settings map[string]string) (*apptest.Env, *geminifake.Server) {
	t.Helper()
	return geminiEnvWith(t, apptest.Options{Settings: settings})
}

func geminiEnvWith(t *testing.T, opts apptest.Options) (*apptest.Env, *geminifake.Server) {
	t.Helper()
	fake := geminifake.New()
	t.Cleanup(fake.Close)
	s := map[string]string{"PROVIDER_BANANA": "gemini", "PROVIDER_BANANA_PRO": "gemini", "PROVIDER_VEO3": "gemini",
		"GEMINI_API_KEY": geminifake.DefaultKey, "GEMINI_BASE_URL": fake.URL()}
	for k, v := range opts.Settings {
		s[k] = v
	}
	opts.Settings = s
	return apptest.New(t, opts), fake
}

func pngDataURL(t *testing.T, w, h int, c color.Color) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestGeminiGeneratesAndBills(t *testing.T) {
	env, fake := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{
		"prompt": "put the dress on the person", "width": 768, "height": 1024,
		"person_image":  pngDataURL(t, 30, 40, color.RGBA{200, 0, 0, 255}),
		"garment_image": pngDataURL(t, 20, 20, color.RGBA{0, 0, 200, 255}),
		"metadata":      map[string]string{"sku": "D-1"},
	})
	if r.Status != 200 {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	g := r.Generation(t)
	if g.Status != "succeeded" || g.Provider != "gemini" || g.Model != "gemini-2.5-flash-image" || g.Mode != "live" {
		t.Fatalf("generation %+v", g)
	}
	// 768x1024 snaps to 3:4, which Gemini 2.5 Flash Image renders at 864x1184.
	if g.Width != 768 || g.Height != 1024 || g.Output.Width != 864 || g.Output.Height != 1184 || g.Output.ContentType != "image/png" {
		t.Fatalf("sizes: asked %dx%d, output %+v", g.Width, g.Height, g.Output)
	}
	if g.CostMicros != 40_000 || g.Cost != 0.04 || g.Metadata["sku"] != "D-1" || *g.ImageURL != g.Output.URL {
		t.Fatalf("billing/metadata: %+v", g)
	}
	req, ok := fake.Last(geminifake.RouteGenerateContent)
	if !ok || req.Header.Get("X-Goog-Api-Key") != geminifake.DefaultKey || strings.Contains(req.URL, "key=") {
		t.Fatalf("the key was not sent in the header: %+v", req.URL)
	}
	body := string(req.Body)
	if strings.Count(body, `"inlineData"`) != 2 || !strings.Contains(body, `"aspectRatio":"3:4"`) || strings.Contains(body, "imageSize") {
		t.Fatalf("request body: %.400s", body)
	}
	asset := env.Do(http.MethodGet, strings.TrimPrefix(g.Output.URL, env.URL), "", nil)
	if asset.Status != 200 || int64(len(asset.Body)) != g.Output.Bytes || asset.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || asset.Header.Get("ETag") == "" {
		t.Fatalf("asset: %d %v", asset.Status, asset.Header)
	}
	if again := env.Do(http.MethodGet, strings.TrimPrefix(g.Output.URL, env.URL), "", nil, "If-None-Match", asset.Header.Get("ETag")); again.Status != 304 {
		t.Fatalf("conditional GET: %d", again.Status)
	}
	l := readLedger(t, env, shop.Client.ID)
	if l.charged != 40_000 || l.usageRows != 40_000 || l.reserved != 0 {
		t.Fatalf("ledger %+v", l)
	}
}

func TestGeminiTakesTheFinalImageNotTheThought(t *testing.T) {
	env, _ := geminiEnv(t, nil)
	shop := env.Tenant(apptest.TenantOptions{})
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a coat " + geminifake.TokenThought, "service": "banana-pro"})
	g := r.Generation(t)
	if r.Status != 200 || g.Model != "gemini-3-pro-image-preview" {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	img := env.Do(http.MethodGet, strings.TrimPrefix(g.Output.URL, env.URL), "", nil)
	decoded, err := png.Decode(bytes.NewReader(img.Body))
	if err != nil {
		t.Fatal(err)
	}
	b := decoded.Bounds()
	got := color.RGBAModel.Convert(decoded.At(b.Dx()/2, b.Dy()/2)).(color.RGBA)
	if got != geminifake.ImageColor {
		t.Fatalf("stored the thought image (%v), want the final one (%v)", got, geminifake.ImageColor)
	}
}

func TestGeminiFailuresAreRecordedAndNotBilled(t *testing.T) {
	env, _ := geminiEnv(t, nil)
	cases := []struct {
		name, token string
		status      int
		code        tryon.Code
		retryAfter  string
	}{
		{"TextOnly", geminifake.TokenTextOnly, 502, tryon.CodeUpstreamError, ""},
		{"PromptBlocked", geminifake.TokenBlock, 422, tryon.CodeContentBlocked, ""},
		{"ImageSafety", geminifake.TokenImageSafety, 422, tryon.CodeContentBlocked, ""},
		{"RateLimited", geminifake.Token429, 503, tryon.CodeUpstreamUnavailable, "2"},
		{"Overloaded", geminifake.Token503, 503, tryon.CodeUpstreamUnavailable, ""},
		{"ServerError", geminifake.Token500, 503, tryon.CodeUpstreamUnavailable, ""},
		{"MalformedJSON", geminifake.TokenMalformed, 502, tryon.CodeUpstreamError, ""},
		{"UnknownModel", geminifake.Token404, 502, tryon.CodeUpstreamError, ""},
		{"Hang", geminifake.TokenHang, 504, tryon.CodeGenerationTimeout, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			shop := env.Tenant(apptest.TenantOptions{})
			// A short wait leaves no room for retries, so each failure
			// shows as it is.
			start := time.Now()
			r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a skirt " + tc.token}, "Prefer", "wait=2")
			if r.Status != tc.status || r.Code != tc.code {
				t.Fatalf("got %d %q, want %d %q: %s", r.Status, r.Code, tc.status, tc.code, r.Body)
			}
			if tc.name == "Hang" && time.Since(start) > 15*time.Second {
				t.Fatalf("a hung provider held the request %s", time.Since(start))
			}
			if got := r.Header.Get("Retry-After"); got != tc.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			g := r.Generation(t)
			if g.Status != "failed" || g.Error == nil || g.Error.Code != tc.code || g.CostMicros != 0 || g.Output != nil {
				t.Fatalf("data %s", r.Data)
			}
			if l := readLedger(t, env, shop.Client.ID); l.charged != 0 || l.usageRows != 0 || l.reserved != 0 || l.processing != 0 {
				t.Fatalf("ledger %+v", l)
			}
		})
	}
}

func TestSlowProviderTimesOutWithinTheBudget(t *testing.T) {
	// A 6s function with a 1s margin: the provider gets 5s.
	env, _ := geminiEnvWith(t, apptest.Options{Settings: map[string]string{"BUDGET_MARGIN": "1s"},
		MaxDurations: map[string]time.Duration{"generate": 6 * time.Second}})
	shop := env.Tenant(apptest.TenantOptions{})
	start := time.Now()
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a scarf " + geminifake.TokenHang})
	elapsed := time.Since(start)
	if r.Status != 504 || r.Code != tryon.CodeGenerationTimeout {
		t.Fatalf("got %d %s", r.Status, r.Body)
	}
	if elapsed > 6*time.Second {
		t.Fatalf("answered after %s, past the function's 6s limit", elapsed)
	}
	g := r.Generation(t)
	if g.Status != "failed" || g.CompletedAt == nil {
		t.Fatalf("the row is not failed: %s", r.Data)
	}
	if l := readLedger(t, env, shop.Client.ID); l.processing != 0 || l.reserved != 0 {
		t.Fatalf("ledger %+v", l)
	}
}

func TestPlatformDeadlineHeaderShortensTheBudget(t *testing.T) {
	env, _ := geminiEnv(t, map[string]string{"BUDGET_MARGIN": "1s"})
	shop := env.Tenant(apptest.TenantOptions{})
	deadline := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339)
	start := time.Now()
	r := env.Generate(shop.LiveKey, map[string]any{"prompt": "a belt " + geminifake.TokenHang}, "X-Vercel-Internal-Deadline", deadline)
	if r.Status != 504 || time.Since(start) > 10*time.Second {
		t.Fatalf("got %d after %s", r.Status, time.Since(start))
	}
}

func TestOutputsGoToVercelBlobWhenConfigured(t *testing.T) {
	store := blobfake.New(t)
	env := apptest.New(t, apptest.Options{Settings: map[string]string{
		"BLOB_READ_WRITE_TOKEN": store.Token, "VERCEL_BLOB_API_URL": store.URL}})
	shop := env.Tenant(apptest.TenantOptions{})
	g := env.Generate(shop.TestKey, map[string]any{"prompt": "a hat"}).Generation(t)
	if g.Output == nil || !strings.HasPrefix(g.Output.URL, store.URL) {
		t.Fatalf("output %+v is not in the Blob store at %s", g.Output, store.URL)
	}
	resp, err := http.Get(g.Output.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("blob URL: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var assets int
	_ = env.Store.Pool().QueryRow(context.Background(), `SELECT count(*) FROM assets`).Scan(&assets)
	if assets != 0 {
		t.Fatalf("%d assets in Postgres with Blob configured", assets)
	}
}
