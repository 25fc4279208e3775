// Package stripemock runs Stripe's official API mock, stripe-mock
// (github.com/stripe/stripe-mock), for tests: it finds the binary, starts
// it on a free loopback port and stops it when the test ends. stripe-mock
// validates every request against Stripe's OpenAPI specification and
// answers with fixture data; it keeps no state. A Mock also records the
// requests that reach it, so tests can assert on what was sent.
package stripemock

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the stripe-mock release the tests are written against.
const Version = "v0.203.0"

// InstallHint says how to get the binary.
const InstallHint = "stripe-mock was not found on PATH or in $(go env GOPATH)/bin; install it with:\n\n  go install github.com/stripe/stripe-mock@" + Version + "\n"

// Request is one request stripe-mock received.
type Request struct {
	Method         string
	Path           string
	Form           url.Values
	IdempotencyKey string
	// Status is stripe-mock's answer: 200 when Stripe's specification
	// accepts the request.
	Status int
}

// Mock is a running stripe-mock behind a recording proxy.
type Mock struct {
	// URL is the API base URL to give the Stripe client.
	URL string
	// afterResponse, when set, runs after stripe-mock answered and before
	// the answer goes back: a test can cut the connection there (by
	// panicking with http.ErrAbortHandler) to play a client that dies
	// after Stripe accepted its request.
	afterResponse func(Request)

	mu       sync.Mutex
	requests []Request
}

// Find returns the path of the stripe-mock binary, or "".
func Find() string {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, d := range filepath.SplitList(strings.TrimSpace(string(out))) {
			dirs = append(dirs, filepath.Join(d, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if info, err := os.Stat(p); err == nil && !info.IsDir() {
			return p
		}
	}
	return ""
}

var listening = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// Start starts stripe-mock for the test. A missing binary fails the test
// with the command that installs it.
func Start(tb testing.TB) *Mock {
	tb.Helper()
	bin := Find()
	if bin == "" {
		tb.Fatal(InstallHint)
	}
	// Both listeners on free loopback ports: by default stripe-mock also
	// serves HTTPS on port 12112, which a second mock (a parallel test,
	// another test binary) cannot bind, and it exits. No parent-death
	// signal: Linux sends it when the OS thread that started the child
	// exits, and Go's runtime may retire that thread; the cleanup below
	// stops the mock.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start stripe-mock: %v", err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				addr <- m[1]
			}
		}
		if !found {
			close(addr)
		}
	}()
	var a string
	select {
	case got, ok := <-addr:
		if !ok {
			tb.Fatal("stripe-mock exited without listening")
		}
		a = got
	case <-time.After(60 * time.Second):
		tb.Fatal("stripe-mock did not start listening within a minute")
	}
	// stripe-mock announces its address before it accepts connections:
	// wait until it does.
	for start := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", a, time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Since(start) > time.Minute {
			tb.Fatalf("stripe-mock does not accept connections on %s: %v", a, err)
		}
	}
	target, err := url.Parse("http://" + a)
	if err != nil {
		tb.Fatal(err)
	}
	m := &Mock{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		req := Request{Method: r.Method, Path: r.URL.Path, Form: form, IdempotencyKey: r.Header.Get("Idempotency-Key")}
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r)
		req.Status = rec.Code
		m.mu.Lock()
		m.requests = append(m.requests, req)
		hook := m.afterResponse
		m.mu.Unlock()
		if hook != nil {
			hook(req)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	tb.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

// Requests returns the requests received so far, in order.
func (m *Mock) Requests() []Request {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Request(nil), m.requests...)
}

// SetAfterResponse sets AfterResponse safely while requests may be served.
func (m *Mock) SetAfterResponse(f func(Request)) {
	m.mu.Lock()
	m.afterResponse = f
	m.mu.Unlock()
}
