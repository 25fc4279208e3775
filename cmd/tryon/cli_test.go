package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/syncbuffer"
)

// cli runs the tryon command in-process against a database.
type cli struct {
	t  *testing.T
	db string
}

func (c cli) run(args ...string) (string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	lookup := func(name string) (string, bool) {
		if name == "DATABASE_URL" {
			return c.db, true
		}
		return "", false
	}
	err := run(context.Background(), args, lookup, &out, &errOut)
	return out.String() + errOut.String(), err
}

func (c cli) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("tryon %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

var keyRE = regexp.MustCompile(`tryon_(live|test|admin)_[0-9A-Za-z]{49}`)

func TestManagingClientsAndKeys(t *testing.T) {
	db := pgtest.URL(t)
	c := cli{t, db}
	c.must("migrate") // idempotent: the database is already migrated
	out := c.must("client", "create", "acme", "-prepaid", "1000000", "-rpm", "30")
	if !strings.Contains(out, "acme") || !strings.Contains(out, "balance:  1 USD") || !strings.Contains(out, "30 requests/minute") {
		t.Fatalf("create:\n%s", out)
	}
	if _, err := c.run("client", "create", "acme"); err == nil {
		t.Fatal("a second client with the same name was created")
	}
	live := keyRE.FindString(c.must("key", "create", "acme", "-name", "backend"))
	test := keyRE.FindString(c.must("key", "create", "acme", "-kind", "test"))
	admin := keyRE.FindString(c.must("key", "create", "-admin"))
	if !strings.HasPrefix(live, "tryon_live_") || !strings.HasPrefix(test, "tryon_test_") || !strings.HasPrefix(admin, "tryon_admin_") {
		t.Fatalf("keys %q %q %q", live, test, admin)
	}
	list := c.must("key", "list", "acme")
	if !strings.Contains(list, live[:17]) || strings.Contains(list, live) {
		t.Fatalf("key list shows the prefix, never the key:\n%s", list)
	}

	env := apptest.New(t, apptest.Options{DatabaseURL: db})
	if r := env.Generate(live, map[string]any{"prompt": "a hat"}); r.Status != 200 || r.Generation(t).CostMicros != 40_000 {
		t.Fatalf("the CLI's live key: %d %s", r.Status, r.Body)
	}

	c.must("client", "set-price", "acme", "banana", "55000", "-reason", "contract")
	c.must("client", "set-limits", "acme", "-max-concurrent", "7", "-reason", "contract")
	c.must("client", "credit", "add", "acme", "500000", "-reason", "top up")
	if _, err := c.run("client", "credit", "add", "acme", "-99000000", "-reason", "too much"); err == nil {
		t.Fatal("credit taken below zero")
	}
	show := c.must("client", "show", "acme")
	for _, want := range []string{"banana 0.055 USD", "7 generations in flight", "balance:  1.46 USD", "top up", "contract", "client created"} {
		if !strings.Contains(show, want) {
			t.Fatalf("show lacks %q:\n%s", want, show)
		}
	}
	if _, err := c.run("client", "set-price", "acme", "banana", "1"); err == nil {
		t.Fatal("a change without a reason was accepted")
	}
	if out := c.must("client", "set-default-service", "acme", "vto"); !strings.Contains(out, "now use vto") {
		t.Fatalf("set-default-service said %q", out)
	}
	if _, err := c.run("client", "set-default-service", "acme", "veo3"); err == nil {
		t.Fatal("a video service was accepted as a default")
	}

	c.must("client", "suspend", "acme", "-reason", "unpaid invoice")
	fresh := apptest.New(t, apptest.Options{DatabaseURL: db}) // a new instance: an empty key cache
	if r := fresh.Generate(live, map[string]any{"prompt": "a hat"}); r.Status != 403 {
		t.Fatalf("suspended: %d", r.Status)
	}
	c.must("client", "activate", "acme", "-reason", "paid")
	out = c.must("key", "revoke", live[:17])
	if !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %s", out)
	}
	again := apptest.New(t, apptest.Options{DatabaseURL: db})
	if r := again.Do(http.MethodGet, "/generations", live, nil); r.Status != 401 {
		t.Fatalf("a revoked key still works on a new instance: %d", r.Status)
	}
	if r := again.Do(http.MethodGet, "/generations", test, nil); r.Status != 200 {
		t.Fatalf("the other key stopped working: %d", r.Status)
	}
	if !strings.Contains(c.must("client", "list"), "acme") {
		t.Fatal("client list")
	}
	hook := c.must("client", "webhook", "set", "acme", "https://hooks.acme.example/tryon")
	if !strings.Contains(hook, "whsec_") {
		t.Fatalf("webhook set: %s", hook)
	}
	if _, err := c.run("client", "webhook", "set", "acme", "http://169.254.169.254/"); err == nil {
		t.Fatal("a metadata-address webhook was accepted")
	}
}

func TestCommandLineMistakes(t *testing.T) {
	c := cli{t, pgtest.URL(t)}
	for _, args := range [][]string{{}, {"frobnicate"}, {"client"}, {"client", "create"}, {"key", "create"},
		{"client", "set-price", "x", "dalle", "1", "-reason", "r"}, {"key", "create", "x", "-kind", "admin"}} {
		_, err := c.run(args...)
		if _, ok := err.(usageError); !ok {
			t.Errorf("tryon %v: got %v, want a usage error", args, err)
		}
	}
	if _, err := (cli{t, ""}).run("client", "list"); err == nil || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("no DATABASE_URL: %v", err)
	}
}

// TestDevServesTheDemo runs `tryon dev` in-process on a free port against
// a database, and uses the key it prints.
func TestDevServesTheDemo(t *testing.T) {
	base, key, _, stop := runningDev(t)
	resp, err := http.Post(base+"/generate", "application/json", strings.NewReader(`{"prompt":"a hat"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("without a key: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/generate", strings.NewReader(`{"prompt":"a hat"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-client-key", key)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the printed test key: %d", resp.StatusCode)
	}
	index, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	index.Body.Close()
	if index.StatusCode != 200 || !strings.HasPrefix(index.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("public/index.html: %d %s", index.StatusCode, index.Header.Get("Content-Type"))
	}
	expectJSON404(t, base)
	stop()
}

// expectJSON404 checks that the server the CLI runs answers every path no
// route matches as vercel.json's catch-all does on Vercel: the JSON 404
// envelope with X-Request-Id, never Go's plain-text one.
func expectJSON404(t *testing.T, base string) {
	t.Helper()
	for _, path := range []string{"/nope", "/api/nope", "/generate/", "/assets/", "/metrics/client/", "/generations/x"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var env struct {
			Success   bool   `json:"success"`
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		}
		if resp.StatusCode != 404 || json.Unmarshal(body, &env) != nil || env.Success || env.Code != "not_found" ||
			env.RequestID == "" || resp.Header.Get("X-Request-Id") != env.RequestID {
			t.Errorf("GET %s: %d %q %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestServeListensWhereAsked runs `tryon serve -addr 127.0.0.1:0`: it
// listens there (not on every interface) and answers like a deployment.
func TestServeListensWhereAsked(t *testing.T) {
	db := pgtest.URL(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncbuffer.Buffer
	done := make(chan error, 1)
	env := map[string]string{"DATABASE_URL": db, "PROVIDER_BANANA": "fake", "PROVIDER_BANANA_PRO": "fake", "PROVIDER_VEO3": "fake"}
	go func() {
		done <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0"}, func(n string) (string, bool) {
			v, ok := env[n]
			return v, ok
		}, &out, &errOut)
	}()
	var addr string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`serving on (\S+)`).FindStringSubmatch(errOut.String()); m != nil {
			addr = m[1]
			break
		}
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("serve listens on %q:\n%s", addr, errOut.String())
	}
	expectJSON404(t, "http://"+addr)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve ended with %v", err)
	}
}
