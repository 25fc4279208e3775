package gemini

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/gemini/geminifake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// newFake starts a fake Gemini API for one test.
func newFake(t *testing.T) *geminifake.Server {
	t.Helper()
	f := geminifake.New()
	t.Cleanup(f.Close)
	return f
}

// logBuffer collects log output; handlers may log from any goroutine.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newProvider returns a Provider talking to f with fast retries and polls,
// and the buffer its logs go to. edit, if given, adjusts the config.
func newProvider(t *testing.T, f *geminifake.Server, edit ...func(*Config)) (*Provider, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := Config{
		APIKey:       f.Key(),
		BaseURL:      f.URL(),
		PollInterval: time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, e := range edit {
		e(&cfg)
	}
	p := New(cfg)
	// Backoff without a RetryAfter is real time; keep it short in tests.
	p.retry.Waits = []time.Duration{5 * time.Millisecond, 10 * time.Millisecond}
	return p, logs
}

// pngImage returns a w×h PNG input image.
func pngImage(t *testing.T, w, h int, c color.Color) *tryon.Image {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{c})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return &tryon.Image{Bytes: buf.Bytes(), ContentType: "image/png", Width: w, Height: h}
}

// providerError asserts err is a *tryon.ProviderError from this provider.
func providerError(t *testing.T, err error) *tryon.ProviderError {
	t.Helper()
	var pe *tryon.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want *tryon.ProviderError", err, err)
	}
	if pe.Provider != Name {
		t.Errorf("Provider = %q, want %q", pe.Provider, Name)
	}
	return pe
}

// wantKind asserts err is a ProviderError of kind want and returns it.
func wantKind(t *testing.T, err error, want tryon.FailureKind) *tryon.ProviderError {
	t.Helper()
	pe := providerError(t, err)
	if pe.Kind != want {
		t.Fatalf("Kind = %q, want %q (err: %v)", pe.Kind, want, err)
	}
	return pe
}

// rawPNG returns the bytes of a w×h PNG.
func rawPNG(t testing.TB, w, h int) []byte {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
