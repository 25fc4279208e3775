package generation_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/syncbuffer"
)

// noisePNG is a photo stand-in no encoder could produce by chance: random
// pixels from a fixed seed, so its bytes are recognisable anywhere.
func noisePNG(t *testing.T, seed uint64, w, h int) []byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(rng.UintN(256)), uint8(rng.UintN(256)), uint8(rng.UintN(256)), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fingerprints are substrings that betray an image wherever it is kept:
// a run of its bytes as PostgreSQL prints bytea (hex), and a run of its
// base64 as a request carries it.
func fingerprints(data []byte) []string {
	mid := len(data) / 2
	b64 := base64.StdEncoding.EncodeToString(data)
	return []string{hex.EncodeToString(data[mid : mid+32]), b64[len(b64)/2 : len(b64)/2+48]}
}

// TestNoInputImageIsStored runs try-ons with recognisable person and
// garment photos, one sent inline and one by URL, and scans every row of
// every table for them.
func TestNoInputImageIsStored(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	person := noisePNG(t, 1, 48, 64)
	garment := noisePNG(t, 2, 32, 32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(garment)
	}))
	t.Cleanup(srv.Close)
	personURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(person)
	for _, body := range []map[string]any{
		{"task": "tryon", "person_image": personURL, "garments": []map[string]any{{"image": srv.URL + "/garment.png", "category": "top"}}},
		{"prompt": "put the garment on the person", "person_image": personURL, "garment_image": srv.URL + "/g.png"},
	} {
		for _, key := range []string{shop.TestKey, shop.LiveKey} {
			if r := env.Generate(key, body); r.Status != 200 {
				t.Fatalf("POST /generate: %d %s", r.Status, r.Body)
			}
		}
	}
	ctx := context.Background()
	rows, err := env.Store.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	needles := append(fingerprints(person), fingerprints(garment)...)
	scanned := 0
	for _, table := range tables {
		for _, needle := range needles {
			var n int
			q := `SELECT count(*) FROM ` + pgx.Identifier{table}.Sanitize() + ` x WHERE strpos(x::text, $1) > 0`
			if err := env.Store.Pool().QueryRow(ctx, q, needle).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				t.Errorf("table %s holds an input image in %d rows", table, n)
			}
		}
		scanned++
	}
	// The scan itself must be able to see an image: the outputs are there.
	var outputs int
	if err := env.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM assets x WHERE strpos(x::text, '\x89504e47') > 0`).Scan(&outputs); err != nil || outputs == 0 {
		t.Fatalf("the scan sees no PNG among %d outputs: %v", outputs, err)
	}
}

// TestLogsHoldNoPromptOrImage captures the server's logs at debug level
// through whole request cycles (successes, refusals, provider failures,
// reads, erasure, the sweep) and looks for the prompt and the images.
func TestLogsHoldNoPromptOrImage(t *testing.T) {
	logs := &syncbuffer.Buffer{}
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"LOG_LEVEL": "debug"},
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	const secret = "zanzibar velvet gown for Ms Quillfeather"
	person := noisePNG(t, 3, 40, 40)
	personURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(person)
	garment := "data:image/png;base64," + base64.StdEncoding.EncodeToString(noisePNG(t, 4, 24, 24))

	ok := env.Generate(shop.LiveKey, map[string]any{"prompt": secret, "person_image": personURL, "garment_image": garment}).Generation(t)
	for _, tc := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"task": "tryon", "prompt": secret, "person_image": personURL, "garments": []map[string]any{{"image": garment, "category": "top"}}}, 200},
		{map[string]any{"prompt": secret + " [fake:blocked]", "person_image": personURL, "garment_image": garment}, 422},
		{map[string]any{"prompt": secret + " [fake:error]"}, 502},
		{map[string]any{"prompt": secret + " [fake:unavailable]"}, 503},
		{map[string]any{"prompt": secret, "person_image": "data:image/png;base64," + base64.StdEncoding.EncodeToString(person[:len(person)/2]), "garment_image": garment}, 400},
		{map[string]any{"prompt": secret, "colour": "red"}, 400},
		{map[string]any{"prompt": strings.Repeat(secret, 200)}, 400},
	} {
		if r := env.Generate(shop.LiveKey, tc.body); r.Status != tc.want {
			t.Errorf("POST /generate: %d %s, want %d", r.Status, r.Body, tc.want)
		}
	}
	env.Do(http.MethodGet, "/generate/"+ok.ID, shop.LiveKey, nil)
	env.Do(http.MethodGet, "/generations", shop.LiveKey, nil)
	env.Do(http.MethodDelete, "/generate/"+ok.ID, shop.LiveKey, nil)
	env.Do(http.MethodGet, strings.TrimPrefix(ok.Output.URL, env.URL), "", nil)
	sweep(t, env)

	out := logs.String()
	if !strings.Contains(out, `"level":"DEBUG"`) && !strings.Contains(out, "/generate") {
		t.Fatalf("the capture saw no request logs:\n%s", out)
	}
	for _, needle := range append([]string{"zanzibar", "Quillfeather", "data:image"}, fingerprints(person)...) {
		if strings.Contains(out, needle) {
			i := strings.Index(out, needle)
			t.Errorf("the logs hold %q: …%s…", needle, out[max(0, i-200):min(len(out), i+200)])
		}
	}
}
