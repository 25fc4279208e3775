package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/syncbuffer"
	"github.com/tryonhq/tryon/pkg/webhook"
)

// TestDevDeliversWebhooksToALocalReceiver runs `tryon dev -webhook` with a
// receiver on loopback, which the URL guard refuses everywhere else: a
// generation's webhook reaches it, signed with the printed secret.
func TestDevDeliversWebhooksToALocalReceiver(t *testing.T) {
	var mu sync.Mutex
	var secret string
	var verified, refused int
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header, body, time.Now(), time.Minute); err != nil {
			refused++
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		verified++
	}))
	defer receiver.Close()

	base, key, printed, stop := runningDev(t, "-webhook", receiver.URL+"/hooks")
	m := regexp.MustCompile(`signing secret: (whsec_\S+)`).FindStringSubmatch(printed)
	if m == nil {
		t.Fatalf("no signing secret printed:\n%s", printed)
	}
	mu.Lock()
	secret = m[1]
	mu.Unlock()
	req, _ := http.NewRequest(http.MethodPost, base+"/generate", strings.NewReader(`{"prompt":"a hat"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-client-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("generate: %d", resp.StatusCode)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if verified != 1 || refused != 0 {
		t.Fatalf("the local receiver verified %d deliveries and refused %d; want 1 and 0", verified, refused)
	}
}

// runningDev runs `tryon dev -port 0 args...` on a fresh database until
// stop, and returns its base URL, the demo test key and what it printed.
func runningDev(t *testing.T, args ...string) (base, testKey, printed string, stop func()) {
	t.Helper()
	db := pgtest.URL(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncbuffer.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"dev", "-port", "0"}, args...), func(n string) (string, bool) {
			if n == "DATABASE_URL" {
				return db, true
			}
			return "", false
		}, &out, &errOut)
	}()
	stop = func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("dev ended with %v", err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s := out.String()
		if m := regexp.MustCompile(`running at (http://localhost:\d+)`).FindStringSubmatch(s); m != nil && strings.Contains(s, "curl") {
			return m[1], regexp.MustCompile(`tryon_test_\w+`).FindString(s), s, stop
		}
	}
	cancel()
	t.Fatalf("dev did not start:\n%s\n%s", out.String(), errOut.String())
	return
}

func TestOnlyDevDeliversToLoopback(t *testing.T) {
	c := cli{t: t}
	if _, err := c.run("dev", "-webhook", "https://shop.example/hooks"); err == nil || !strings.Contains(err.Error(), "on this machine") {
		t.Fatalf("dev -webhook with a public URL: %v", err)
	}
	if _, err := c.run("serve", "-webhook", "http://localhost:9000/hooks"); err == nil {
		t.Fatal("serve accepted -webhook")
	}
}
