package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"
	"github.com/golang-jwt/jwt/v5"
	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestWidgetSize keeps widget.js within its budget: at most 25 KB gzipped.
func TestWidgetSize(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(publicDir(), "widget.js"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(src)
	zw.Close()
	if buf.Len() > 25*1024 {
		t.Fatalf("widget.js is %d bytes gzipped, over the 25 KB budget", buf.Len())
	}
	t.Logf("widget.js: %d bytes, %d gzipped", len(src), buf.Len())
}

// The widget lives in a shadow root; these expressions reach into it.
const (
	widgetRoot   = `document.querySelector("[data-tryon-widget]").shadowRoot`
	widgetButton = widgetRoot + `.querySelector("button")`
	widgetDialog = widgetRoot + `.querySelector("dialog")`
)

// widgetButtonNamed is the dialog's button whose text starts with name.
func widgetButtonNamed(name string) chromedp.JSPath {
	return chromedp.JSPath(`Array.from(` + widgetDialog + `.querySelectorAll("button")).find(b => b.textContent.startsWith(` + js(name) + `))`)
}

// pickPhoto gives the widget's file picker a photo, as choosing one does.
func pickPhoto(b *browser, path string) {
	b.t.Helper()
	b.do("choose a photo", chromedp.SetUploadFiles(chromedp.JSPath(widgetRoot+`.querySelector("input[type=file]:not([capture])")`), []string{path}))
	b.waitFor("the preview", `(function () { var i = `+widgetDialog+`.querySelector("img[alt='Your photo']"); return i && i.complete && i.naturalWidth > 0; })()`, 30*time.Second)
}

// waitResult waits for the generated picture in the dialog.
func waitResult(b *browser) {
	b.t.Helper()
	b.waitFor("the generated picture", `(function () { var i = `+widgetDialog+`.querySelector(".result img"); return i && i.complete && i.naturalWidth > 0; })()`, 60*time.Second)
}

// TestBrowserWidgetOnTheDemoShop drives the widget on the demo shop that
// `tryon dev` serves: the dialog's keyboard behaviour, a photo shrunk in
// the browser, a generation, download and retry.
func TestBrowserWidgetOnTheDemoShop(t *testing.T) {
	b := newBrowser(t)
	axe := axeScript(t)
	dev := startDev(t, nil)
	shop := dev.url("127.0.0.1", "/demo/")

	b.do("open the demo shop", chromedp.Navigate(shop))
	b.waitFor("the try-on button", widgetButton, 20*time.Second)
	if label := eval[string](b, widgetButton+`.textContent`); label != "Try it on" {
		t.Errorf("the button says %q", label)
	}
	b.shot("demo-shop")
	b.checkAccessibility(axe, "the demo shop")

	t.Run("DialogKeyboard", func(t *testing.T) {
		b := b.in(t)
		b.do("press the button", chromedp.Click(chromedp.JSPath(widgetButton)))
		b.waitFor("the dialog", widgetDialog+`.open`, 10*time.Second)
		if got := eval[string](b, widgetRoot+`.activeElement && `+widgetRoot+`.activeElement.textContent`); got != "Choose a photo" {
			t.Errorf("focus on open: %q, want the Choose a photo button", got)
		}
		if name := eval[string](b, widgetRoot+`.getElementById(`+widgetDialog+`.getAttribute("aria-labelledby")).textContent`); name != "Try on the red linen dress" {
			t.Errorf("the dialog's name: %q", name)
		}
		for i := range 4 {
			b.do("press Tab", chromedp.KeyEvent("\t"))
			if !eval[bool](b, widgetDialog+`.contains(`+widgetRoot+`.activeElement)`) {
				t.Fatalf("Tab %d left the dialog", i+1)
			}
		}
		b.shot("widget-dialog")
		b.checkAccessibility(axe, "the widget's dialog")
		b.do("press Escape", chromedp.KeyEvent("\x1b"))
		b.waitFor("the dialog to close", `!`+widgetDialog+`.open`, 10*time.Second)
		if !eval[bool](b, widgetRoot+`.activeElement === `+widgetButton) {
			t.Error("focus did not return to the button")
		}
	})

	t.Run("PhotoShrunkGeneratedDownloadedRetried", func(t *testing.T) {
		b := b.in(t)
		downloads := t.TempDir()
		if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
			Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
			t.Fatal(err)
		}
		b.do("press the button", chromedp.Click(chromedp.JSPath(widgetButton)))
		b.waitFor("the dialog", widgetDialog+`.open`, 10*time.Second)
		pickPhoto(b, personPhoto(t, 2400, 3200))
		size := eval[string](b, `(function () { var i = `+widgetDialog+`.querySelector("img[alt='Your photo']"); return i.naturalWidth + "x" + i.naturalHeight + " " + i.src.slice(0, 23); })()`)
		if size != "1152x1536 data:image/jpeg;base64," {
			t.Errorf("the photo sent: %s, want 1152x1536 JPEG", size)
		}
		b.shot("widget-preview")
		b.readmeShot("widget-photo", "")
		b.do("press Generate", chromedp.Click(widgetButtonNamed("Generate")))
		b.waitFor("the progress indicator", widgetDialog+`.querySelector("progress")`, 10*time.Second)
		waitResult(b)
		b.shot("widget-result")
		b.readmeShot("widget", "")
		b.checkAccessibility(axe, "the widget's result")

		gens := listGenerations(t, dev.url("127.0.0.1", ""), dev.test)
		if len(gens) != 1 || gens[0].Metadata["sku"] != "D-1042" || gens[0].Height != 1536 || gens[0].Width != 1152 {
			t.Fatalf("the generation the widget made: %+v", gens)
		}
		// The demo's tag asks for a try-on of a one-piece photographed flat.
		if p := gens[0].Params; p == nil || p.Task != "tryon" || len(p.Garments) != 1 || p.Garments[0].Category != "one-piece" || p.Garments[0].PhotoType != "flat-lay" || gens[0].Prompt != "" {
			t.Errorf("the demo's try-on: params %+v, prompt %q", p, gens[0].Prompt)
		}

		b.do("press Download", chromedp.Click(widgetButtonNamed("Download")))
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := os.Stat(filepath.Join(downloads, "try-on.png")); err == nil {
				break
			}
			if time.Now().After(deadline) {
				entries, _ := os.ReadDir(downloads)
				t.Fatalf("no try-on.png downloaded: %v", entries)
			}
			time.Sleep(50 * time.Millisecond)
		}

		b.do("press Try again", chromedp.Click(widgetButtonNamed("Try again")))
		b.waitFor("a new picture", `!`+widgetDialog+`.querySelector(".result img")`, 10*time.Second)
		waitResult(b)
		if n := len(listGenerations(t, dev.url("127.0.0.1", ""), dev.test)); n != 2 {
			t.Errorf("%d generations after Try again, want 2", n)
		}
	})

	t.Run("OnAPhone", func(t *testing.T) {
		b := b.in(t)
		b.do("become a phone", chromedp.Emulate(device.Pixel5), chromedp.Navigate(shop))
		b.waitFor("the try-on button", widgetButton, 20*time.Second)
		b.do("tap the button", chromedp.Click(chromedp.JSPath(widgetButton)))
		b.waitFor("the dialog", widgetDialog+`.open`, 10*time.Second)
		buttons := eval[string](b, `Array.from(`+widgetDialog+`.querySelectorAll(".row button")).map(b => b.textContent).join("|")`)
		if buttons != "Take a photo|Choose a photo" {
			t.Errorf("a phone's buttons: %q, want the camera first", buttons)
		}
		if capture := eval[string](b, widgetRoot+`.querySelector("input[capture]").getAttribute("capture") + " " + `+widgetRoot+`.querySelector("input[capture]").accept`); capture != "user image/*" {
			t.Errorf("the camera input: %q", capture)
		}
		if !eval[bool](b, widgetDialog+`.getBoundingClientRect().width <= innerWidth`) {
			t.Error("the dialog is wider than the phone's screen")
		}
		b.shot("widget-phone")
		b.checkAccessibility(axe, "the widget's dialog on a phone")
		b.do("back to a desktop", chromedp.EmulateReset())
	})
}

// listedGeneration is what the widget tests read of a generation.
type listedGeneration struct {
	Width, Height int
	Service       string
	Prompt        string
	Metadata      map[string]string
	Outputs       []struct {
		URL string `json:"url"`
	} `json:"outputs"`
	Params *struct {
		Task     string `json:"task"`
		Garments []struct {
			Category  string `json:"category"`
			PhotoType string `json:"photo_type"`
		} `json:"garments"`
	} `json:"params"`
}

// listGenerations reads GET /generations with key.
func listGenerations(t *testing.T, base, key string) []listedGeneration {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/generations", nil)
	req.Header.Set("x-client-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Items []listedGeneration `json:"items"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatal(err)
	}
	return env.Data.Items
}

// testShop is a shop on another origin than Tryon's: its product page loads
// widget.js from `tryon dev`, and its token endpoint answers as told.
type testShop struct {
	url string

	mu     sync.Mutex
	tokens []string // what the token endpoint answers, in turn; the last one repeats
	status int      // the token endpoint's status, when not 200
	calls  int
}

func newTestShop(t *testing.T, dev devServer) *testShop {
	t.Helper()
	s := &testShop{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /product", func(w http.ResponseWriter, r *http.Request) {
		// The query's settings become the tag's data- attributes.
		attrs := ""
		for _, name := range []string{"prompt", "category", "photo-type", "service", "variants"} {
			if v := r.URL.Query().Get(name); v != "" {
				attrs += ` data-` + name + `="` + html.EscapeString(v) + `"`
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A test shop</title><link rel="icon" href="data:,"></head>
<body><main><h1>Blue shirt</h1><script src="%s/widget.js" data-garment-image="/garment.png" data-token-url="/token" data-product-name="the blue shirt"%s></script></main></body></html>`,
			dev.url("127.0.0.1", ""), attrs)
	})
	mux.HandleFunc("GET /garment.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(drawGarment(300, 375))
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.calls++
		if s.status != 0 {
			http.Error(w, "no session", s.status)
			return
		}
		token := s.tokens[min(s.calls, len(s.tokens))-1]
		w.Header().Set("Content-Type", "application/json")
		// The second form is Tryon's own envelope, as a shop that passes
		// POST /tokens' answer through would send it.
		if s.calls%2 == 0 {
			json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"token": token, "expires_at": time.Now().Add(15 * time.Minute).UTC().Format(time.RFC3339)}})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"token": token})
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	s.url = "http://" + l.Addr().String()
	return s
}

// mintToken asks POST /tokens (with a tenant's test key, as a shop's server
// would) for a client token for origin that lives for seconds.
func mintToken(t *testing.T, dev devServer, key, origin string, seconds int) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"user": "shopper-1", "origins": []string{origin}, "expires_in": seconds})
	req, _ := http.NewRequest(http.MethodPost, dev.url("127.0.0.1", "/tokens"), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-client-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /tokens: %d %v", resp.StatusCode, err)
	}
	return env.Data.Token
}

// mintExpiredToken signs, as a shop's server would offline, a client token
// for origin that expired a minute past the leeway Tryon gives for clock
// skew: a fresh signing secret for the demo tenant comes from
// `tryon client token-secret rotate` (with a grace period, so the tokens
// already handed out stay valid), and the claims are dated in the past.
func mintExpiredToken(t *testing.T, dev devServer, origin string) string {
	t.Helper()
	env := func(k string) (string, bool) {
		if k == "DATABASE_URL" {
			return dev.db, true
		}
		return "", false
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"client", "token-secret", "rotate", "demo", "-grace", "1h"}, env, &out, &errOut); err != nil {
		t.Fatalf("token-secret rotate: %v: %s", err, errOut.String())
	}
	field := func(name string) string {
		for _, line := range strings.Split(out.String(), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
				return strings.TrimSpace(v)
			}
		}
		t.Fatalf("no %s in %q", name, out.String())
		return ""
	}
	version, err := strconv.Atoi(field("kid"))
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Now().Add(-clienttoken.Leeway - 5*time.Minute)
	token, err := clienttoken.Mint(field("secret"), version, clienttoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: field("iss"), Subject: "shopper-1", ID: "expired-token-test",
			IssuedAt: jwt.NewNumericDate(issued), ExpiresAt: jwt.NewNumericDate(issued.Add(4 * time.Minute)),
		},
		Mode: tryon.ModeTest, Origins: []string{origin}, Scope: "generate read",
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func (s *testShop) answer(status int, tokens ...string) {
	s.mu.Lock()
	s.status, s.tokens, s.calls = status, tokens, 0
	s.mu.Unlock()
}

func (s *testShop) tokenCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// TestBrowserWidgetErrors embeds the widget on another origin and walks
// through what can go wrong: a token endpoint that fails, a photo the
// safety filter blocks, an expired token (refreshed, then retried once),
// and a rate limit (the wait from Retry-After).
func TestBrowserWidgetErrors(t *testing.T) {
	b := newBrowser(t)
	dev := startDev(t, nil)
	shop := newTestShop(t, dev)
	b.expect(apiErrors)
	photo := personPhoto(t, 600, 800)
	expired := mintExpiredToken(t, dev, shop.url)

	open := func(b *browser, query string) {
		b.t.Helper()
		b.do("open the shop", chromedp.Navigate(shop.url+"/product"+query))
		b.waitFor("the try-on button", widgetButton, 20*time.Second)
		b.do("press the button", chromedp.Click(chromedp.JSPath(widgetButton)))
		b.waitFor("the dialog", widgetDialog+`.open`, 10*time.Second)
		pickPhoto(b, photo)
	}
	alert := func(b *browser) string {
		b.t.Helper()
		b.waitFor("an error message", widgetDialog+`.querySelector("[role=alert]")`, 60*time.Second)
		return eval[string](b, widgetDialog+`.querySelector("[role=alert]").textContent`)
	}

	t.Run("TokenEndpointFails", func(t *testing.T) {
		b := b.in(t)
		shop.answer(http.StatusInternalServerError)
		open(b, "")
		b.do("press Generate", chromedp.Click(widgetButtonNamed("Generate")))
		if msg := alert(b); !strings.Contains(msg, "Try-on is not available right now") || !strings.Contains(msg, "500") {
			t.Errorf("message: %q", msg)
		}
	})

	t.Run("ContentBlocked", func(t *testing.T) {
		b := b.in(t)
		shop.answer(0, mintToken(t, dev, dev.test, shop.url, 900))
		open(b, "?prompt="+url.QueryEscape("put it on [fake:blocked]"))
		b.do("press Generate", chromedp.Click(widgetButtonNamed("Generate")))
		if msg := alert(b); !strings.Contains(msg, "This photo could not be used") || !strings.Contains(msg, "safety filter") {
			t.Errorf("message: %q", msg)
		}
		b.shot("widget-blocked")
	})

	t.Run("ExpiredTokenRefreshed", func(t *testing.T) {
		b := b.in(t)
		shop.answer(0, expired, mintToken(t, dev, dev.test, shop.url, 900))
		open(b, "")
		b.do("press Generate", chromedp.Click(widgetButtonNamed("Generate")))
		waitResult(b)
		if n := shop.tokenCalls(); n != 2 {
			t.Errorf("the token endpoint was called %d times, want 2 (the token, then a fresh one after the 401)", n)
		}
		b.shot("widget-refreshed")
	})

	t.Run("RateLimited", func(t *testing.T) {
		b := b.in(t)
		// A tenant of its own, allowed one request a minute: its first
		// try-on goes through, the second is refused until Retry-After.
		c := cli{t, dev.db}
		c.must("client", "create", "tight", "-rpm", "1")
		key := keyRE.FindString(c.must("key", "create", "tight", "-kind", "test"))
		shop.answer(0, mintToken(t, dev, key, shop.url, 900))
		open(b, "")
		b.do("press Generate", chromedp.Click(widgetButtonNamed("Generate")))
		waitResult(b)
		b.do("press Try again", chromedp.Click(widgetButtonNamed("Try again")))
		// The message and the held-back button are read in one go: the wait
		// may be short.
		b.waitFor("the rate-limit message", `(function () {
			var a = Array.from(`+widgetDialog+`.querySelectorAll("button")).find(b => b.textContent.startsWith("Try again in"));
			var m = `+widgetDialog+`.querySelector("[role=alert]");
			return a && a.disabled && m && /Too many try-ons right now\.You can try again in \d+ seconds?\./.test(m.textContent);
		})()`, 60*time.Second)
		b.shot("widget-rate-limited")
	})
}
