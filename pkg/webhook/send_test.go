package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// delivery is what a test receiver saw.
type delivery struct {
	method, contentType, userAgent, timestamp string
	body                                      string
	verifyErr                                 error
}

// receiver starts an endpoint that checks deliveries with Verify, as a
// tenant would, answers 204 when they pass and 401 when not, and reports
// each one on the returned channel.
func receiver(t *testing.T, secret string, now time.Time) (*httptest.Server, <-chan delivery) {
	t.Helper()
	seen := make(chan delivery, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := delivery{
			method:      r.Method,
			contentType: r.Header.Get("Content-Type"),
			userAgent:   r.Header.Get("User-Agent"),
			timestamp:   r.Header.Get(HeaderTimestamp),
			body:        string(body),
			verifyErr:   Verify(secret, r.Header, body, now, 0),
		}
		seen <- d
		if d.verifyErr != nil {
			http.Error(w, d.verifyErr.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, seen
}

func TestSend(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	body := []byte(`{"type":"generation.succeeded","data":{"id":"gen_1"}}`)

	t.Run("Verified", func(t *testing.T) {
		secret, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		srv, seen := receiver(t, secret, ts.Add(30*time.Second))
		status, err := (&Sender{}).Send(context.Background(), srv.URL+"/hooks", secret, "msg_1", ts, body)
		if err != nil || status != http.StatusNoContent {
			t.Fatalf("Send = %d, %v; want 204, nil", status, err)
		}
		d := <-seen
		if d.verifyErr != nil {
			t.Errorf("receiver's Verify = %v, want nil", d.verifyErr)
		}
		for _, c := range []struct{ name, got, want string }{
			{"method", d.method, "POST"},
			{"Content-Type", d.contentType, "application/json"},
			{"User-Agent", d.userAgent, DefaultUserAgent},
			{"webhook-timestamp", d.timestamp, "1700000000"},
			{"body", d.body, string(body)},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
	})

	t.Run("UserAgent", func(t *testing.T) {
		secret, _ := NewSecret()
		srv, seen := receiver(t, secret, ts)
		if _, err := (&Sender{UserAgent: "Tryon-Test/2"}).Send(context.Background(), srv.URL, secret, "msg_1", ts, body); err != nil {
			t.Fatal(err)
		}
		if got := (<-seen).userAgent; got != "Tryon-Test/2" {
			t.Errorf("User-Agent = %q, want %q", got, "Tryon-Test/2")
		}
	})

	t.Run("ErrReceiverRefusesSignature", func(t *testing.T) {
		ours, _ := NewSecret()
		theirs, _ := NewSecret()
		srv, seen := receiver(t, theirs, ts)
		status, err := (&Sender{}).Send(context.Background(), srv.URL, ours, "msg_1", ts, body)
		var de *DeliveryError
		if status != http.StatusUnauthorized || !errors.As(err, &de) || de.Status != http.StatusUnauthorized {
			t.Errorf("Send = %d, %v; want 401 and a *DeliveryError", status, err)
		}
		if got := (<-seen).verifyErr; !errors.Is(got, ErrNoMatchingSignature) {
			t.Errorf("receiver's Verify = %v, want ErrNoMatchingSignature", got)
		}
	})
}

func TestSendFailures(t *testing.T) {
	ts := time.Unix(1700000000, 0)
	body := []byte(`{"type":"generation.failed"}`)
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ErrServerError", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "boom\r\nforged: line\n"+strings.Repeat("x", 64<<10))
		}))
		t.Cleanup(srv.Close)
		status, err := (&Sender{}).Send(context.Background(), srv.URL, secret, "msg_1", ts, body)
		var de *DeliveryError
		if status != http.StatusInternalServerError || !errors.As(err, &de) || de.Status != http.StatusInternalServerError {
			t.Fatalf("Send = %d, %v; want 500 and a *DeliveryError", status, err)
		}
		if len(de.Excerpt) > maxExcerpt || !strings.HasPrefix(de.Excerpt, "boom  forged: line ") {
			t.Errorf("Excerpt = %d bytes starting %q, want at most %d starting with the answer, cleaned", len(de.Excerpt), shorten(de.Excerpt, 30), maxExcerpt)
		}
		if msg := err.Error(); !strings.Contains(msg, "500") || len(msg) > 300 || strings.ContainsAny(msg, "\r\n") {
			t.Errorf("err = %q, want a one-line message naming 500", msg)
		}
	})

	t.Run("ErrRateLimited", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		t.Cleanup(srv.Close)
		_, err := (&Sender{}).Send(context.Background(), srv.URL, secret, "msg_1", ts, body)
		var de *DeliveryError
		if !errors.As(err, &de) || de.Status != http.StatusTooManyRequests || de.RetryAfter != 2*time.Minute {
			t.Errorf("err = %#v, want 429 with RetryAfter 2m", err)
		}
	})

	t.Run("ErrRedirect", func(t *testing.T) {
		var landed atomic.Int32
		mux := http.NewServeMux()
		mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/new", http.StatusFound)
		})
		mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
			landed.Add(1)
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		client := &http.Client{}
		status, err := (&Sender{Client: client}).Send(context.Background(), srv.URL+"/old", secret, "msg_1", ts, body)
		var de *DeliveryError
		if status != http.StatusFound || !errors.As(err, &de) || de.Status != http.StatusFound {
			t.Errorf("Send = %d, %v; want 302 and a *DeliveryError", status, err)
		}
		if n := landed.Load(); n != 0 {
			t.Errorf("redirect target hit %d times, want 0", n)
		}
		if client.CheckRedirect != nil {
			t.Error("Send changed the caller's client")
		}
	})

	t.Run("ErrTimeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		// Cleanups run last-in first-out: the handler is released before
		// Close waits for it.
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })

		status, err := (&Sender{Timeout: 50 * time.Millisecond}).Send(context.Background(), srv.URL+"/hook?token=s3cr3t", secret, "msg_1", ts, body)
		if status != 0 || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Send = %d, %v; want 0 and a deadline error", status, err)
		}
		if msg := err.Error(); strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, "deadline") {
			t.Errorf("err = %q, want a deadline error without the URL's query", msg)
		}
	})

	t.Run("ErrCanceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := (&Sender{}).Send(ctx, "http://127.0.0.1:9/hook", secret, "msg_1", ts, body)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})

	t.Run("ErrConnectionRefused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL + "/hook?token=s3cr3t"
		srv.Close()
		status, err := (&Sender{}).Send(context.Background(), u, secret, "msg_1", ts, body)
		if status != 0 || err == nil {
			t.Fatalf("Send = %d, %v; want 0 and an error", status, err)
		}
		if msg := err.Error(); strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, strings.TrimPrefix(srv.URL, "http://")) {
			t.Errorf("err = %q, want the host and not the query", msg)
		}
	})

	for _, tt := range []struct {
		name, url, secret, id, body string
	}{
		{"ErrRelativeURL", "/hook", secret, "msg_1", `{}`},
		{"ErrSchemeURL", "ftp://example.com/hook", secret, "msg_1", `{}`},
		{"ErrNotJSON", "http://127.0.0.1:9/hook", secret, "msg_1", `not json`},
		{"ErrSecret", "http://127.0.0.1:9/hook", "whsec_x", "msg_1", `{}`},
		{"ErrMessageID", "http://127.0.0.1:9/hook", secret, "msg.1", `{}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			tr := roundTripFunc(func(*http.Request) (*http.Response, error) {
				hits.Add(1)
				return nil, errors.New("unreachable")
			})
			_, err := (&Sender{Client: &http.Client{Transport: tr}}).Send(context.Background(), tt.url, tt.secret, tt.id, ts, []byte(tt.body))
			if err == nil || hits.Load() != 0 {
				t.Errorf("Send = %v after %d requests, want an error and none", err, hits.Load())
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
