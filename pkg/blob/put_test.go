package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/blob/blobfake"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// pngBytes stands in for an output; the store never looks inside.
var pngBytes = []byte("\x89PNG\r\n\x1a\nnot really an image")

// newStore returns a Store talking to fake whose waits between attempts
// return at once and are recorded in *waits.
func newStore(t *testing.T, fake *blobfake.Server, token string) (*Store, *[]time.Duration) {
	t.Helper()
	s, err := New(Config{Token: token, APIURL: fake.URL, HTTPClient: fake.Client()})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	s.retry.Sleep = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return s, &waits
}

func TestPut(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)

		u, err := s.Put(context.Background(), "gen_1.png", "image/png", pngBytes)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, fake.URL+"/generations/gen_1-") || !strings.HasSuffix(u, ".png") {
			t.Errorf("url = %q, want %s/generations/gen_1-<suffix>.png", u, fake.URL)
		}
		resp, err := fake.Client().Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, pngBytes) {
			t.Errorf("GET url = %d %q, want 200 %q", resp.StatusCode, got, pngBytes)
		}
		if got, want := resp.Header.Get("Content-Type"), "image/png"; got != want {
			t.Errorf("Content-Type = %q, want %q", got, want)
		}
		if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000"; got != want {
			t.Errorf("Cache-Control = %q, want %q", got, want)
		}
	})

	t.Run("Headers", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		if _, err := s.Put(context.Background(), "gen 2/ü.webp", "image/webp", pngBytes); err != nil {
			t.Fatal(err)
		}
		reqs := fake.Requests()
		if len(reqs) != 1 {
			t.Fatalf("requests = %d, want 1", len(reqs))
		}
		r := reqs[0]
		if got, want := r.Pathname, "generations/gen 2/ü.webp"; got != want {
			t.Errorf("pathname = %q, want %q", got, want)
		}
		if !bytes.Equal(r.Body, pngBytes) {
			t.Errorf("body = %q, want %q", r.Body, pngBytes)
		}
		for name, want := range map[string]string{
			"Authorization":           "Bearer " + fake.Token,
			"X-Api-Version":           "12",
			"X-Vercel-Blob-Store-Id":  blobfake.StoreID,
			"X-Vercel-Blob-Access":    "public",
			"X-Content-Type":          "image/webp",
			"X-Add-Random-Suffix":     "1",
			"X-Cache-Control-Max-Age": "31536000",
		} {
			if got := r.Header.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("%s = %q, want [%q]", name, got, want)
			}
		}
	})

	t.Run("NoContentType", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		if _, err := s.Put(context.Background(), "gen_3.mp4", "", pngBytes); err != nil {
			t.Fatal(err)
		}
		if got := fake.Requests()[0].Header.Values("X-Content-Type"); got != nil {
			t.Errorf("X-Content-Type = %q, want none", got)
		}
	})

	t.Run("SameNameTwice", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		u1, err1 := s.Put(context.Background(), "gen_4.png", "image/png", pngBytes)
		u2, err2 := s.Put(context.Background(), "gen_4.png", "image/png", pngBytes)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if u1 == u2 {
			t.Errorf("two uploads of one name share the URL %q; want random suffixes", u1)
		}
	})
}

func TestPutErrors(t *testing.T) {
	for _, tt := range []struct {
		name     string
		token    func(fake *blobfake.Server) string
		setup    func(fake *blobfake.Server)
		status   int
		code     string
		domain   tryon.Code
		attempts int
	}{
		{
			name:   "ErrForbidden",
			setup:  func(f *blobfake.Server) { f.Inject(blobfake.Forbidden) },
			status: 403, code: "forbidden", domain: tryon.CodeInternal, attempts: 1,
		},
		{
			name:   "ErrWrongSecret",
			token:  func(f *blobfake.Server) string { return "vercel_blob_rw_" + blobfake.StoreID + "_wrongsecret" },
			status: 403, code: "forbidden", domain: tryon.CodeInternal, attempts: 1,
		},
		{
			name:   "ErrStoreNotFound",
			token:  func(f *blobfake.Server) string { return "vercel_blob_rw_DeletedStore_wrongsecret" },
			status: 404, code: "store_not_found", domain: tryon.CodeInternal, attempts: 1,
		},
		{
			name:   "ErrInjectedStoreNotFound",
			setup:  func(f *blobfake.Server) { f.Inject(blobfake.StoreNotFound) },
			status: 404, code: "store_not_found", domain: tryon.CodeInternal, attempts: 1,
		},
		{
			name:   "ErrFileTooLarge",
			setup:  func(f *blobfake.Server) { f.SetMaxBytes(len(pngBytes) - 1) },
			status: 400, code: "file_too_large", domain: tryon.CodeInternal, attempts: 1,
		},
		{
			name:   "ErrInjectedFileTooLarge",
			setup:  func(f *blobfake.Server) { f.Inject(blobfake.FileTooLarge) },
			status: 400, code: "file_too_large", domain: tryon.CodeInternal, attempts: 1,
		},
		{
			name: "ErrServiceUnavailableEveryTime",
			setup: func(f *blobfake.Server) {
				for range maxAttempts {
					f.Inject(blobfake.ServiceUnavailable)
				}
			},
			status: 503, code: "service_unavailable", domain: tryon.CodeUnavailable, attempts: maxAttempts,
		},
		{
			name: "ErrBadGatewayEveryTime",
			setup: func(f *blobfake.Server) {
				for range maxAttempts {
					f.Inject(blobfake.BadGateway)
				}
			},
			status: 502, code: "unknown_error", domain: tryon.CodeUnavailable, attempts: maxAttempts,
		},
		{
			name: "ErrRateLimitedTooLong",
			setup: func(f *blobfake.Server) {
				f.SetRetryAfter(int(defaultRetryPolicy.MaxRetryAfter/time.Second) + 1)
				f.Inject(blobfake.RateLimited)
			},
			status: 429, code: "rate_limited", domain: tryon.CodeUnavailable, attempts: 1,
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := blobfake.New(t)
			token := fake.Token
			if tt.token != nil {
				token = tt.token(fake)
			}
			if tt.setup != nil {
				tt.setup(fake)
			}
			s, waits := newStore(t, fake, token)

			_, err := s.Put(context.Background(), "gen_1.png", "image/png", pngBytes)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want an *APIError in its chain", err)
			}
			if apiErr.Status != tt.status || apiErr.Code != tt.code {
				t.Errorf("APIError = %d %q, want %d %q", apiErr.Status, apiErr.Code, tt.status, tt.code)
			}
			if got := tryon.ErrorCode(err); got != tt.domain {
				t.Errorf("ErrorCode = %q, want %q", got, tt.domain)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.code) || !strings.Contains(msg, fmt.Sprintf("HTTP %d", tt.status)) {
				t.Errorf("err = %q, want it to name %q and HTTP %d", msg, tt.code, tt.status)
			}
			if secret := token[strings.LastIndex(token, "_")+1:]; strings.Contains(msg, secret) {
				t.Errorf("err = %q, which contains the token", msg)
			}
			if got := len(fake.Requests()); got != tt.attempts {
				t.Errorf("attempts = %d, want %d", got, tt.attempts)
			}
			if got := len(*waits); got != tt.attempts-1 {
				t.Errorf("waits = %d, want %d", got, tt.attempts-1)
			}
		})
	}

	t.Run("ErrRateLimitedRetryAfterPassed", func(t *testing.T) {
		fake := blobfake.New(t)
		fake.SetRetryAfter(7)
		fake.Inject(blobfake.RateLimited, blobfake.RateLimited, blobfake.RateLimited, blobfake.RateLimited)
		s, _ := newStore(t, fake, fake.Token)
		_, err := s.Put(context.Background(), "gen_1.png", "image/png", pngBytes)
		var e *tryon.Error
		if !errors.As(err, &e) || e.RetryAfter != 7*time.Second {
			t.Errorf("err = %v, want a *tryon.Error with RetryAfter 7s", err)
		}
	})

	t.Run("ErrNameTooLong", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		_, err := s.Put(context.Background(), strings.Repeat("a", maxPathnameLen), "image/png", pngBytes)
		if got := tryon.ErrorCode(err); got != tryon.CodeInternal {
			t.Errorf("ErrorCode = %q (err %v), want %q", got, err, tryon.CodeInternal)
		}
		if got := len(fake.Requests()); got != 0 {
			t.Errorf("requests = %d, want 0", got)
		}
	})

	t.Run("ErrNoURLInAnswer", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			io.WriteString(w, `{"pathname":"generations/x.png"}`)
		}))
		t.Cleanup(srv.Close)
		s, err := New(Config{Token: "vercel_blob_rw_AbC123_secretvalue", APIURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Put(context.Background(), "x.png", "image/png", pngBytes)
		if got := tryon.ErrorCode(err); got != tryon.CodeInternal {
			t.Errorf("ErrorCode = %q (err %v), want %q", got, err, tryon.CodeInternal)
		}
		if got := calls.Load(); got != 1 {
			t.Errorf("calls = %d, want 1: a success without a URL is not retried", got)
		}
	})

	t.Run("ErrTokenEchoed", func(t *testing.T) {
		const token = "vercel_blob_rw_AbC123_secretvalue"
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"code":"bad_request","message":"bad header: %s\nforged log line"}}`, r.Header.Get("Authorization"))
		}))
		t.Cleanup(srv.Close)
		s, err := New(Config{Token: token, APIURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Put(context.Background(), "x.png", "image/png", pngBytes)
		if err == nil {
			t.Fatal("err = nil, want an error")
		}
		if msg := err.Error(); strings.Contains(msg, "secretvalue") || strings.Contains(msg, "\n") {
			t.Errorf("err = %q, want neither the token nor a newline", msg)
		}
	})
}

func TestPutRetries(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault blobfake.Fault
		check func(t *testing.T, wait time.Duration)
	}{
		{"ServiceUnavailableOnce", blobfake.ServiceUnavailable, wantBackoff(1)},
		{"BadGatewayOnce", blobfake.BadGateway, wantBackoff(1)},
		{"RateLimitedOnce", blobfake.RateLimited, func(t *testing.T, wait time.Duration) {
			if wait != 3*time.Second {
				t.Errorf("wait = %s, want the 3s of retry-after", wait)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := blobfake.New(t)
			fake.SetRetryAfter(3)
			fake.Inject(tt.fault)
			s, waits := newStore(t, fake, fake.Token)

			u, err := s.Put(context.Background(), "gen_1.png", "image/png", pngBytes)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(fake.Requests()); got != 2 {
				t.Errorf("attempts = %d, want 2", got)
			}
			if len(*waits) != 1 {
				t.Fatalf("waits = %v, want one", *waits)
			}
			tt.check(t, (*waits)[0])
			if _, ok := fake.Blob(strings.TrimPrefix(u, fake.URL+"/")); !ok {
				t.Errorf("nothing stored at %q", u)
			}
		})
	}

	t.Run("NetworkErrorOnce", func(t *testing.T) {
		fake := blobfake.New(t)
		s, waits := newStore(t, fake, fake.Token)
		tr := &failingTransport{next: fake.Client().Transport, failures: 1}
		s.client = &http.Client{Transport: tr}
		if _, err := s.Put(context.Background(), "gen_1.png", "image/png", pngBytes); err != nil {
			t.Fatal(err)
		}
		if tr.calls != 2 || len(fake.Requests()) != 1 || len(*waits) != 1 {
			t.Errorf("calls = %d, requests = %d, waits = %v; want 2, 1, one wait", tr.calls, len(fake.Requests()), *waits)
		}
	})

	t.Run("NetworkErrorEveryTime", func(t *testing.T) {
		fake := blobfake.New(t)
		s, _ := newStore(t, fake, fake.Token)
		tr := &failingTransport{next: fake.Client().Transport, failures: maxAttempts}
		s.client = &http.Client{Transport: tr}
		_, err := s.Put(context.Background(), "gen_1.png", "image/png", pngBytes)
		if got := tryon.ErrorCode(err); got != tryon.CodeUnavailable || !errors.Is(err, errConnectionReset) {
			t.Errorf("err = %v (code %q), want unavailable wrapping the connection error", err, got)
		}
		if tr.calls != maxAttempts {
			t.Errorf("calls = %d, want %d", tr.calls, maxAttempts)
		}
	})

	t.Run("ErrDeadlineBeforeRetryAfter", func(t *testing.T) {
		fake := blobfake.New(t)
		fake.SetRetryAfter(10)
		fake.Inject(blobfake.RateLimited)
		s, waits := newStore(t, fake, fake.Token)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := s.Put(ctx, "gen_1.png", "image/png", pngBytes)
		if got := tryon.ErrorCode(err); got != tryon.CodeUnavailable {
			t.Errorf("ErrorCode = %q (err %v), want %q", got, err, tryon.CodeUnavailable)
		}
		if len(*waits) != 0 {
			t.Errorf("waits = %v, want none: the deadline comes before the retry", *waits)
		}
	})
}

// wantBackoff checks a wait against backoff's range for the attempt.
func wantBackoff(attempt int) func(t *testing.T, wait time.Duration) {
	return func(t *testing.T, wait time.Duration) {
		t.Helper()
		d := defaultRetryPolicy.Waits[attempt-1]
		if wait < d || wait >= d+d/4 {
			t.Errorf("wait = %s, want in [%s, %s)", wait, d, d+d/4)
		}
	}
}

var errConnectionReset = errors.New("connection reset by peer (simulated)")

// failingTransport fails its first few round trips as a broken network
// would, then hands requests to next. Put's attempts are sequential, so its
// counters need no lock.
type failingTransport struct {
	next     http.RoundTripper
	failures int
	calls    int
}

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls++
	if f.calls <= f.failures {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, errConnectionReset
	}
	return f.next.RoundTrip(r)
}

func TestPutContext(t *testing.T) {
	t.Run("CanceledBefore", func(t *testing.T) {
		fake := blobfake.New(t)
		s, waits := newStore(t, fake, fake.Token)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Put(ctx, "gen_1.png", "image/png", pngBytes)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if len(fake.Requests()) != 0 || len(*waits) != 0 {
			t.Errorf("requests = %d, waits = %v; want none", len(fake.Requests()), *waits)
		}
	})

	t.Run("CanceledInFlight", func(t *testing.T) {
		fake := blobfake.New(t)
		fake.Inject(blobfake.Hang)
		s, waits := newStore(t, fake, fake.Token)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-fake.Hanging()
			cancel()
		}()
		_, err := s.Put(ctx, "gen_1.png", "image/png", pngBytes)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if len(fake.Requests()) != 1 || len(*waits) != 0 {
			t.Errorf("requests = %d, waits = %v; want 1 and none: a canceled upload is not retried", len(fake.Requests()), *waits)
		}
	})

	t.Run("CanceledWhileWaiting", func(t *testing.T) {
		fake := blobfake.New(t)
		fake.Inject(blobfake.ServiceUnavailable)
		s, _ := newStore(t, fake, fake.Token)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		// The real sleep, canceled as it starts: Put must give up rather
		// than try again.
		s.retry.Sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return tryon.Sleep(ctx, d)
		}
		_, err := s.Put(ctx, "gen_1.png", "image/png", pngBytes)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if got := len(fake.Requests()); got != 1 {
			t.Errorf("attempts = %d, want 1", got)
		}
	})
}

func TestSanitize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"plain", 10, "plain"},
		{"line\nforged\r\x00", 20, "line forged"},
		{"abcdef", 3, "abc…"},
		{"ééé", 2, "éé…"},
	} {
		if got := sanitize(tt.in, tt.n); got != tt.want {
			t.Errorf("sanitize(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// FuzzAPIError feeds arbitrary error answers to the decoder: it must not
// panic, must keep its bounds, and must never let the token or a line break
// through.
func FuzzAPIError(f *testing.F) {
	f.Add(503, `{"error":{"code":"service_unavailable","message":"try later"}}`, "")
	f.Add(429, `{"error":{"code":"rate_limited"}}`, "5")
	f.Add(502, `<html>bad gateway</html>`, "")
	f.Add(400, `{"error":{"code":"bad_request","message":"vercel_blob_rw_AbC123_secretvalue"}}`, "Wed, 21 Oct 2015 07:28:00 GMT")
	s, err := New(Config{Token: "vercel_blob_rw_AbC123_secretvalue"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, body, retry string) {
		resp := &http.Response{StatusCode: status, Header: http.Header{"Retry-After": {retry}}}
		e := s.apiError(resp, []byte(body))
		msg := e.Error()
		if strings.Contains(msg, s.token) || strings.ContainsAny(msg, "\r\n") {
			t.Errorf("Error() = %q", msg)
		}
		if len([]rune(e.Code)) > maxCodeLen+1 || len([]rune(e.Message)) > maxMessageLen+1 || e.RetryAfter < 0 {
			t.Errorf("APIError = %+v, out of bounds", e)
		}
	})
}

// maxAttempts is how many uploads Put makes before giving up.
var maxAttempts = defaultRetryPolicy.Attempts()
