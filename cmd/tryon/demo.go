package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"sync"
)

// demoFiles is the demo shop `tryon dev` serves at /demo/: a product page
// with the try-on widget's one script tag.
//
//go:embed demo/index.html demo/shop.css
var demoFiles embed.FS

// demoShop serves the demo shop: its page, its stylesheet, a garment photo
// drawn on first use, and the token endpoint a real shop would write
// (POST /demo/token), which hands the widget a token for the demo tenant.
type demoShop struct {
	// mint returns a token for the shopper's browser at origin.
	mint func(r *http.Request) (token, expiresAt string, err error)

	garmentOnce sync.Once
	garment     []byte
}

// demoCSP is the shop page's Content-Security-Policy: strict (no inline
// script or style), as a careful shop's would be, so the demo shows what
// the widget needs: its script and API origin, data: images for the
// shopper's photo, and https: images for generated pictures on a CDN.
const demoCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

// wrap serves /demo/ in front of next.
func (d *demoShop) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/demo" && !strings.HasPrefix(r.URL.Path, "/demo/") {
			next.ServeHTTP(w, r)
			return
		}
		d.serve(w, r)
	})
}

func (d *demoShop) serve(w http.ResponseWriter, r *http.Request) {
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case r.URL.Path == "/demo" && get:
		http.Redirect(w, r, "/demo/", http.StatusFound)
	case r.URL.Path == "/demo/" && get:
		d.file(w, "demo/index.html", "text/html; charset=utf-8")
	case r.URL.Path == "/demo/shop.css" && get:
		d.file(w, "demo/shop.css", "text/css; charset=utf-8")
	case r.URL.Path == "/demo/garment.png" && get:
		d.garmentOnce.Do(func() { d.garment = drawGarment(600, 750) })
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Write(d.garment)
	case r.URL.Path == "/demo/token" && r.Method == http.MethodPost:
		d.token(w, r)
	case r.URL.Path == "/demo/token":
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, r)
	}
}

func (d *demoShop) file(w http.ResponseWriter, name, contentType string) {
	b, err := demoFiles.ReadFile(name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", demoCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.Write(b)
}

// token is the endpoint a shop writes: it decides who the shopper is (a
// real shop reads its session cookie) and answers {"token": "..."}. A real
// shop's never hands out its key; it mints a short-lived token with it.
func (d *demoShop) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	token, expires, err := d.mint(r)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(map[string]string{"error": "could not mint a token: " + err.Error()})
		return
	}
	out := map[string]string{"token": token}
	if expires != "" {
		out["expires_at"] = expires
	}
	json.NewEncoder(w).Encode(out)
}

// drawGarment paints the demo product: a red dress, narrow at the
// shoulders and flared at the hem, on white.
func drawGarment(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			half := 0.1 + 0.32*fy
			c := color.RGBA{250, 250, 250, 255}
			switch {
			case fy > 0.08 && fy < 0.14 && (fx > 0.36 && fx < 0.42 || fx > 0.58 && fx < 0.64):
				c = color.RGBA{170, 28, 40, 255} // straps
			case fy >= 0.14 && fy < 0.9 && fx > 0.5-half && fx < 0.5+half:
				c = color.RGBA{uint8(205 - 45*fy), 32, 46, 255}
				if fy > 0.36 && fy < 0.39 {
					c = color.RGBA{120, 18, 28, 255} // the belt
				}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
