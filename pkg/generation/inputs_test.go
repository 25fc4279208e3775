package generation_test

import (
	"bytes"
	"image"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
)

// TestInputURLsAreGuarded sends try-on inputs that must never be fetched
// through the real API, with the production URL guard. Each gets a 400
// naming the field, and no generation is recorded.
func TestInputURLsAreGuarded(t *testing.T) {
	env := apptest.New(t, apptest.Options{StrictURLGuard: true})
	shop := env.Tenant(apptest.TenantOptions{})
	var hits int
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Header().Set("Content-Type", "image/png")
		_ = png.Encode(w, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	}))
	defer private.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(private.URL, "http://"))
	garment := pngDataURL(t, 8, 8, image.Black.C)
	cases := map[string]string{
		"Loopback":       private.URL + "/p.png",
		"IPv6Loopback":   "http://[::1]:" + port + "/p.png",
		"Private":        "http://10.0.0.1/p.png",
		"CloudMetadata":  "http://169.254.169.254/latest/meta-data/",
		"UniqueLocalV6":  "http://[fd00::1]/p.png",
		"NameResolvesTo": "http://localhost:" + port + "/p.png",
		"MappedV4":       "http://[::ffff:127.0.0.1]:" + port + "/p.png",
		"NotHTTP":        "file:///etc/passwd",
	}
	for name, u := range cases {
		t.Run(name, func(t *testing.T) {
			r := env.Generate(shop.TestKey, map[string]any{"prompt": "x", "person_image": u, "garment_image": garment})
			if r.Status != 400 || len(r.Details) != 1 || r.Details[0].Field != "person_image" {
				t.Fatalf("got %d %s", r.Status, r.Body)
			}
		})
	}
	if hits != 0 {
		t.Fatalf("the private server was reached %d times", hits)
	}
	if n := countGenerations(t, env, shop.Client.ID); n != 0 {
		t.Fatalf("%d generations recorded for refused inputs", n)
	}
}

// TestInputURLsAreFetched fetches real images, refuses redirects to private
// addresses, oversized bodies and non-images, from a server the test
// allows (apptest lets loopback through only without StrictURLGuard).
func TestInputURLsAreFetched(t *testing.T) {
	env := apptest.New(t, apptest.Options{Settings: map[string]string{"INPUT_MAX_BYTES": "100000"}})
	shop := env.Tenant(apptest.TenantOptions{})
	var pngBytes bytes.Buffer
	_ = png.Encode(&pngBytes, image.NewRGBA(image.Rect(0, 0, 40, 60)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/person.png":
			// The declared type lies; the bytes decide.
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write(pngBytes.Bytes())
		case "/page.html":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte("<html>not an image</html>"))
		case "/huge.png":
			_, _ = w.Write(bytes.Repeat([]byte{0}, 200_000))
		case "/missing.png":
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	garment := pngDataURL(t, 8, 8, image.Black.C)
	ok := env.Generate(shop.TestKey, map[string]any{"prompt": "x", "person_image": srv.URL + "/person.png", "garment_image": garment})
	if ok.Status != 200 {
		t.Fatalf("a good image: %d %s", ok.Status, ok.Body)
	}
	for path, want := range map[string]string{
		"/page.html": "is not a PNG, JPEG or WebP image", "/huge.png": "is larger than",
		"/missing.png": "could not be fetched (HTTP 404)",
	} {
		r := env.Generate(shop.TestKey, map[string]any{"prompt": "x", "person_image": garment, "garment_image": srv.URL + path})
		if r.Status != 400 || len(r.Details) != 1 || r.Details[0].Field != "garment_image" || !strings.Contains(r.Details[0].Message, want) {
			t.Fatalf("%s: got %d %s", path, r.Status, r.Body)
		}
	}
	bad := env.Generate(shop.TestKey, map[string]any{"prompt": "x", "person_image": "data:image/png;base64,AAAA", "garment_image": garment})
	if bad.Status != 400 || bad.Details[0].Field != "person_image" {
		t.Fatalf("a bad data URL: %d %s", bad.Status, bad.Body)
	}
	if n := countGenerations(t, env, shop.Client.ID); n != 1 {
		t.Fatalf("%d generations recorded, want only the good one", n)
	}
}

func TestTenantsSeeOnlyTheirOwnGenerations(t *testing.T) {
	env := apptest.New(t, apptest.Options{})
	a, b := env.Tenant(apptest.TenantOptions{}), env.Tenant(apptest.TenantOptions{})
	admin := env.Key(nil, "admin", nil)
	g := env.Generate(a.TestKey, map[string]any{"prompt": "a's hat"}).Generation(t)
	if r := env.Do(http.MethodGet, "/generate/"+g.ID, b.LiveKey, nil); r.Status != 404 || r.Code != "not_found" {
		t.Fatalf("another tenant read it: %d %s", r.Status, r.Body)
	}
	if r := env.Do(http.MethodGet, "/generate/"+g.ID, a.LiveKey, nil); r.Status != 200 {
		t.Fatalf("its own tenant (other key) cannot: %d", r.Status)
	}
	if r := env.Do(http.MethodGet, "/generate/"+g.ID, admin, nil); r.Status != 200 || r.Generation(t).ClientID != a.Client.ID.String() {
		t.Fatalf("an admin cannot: %d %s", r.Status, r.Body)
	}
	list := env.Do(http.MethodGet, "/generations", b.LiveKey, nil)
	if list.Status != 200 || strings.Contains(string(list.Data), g.ID) {
		t.Fatalf("b's listing shows a's generation: %s", list.Body)
	}
}
