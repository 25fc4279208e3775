package vertex

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/syncbuffer"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/vertex/vertexfake"
)

func newTestProvider(t *testing.T) (*vertexfake.Server, *Provider, *syncbuffer.Buffer) {
	t.Helper()
	f := vertexfake.New()
	t.Cleanup(f.Close)
	logs := &syncbuffer.Buffer{}
	p := New(Config{CredentialsJSON: f.CredentialsJSON(), BaseURL: f.URL(), HTTPClient: &http.Client{},
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	p.retry.Sleep = func(context.Context, time.Duration) error { return nil }
	return f, p, logs
}

func pngInput(t *testing.T, w, h int, c color.RGBA) *tryon.Image {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return &tryon.Image{Bytes: b.Bytes(), ContentType: "image/png", Width: w, Height: h}
}

// sentRequest is what the fake received, as the provider meant it.
type sentRequest struct {
	Instances []struct {
		PersonImage struct {
			Image struct{ BytesBase64Encoded string }
		}
		ProductImages []struct {
			Image struct{ BytesBase64Encoded string }
		}
	}
	Parameters struct {
		SampleCount      int
		Seed             *int64
		AddWatermark     bool
		PersonGeneration string
		SafetySetting    string
		OutputOptions    struct{ MIMEType string }
	}
}

// TestPredictMapsTheTryonShape sends a try-on of one garment with a seed:
// one token exchange signed with the service account's key, one prediction
// with the person and product inline, and the output at the person's size.
func TestPredictMapsTheTryonShape(t *testing.T) {
	f, p, _ := newTestProvider(t)
	person := pngInput(t, 60, 80, color.RGBA{0, 0xff, 0, 0xff})
	garment := pngInput(t, 10, 10, color.RGBA{0xff, 0, 0, 0xff})
	seed := int64(3)
	for range 2 {
		res, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceVTO, Person: person, Seed: &seed,
			OutputFormat: tryon.FormatJPEG, OutputQuality: 80, Garments: []tryon.Garment{{Image: garment, Category: tryon.CategoryTop}}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Width != 60 || res.Height != 80 || res.ContentType != "image/jpeg" {
			t.Fatalf("result %dx%d %s, want a JPEG at the person's size", res.Width, res.Height, res.ContentType)
		}
	}
	if f.Grants() != 1 {
		t.Errorf("%d token grants for two calls, want 1 (the token is reused)", f.Grants())
	}
	bodies := f.Predictions()
	var got sentRequest
	if err := json.Unmarshal(bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	in := got.Instances[0]
	if in.PersonImage.Image.BytesBase64Encoded != base64.StdEncoding.EncodeToString(person.Bytes) ||
		len(in.ProductImages) != 1 || in.ProductImages[0].Image.BytesBase64Encoded != base64.StdEncoding.EncodeToString(garment.Bytes) {
		t.Error("the person and product images were not sent inline")
	}
	pr := got.Parameters
	if pr.SampleCount != 1 || pr.Seed == nil || *pr.Seed != 3 || pr.AddWatermark || pr.PersonGeneration != "allow_adult" ||
		pr.SafetySetting != "block_medium_and_above" || pr.OutputOptions.MIMEType != "image/jpeg" {
		t.Errorf("parameters %+v", pr)
	}
}

// TestPredictOutfitChainsOutputs dresses two garments: the second
// prediction's person is the first one's output.
func TestPredictOutfitChainsOutputs(t *testing.T) {
	f, p, _ := newTestProvider(t)
	person := pngInput(t, 60, 80, color.RGBA{0, 0xff, 0, 0xff})
	_, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceVTO, Person: person,
		Garments: []tryon.Garment{{Image: pngInput(t, 9, 9, color.RGBA{0, 0, 0xff, 0xff}), Category: tryon.CategoryBottom},
			{Image: pngInput(t, 10, 10, color.RGBA{0xff, 0, 0, 0xff}), Category: tryon.CategoryTop}}})
	if err != nil {
		t.Fatal(err)
	}
	bodies := f.Predictions()
	if len(bodies) != 2 {
		t.Fatalf("%d predictions, want 2", len(bodies))
	}
	var second sentRequest
	_ = json.Unmarshal(bodies[1], &second)
	raw, _ := base64.StdEncoding.DecodeString(second.Instances[0].PersonImage.Image.BytesBase64Encoded)
	m, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("second person image: %v", err)
	}
	if r, g, b, _ := m.At(5, 5).RGBA(); uint8(r>>8) != vertexfake.OutputColor.R || uint8(g>>8) != vertexfake.OutputColor.G || uint8(b>>8) != vertexfake.OutputColor.B {
		t.Error("the second prediction was not given the first one's output")
	}
}

// TestPredictFailures classifies Vertex's answers.
func TestPredictFailures(t *testing.T) {
	for _, c := range []struct {
		sc    vertexfake.Scenario
		kind  tryon.FailureKind
		calls int // predictions made: quota and unavailable are tried three times
	}{
		{vertexfake.Filtered, tryon.FailContentBlocked, 1},
		{vertexfake.Invalid, tryon.FailInvalidRequest, 1},
		{vertexfake.Quota, tryon.FailRateLimited, 3},
		{vertexfake.Unavailable, tryon.FailUnavailable, 3},
		{vertexfake.NoPredicts, tryon.FailNoOutput, 1},
		{vertexfake.BadToken, tryon.FailAuth, 0},
		{vertexfake.Unauthorize, tryon.FailAuth, 1},
	} {
		t.Run(string(c.sc), func(t *testing.T) {
			f, p, logs := newTestProvider(t)
			f.SetScenario(c.sc)
			_, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceVTO,
				Person:   pngInput(t, 60, 80, color.RGBA{0, 0xff, 0, 0xff}),
				Garments: []tryon.Garment{{Image: pngInput(t, 10, 10, color.RGBA{0xff, 0, 0, 0xff}), Category: tryon.CategoryTop}}})
			var pe *tryon.ProviderError
			if !errors.As(err, &pe) || pe.Kind != c.kind {
				t.Fatalf("err = %v, want kind %s", err, c.kind)
			}
			if n := len(f.Predictions()); n != c.calls {
				t.Errorf("%d predictions, want %d", n, c.calls)
			}
			if strings.Contains(logs.String(), "PRIVATE KEY") || strings.Contains(logs.String(), "ya29.") {
				t.Error("a secret reached the log")
			}
		})
	}
}

// TestBadCredentialsFailAsAuth checks a key file that is not a service
// account's: every call fails as a configuration problem, logged.
func TestBadCredentialsFailAsAuth(t *testing.T) {
	logs := &syncbuffer.Buffer{}
	p := New(Config{CredentialsJSON: []byte(`{"type": "authorized_user"}`), Logger: slog.New(slog.NewTextHandler(logs, nil))})
	_, err := p.Generate(context.Background(), tryon.ProviderRequest{Service: tryon.ServiceVTO})
	var pe *tryon.ProviderError
	if !errors.As(err, &pe) || pe.Kind != tryon.FailAuth || !strings.Contains(logs.String(), "configuration problem") {
		t.Fatalf("err = %v, logs %s", err, logs.String())
	}
}

// TestParsePredictionKeepsTheSamplesLeft: samples the safety filters
// dropped are left out (a partial success); all dropped is content_blocked.
func TestParsePredictionKeepsTheSamplesLeft(t *testing.T) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 2, 3))); err != nil {
		t.Fatal(err)
	}
	img := base64.StdEncoding.EncodeToString(buf.Bytes())
	filtered := `{"raiFilteredReason": "filtered"}`
	out, err := parsePrediction([]byte(`{"predictions": [` + filtered + `, {"mimeType": "image/png", "bytesBase64Encoded": "` + img +
		`"}, {"mimeType": "image/png", "bytesBase64Encoded": "` + img + `"}]}`))
	if err != nil || len(out.All()) != 2 || out.Width != 2 || out.Height != 3 {
		t.Fatalf("got %+v, %v; want the 2 samples left", out, err)
	}
	_, err = parsePrediction([]byte(`{"predictions": [` + filtered + `, ` + filtered + `]}`))
	var pe *tryon.ProviderError
	if !errors.As(err, &pe) || pe.Kind != tryon.FailContentBlocked {
		t.Fatalf("all filtered: %v", err)
	}
}
