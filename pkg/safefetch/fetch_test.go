package safefetch

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// The test's stand-in for the internet: Linux routes all of 127/8 to the
// loopback interface, so a server on 127.0.0.2 is reachable, and allowing
// exactly that address leaves 127.0.0.1 and the rest of loopback private.
var publicPrefix = netip.MustParsePrefix("127.0.0.2/32")

const testMaxBytes = 64 << 10

// server is a real HTTP server on a given loopback address that counts the
// requests it receives, to prove a refused fetch never reached it.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

func startServer(t *testing.T, addr string, h http.Handler) *server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s (this test needs Linux's loopback routing or IPv6): %v", addr, err)
	}
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func encodePNG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// webpHeader is the start of a WebP file: a RIFF container whose first chunk
// is an extended (VP8X) header declaring the canvas size, which is all the
// fetcher reads.
func webpHeader(w, h int) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x10\x00\x00\x00")
	b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	binary.LittleEndian.PutUint32(b[4:8], uint32(len(b)-8))
	return b
}

// fixture is the servers one fetch test runs against.
type fixture struct {
	client  *Client
	public  *server // on 127.0.0.2, allowed
	private *server // on 127.0.0.1, serving a valid PNG nobody may fetch
	png     []byte
	jpeg    []byte
	webp    []byte
	dns     *fakeDNS
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{png: encodePNG(t, 64, 48), jpeg: encodeJPEG(t, 40, 30), webp: webpHeader(300, 200), dns: &fakeDNS{}}
	f.dns.set()
	f.private = startServer(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(f.png)
	}))

	mux := http.NewServeMux()
	serve := func(body []byte, contentType string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Write(body)
		}
	}
	// Content types lie on purpose: only the bytes may decide.
	mux.Handle("GET /png", serve(f.png, "text/plain"))
	mux.Handle("GET /jpeg", serve(f.jpeg, "image/png"))
	mux.Handle("GET /webp", serve(f.webp, "application/octet-stream"))
	mux.Handle("GET /html", serve([]byte("<!doctype html><title>not an image</title>"), "image/png"))
	mux.Handle("GET /mp4", serve([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), "image/png"))
	mux.Handle("GET /bomb", serve(webpHeader(20_000, 20_000), "image/webp"))
	mux.Handle("GET /text", serve([]byte("just text"), "text/plain; charset=utf-8"))
	mux.Handle("GET /exact", serve(bytes.Repeat([]byte{'x'}, testMaxBytes), "text/plain"))
	mux.Handle("GET /big", serve(bytes.Repeat([]byte{'x'}, testMaxBytes+1), "text/plain"))
	mux.HandleFunc("GET /missing", http.NotFound)
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	})
	// A body that never ends, without Content-Length: only a reader that
	// stops at the limit returns.
	mux.HandleFunc("GET /endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte{'x'}, 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	// Declares a huge body then sends nothing: a client that waited for the
	// body instead of trusting the header would run into the timeout.
	release := make(chan struct{})
	mux.HandleFunc("GET /declared-big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(1<<30))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		waitFor(r, release)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		waitFor(r, release)
	})
	mux.HandleFunc("GET /slow-body", func(w http.ResponseWriter, r *http.Request) {
		w.Write(f.png[:10])
		w.(http.Flusher).Flush()
		waitFor(r, release)
	})
	redirect := func(to func(r *http.Request) string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, to(r), http.StatusFound)
		}
	}
	privatePort := f.private.Listener.Addr().(*net.TCPAddr).Port
	mux.Handle("GET /to-png", redirect(func(*http.Request) string { return "/png" }))
	mux.Handle("GET /to-private", redirect(func(*http.Request) string { return f.private.URL + "/png" }))
	mux.Handle("GET /to-localhost", redirect(func(*http.Request) string {
		return fmt.Sprintf("http://localhost:%d/png", privatePort)
	}))
	mux.Handle("GET /to-metadata", redirect(func(*http.Request) string { return "http://169.254.169.254/latest/meta-data/" }))
	mux.Handle("GET /to-ftp", redirect(func(*http.Request) string { return "ftp://example.com/a.png" }))
	mux.Handle("GET /to-file", redirect(func(*http.Request) string { return "file:///etc/passwd" }))
	mux.Handle("GET /chain/{n}", redirect(func(r *http.Request) string {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n <= 1 {
			return "/png"
		}
		return fmt.Sprintf("/chain/%d", n-1)
	}))
	f.public = startServer(t, "127.0.0.2:0", mux)
	// Registered after the servers so it runs before their Close, which
	// waits for the handlers blocked on it.
	t.Cleanup(func() { close(release) })

	opts.Allow = append(opts.Allow, publicPrefix)
	f.client = New(opts)
	f.client.dialer.Resolver = f.dns.resolver()
	return f
}

func waitFor(r *http.Request, release <-chan struct{}) {
	select {
	case <-release:
	case <-r.Context().Done():
	}
}

func TestFetchImage(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxBytes: testMaxBytes})
	tests := []struct {
		name string
		path string
		want tryon.Image
	}{
		{"PNG", "/png", tryon.Image{Bytes: f.png, ContentType: "image/png", Width: 64, Height: 48}},
		{"JPEG", "/jpeg", tryon.Image{Bytes: f.jpeg, ContentType: "image/jpeg", Width: 40, Height: 30}},
		{"WebP", "/webp", tryon.Image{Bytes: f.webp, ContentType: "image/webp", Width: 300, Height: 200}},
		{"AfterRedirect", "/to-png", tryon.Image{Bytes: f.png, ContentType: "image/png", Width: 64, Height: 48}},
		{"AfterFiveRedirects", "/chain/5", tryon.Image{Bytes: f.png, ContentType: "image/png", Width: 64, Height: 48}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := f.client.FetchImage(context.Background(), f.public.URL+tt.path)
			if err != nil {
				t.Fatalf("FetchImage() error = %v", err)
			}
			if !bytes.Equal(img.Bytes, tt.want.Bytes) || img.ContentType != tt.want.ContentType ||
				img.Width != tt.want.Width || img.Height != tt.want.Height {
				t.Fatalf("FetchImage() = %s %dx%d (%d bytes); want %s %dx%d (%d bytes)",
					img.ContentType, img.Width, img.Height, len(img.Bytes),
					tt.want.ContentType, tt.want.Width, tt.want.Height, len(tt.want.Bytes))
			}
		})
	}
}

func TestFetchImageRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxBytes: testMaxBytes})
	privatePort := f.private.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name string
		url  string
		msg  string
	}{
		{"ErrLoopback", f.private.URL + "/png", msgBlocked},
		{"ErrLocalhost", fmt.Sprintf("http://localhost:%d/png", privatePort), msgBlocked},
		{"ErrMappedLoopback", fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/png", privatePort), msgBlocked},
		{"ErrLoopbackOtherPort", "http://127.0.0.1:1/png", msgBlocked},
		{"ErrPrivate", "http://10.0.0.1/a.png", msgBlocked},
		{"ErrPrivate172", "http://172.16.0.1/a.png", msgBlocked},
		{"ErrPrivate192", "http://192.168.1.1/a.png", msgBlocked},
		{"ErrMetadata", "http://169.254.169.254/latest/meta-data/", msgBlocked},
		{"ErrULA", "http://[fd00::1]/a.png", msgBlocked},
		{"ErrAWSMetadataIPv6", "http://[fd00:ec2::254]/latest/meta-data/", msgBlocked},
		{"ErrCGNAT", "http://100.64.0.1/a.png", msgBlocked},
		{"ErrAlibabaMetadata", "http://100.100.100.200/latest/meta-data/", msgBlocked},
		{"ErrUnspecified", fmt.Sprintf("http://0.0.0.0:%d/png", privatePort), msgBlocked},
		{"ErrRedirectToPrivate", f.public.URL + "/to-private", msgBlocked},
		{"ErrRedirectToLocalhost", f.public.URL + "/to-localhost", msgBlocked},
		{"ErrRedirectToMetadata", f.public.URL + "/to-metadata", msgBlocked},
		{"ErrRedirectToFTP", f.public.URL + "/to-ftp", "was redirected to a URL that is not http(s)"},
		{"ErrRedirectToFile", f.public.URL + "/to-file", "was redirected to a URL that is not http(s)"},
		{"ErrTooManyRedirects", f.public.URL + "/chain/6", "could not be fetched (too many redirects)"},
		{"ErrSchemeFTP", "ftp://example.com/a.png", msgSchemes},
		{"ErrSchemeFile", "file:///etc/passwd", msgSchemes},
		{"ErrRelative", "/png", msgSchemes},
		{"ErrUserinfo", "http://user:pw@" + f.public.Listener.Addr().String() + "/png", "must not contain a user name or password"},
		{"ErrDecimalHost", "http://2130706433/png", "must have a valid host name"},
		{"ErrNotImage", f.public.URL + "/html", msgNotImage},
		{"ErrVideo", f.public.URL + "/mp4", msgNotImage},
		{"ErrDecompressionBomb", f.public.URL + "/bomb", "is larger than 40 megapixels"},
		{"ErrNotFound", f.public.URL + "/missing", "could not be fetched (HTTP 404)"},
		{"ErrBadGateway", f.public.URL + "/broken", "could not be fetched (HTTP 502)"},
		{"ErrTooLargeWithLength", f.public.URL + "/big", "is larger than 64 KB"},
		{"ErrTooLargeDeclared", f.public.URL + "/declared-big", "is larger than 64 KB"},
		{"ErrTooLargeEndless", f.public.URL + "/endless", "is larger than 64 KB"},
		{"ErrDataURLType", "data:text/html;base64," + base64.StdEncoding.EncodeToString(f.png), "must be a data:image/png, image/jpeg or image/webp URL"},
		{"ErrDataURLNotImage", "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("<html>")), msgNotImage},
		{"ErrDataURLTooLarge", "data:image/png;base64," + base64.StdEncoding.EncodeToString(make([]byte, testMaxBytes+1)), "is larger than 64 KB"},
		{"ErrDataURLMalformed", "data:image/png;base64,not base64!", "is not a valid data: URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := f.client.FetchImage(context.Background(), tt.url)
			if img != nil {
				t.Fatalf("FetchImage() = %s %dx%d; want an error", img.ContentType, img.Width, img.Height)
			}
			wantRefusal(t, err, tt.msg)
			if tt.msg == msgBlocked && !errors.Is(err, ErrBlocked) {
				t.Fatalf("error %v does not wrap ErrBlocked", err)
			}
		})
	}
	if n := f.private.hits.Load(); n != 0 {
		t.Fatalf("the private server received %d requests; want 0", n)
	}
}

func TestFetchImageIPv6Loopback(t *testing.T) {
	t.Parallel()
	png := encodePNG(t, 8, 8)
	s := startServer(t, "[::1]:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(png) }))
	c := New(Options{Allow: []netip.Prefix{publicPrefix}})
	_, err := c.FetchImage(context.Background(), s.URL+"/png")
	wantRefusal(t, err, msgBlocked)
	if n := s.hits.Load(); n != 0 {
		t.Fatalf("the [::1] server received %d requests; want 0", n)
	}
}

// TestFetchImageResolvedNames checks the dial-time guard on names: the URL
// holds no IP literal for the syntactic check to catch, so only the check
// on the dialled address stands between the fetch and the target.
func TestFetchImageResolvedNames(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxBytes: testMaxBytes})
	publicPort := f.public.Listener.Addr().(*net.TCPAddr).Port
	privatePort := f.private.Listener.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name  string
		addrs []string
		port  int
		msg   string // empty: fetched
	}{
		{"Public", []string{"127.0.0.2"}, publicPort, ""},
		{"ErrLoopback", []string{"127.0.0.1"}, privatePort, msgBlocked},
		{"ErrPrivate", []string{"10.0.0.1"}, privatePort, msgBlocked},
		{"ErrMetadata", []string{"169.254.169.254"}, 80, msgBlocked},
		{"ErrCGNAT", []string{"100.64.0.1"}, 80, msgBlocked},
		{"ErrULA", []string{"fd00::1"}, 80, msgBlocked},
		{"ErrLinkLocalIPv6", []string{"fe80::1"}, 80, msgBlocked},
		{"ErrNAT64OfLoopback", []string{"64:ff9b::7f00:1"}, privatePort, msgBlocked},
		{"ErrMappedLoopback", []string{"::ffff:127.0.0.1"}, privatePort, msgBlocked},
		{"ErrEveryAddressPrivate", []string{"127.0.0.1", "10.0.0.1", "::1"}, privatePort, msgBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{Allow: []netip.Prefix{publicPrefix}})
			dns := &fakeDNS{}
			dns.set(tt.addrs...)
			c.dialer.Resolver = dns.resolver()
			img, err := c.FetchImage(context.Background(), fmt.Sprintf("http://images.example.test:%d/png", tt.port))
			if dns.queries.Load() == 0 {
				t.Fatal("the fake DNS server was never asked; the test proves nothing")
			}
			if tt.msg == "" {
				if err != nil || img.Width != 64 {
					t.Fatalf("FetchImage() = %v, %v; want the 64x48 PNG", img, err)
				}
				return
			}
			wantRefusal(t, err, tt.msg)
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("error %v does not wrap ErrBlocked", err)
			}
		})
	}
	if n := f.private.hits.Load(); n != 0 {
		t.Fatalf("the private server received %d requests; want 0", n)
	}
}

// TestFetchImageDNSRebinding has a name answer with a public address, then
// with a private one, as a rebinding attacker's DNS server would between a
// check and a use. The second dial must be refused.
func TestFetchImageDNSRebinding(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	port := f.public.Listener.Addr().(*net.TCPAddr).Port
	// The same port on both addresses, so that only the address differs.
	rebound := startServer(t, fmt.Sprintf("127.0.0.1:%d", port), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(f.png)
	}))
	url := fmt.Sprintf("http://rebind.example.test:%d/png", port)

	f.dns.set("127.0.0.2")
	if _, err := f.client.FetchImage(context.Background(), url); err != nil {
		t.Fatalf("first fetch (public answer): %v", err)
	}
	f.dns.set("127.0.0.1")
	// A kept-alive connection to the checked address may be reused safely;
	// dropping it forces the new dial an attacker is after.
	f.client.transport.CloseIdleConnections()
	_, err := f.client.FetchImage(context.Background(), url)
	wantRefusal(t, err, msgBlocked)
	if n := rebound.hits.Load(); n != 0 {
		t.Fatalf("the private server received %d requests; want 0", n)
	}
}

func TestFetchImageHTTPS(t *testing.T) {
	t.Parallel()
	png := encodePNG(t, 5, 7)
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(png) }))
	s.Listener.Close()
	s.Listener = l
	s.StartTLS()
	t.Cleanup(s.Close)

	c := New(Options{Allow: []netip.Prefix{publicPrefix}})
	c.transport.TLSClientConfig = s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	dns := &fakeDNS{}
	dns.set("127.0.0.2")
	c.dialer.Resolver = dns.resolver()
	// httptest's certificate is valid for example.com.
	img, err := c.FetchImage(context.Background(), fmt.Sprintf("https://example.com:%d/a.png", l.Addr().(*net.TCPAddr).Port))
	if err != nil || img.Width != 5 || img.Height != 7 {
		t.Fatalf("FetchImage() = %v, %v; want the 5x7 PNG", img, err)
	}
}

func TestFetchImageTimeout(t *testing.T) {
	t.Parallel()
	// Short so the test is quick; the fetch is blocked forever, so no
	// scheduling delay can make it succeed.
	f := newFixture(t, Options{Timeout: 200 * time.Millisecond})
	for _, path := range []string{"/slow", "/slow-body"} {
		t.Run(path, func(t *testing.T) {
			_, err := f.client.FetchImage(context.Background(), f.public.URL+path)
			wantRefusal(t, err, "could not be fetched in time")
		})
	}
}

func TestFetchImageCanceled(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client.FetchImage(ctx, f.public.URL+"/png")
	wantRefusal(t, err, "could not be fetched")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v does not wrap context.Canceled", err)
	}
}

func TestFetchImageDataURL(t *testing.T) {
	t.Parallel()
	c := New(Options{})
	png, jpg, webp := encodePNG(t, 3, 4), encodeJPEG(t, 5, 6), webpHeader(7, 8)
	tests := []struct {
		name string
		url  string
		want tryon.Image
	}{
		{"PNG", "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), tryon.Image{Bytes: png, ContentType: "image/png", Width: 3, Height: 4}},
		{"JPEGURLSafeUnpadded", "data:image/jpeg;base64," + base64.RawURLEncoding.EncodeToString(jpg), tryon.Image{Bytes: jpg, ContentType: "image/jpeg", Width: 5, Height: 6}},
		{"WebP", "data:image/webp;base64," + base64.StdEncoding.EncodeToString(webp), tryon.Image{Bytes: webp, ContentType: "image/webp", Width: 7, Height: 8}},
		// The declared type must be an accepted one; which one, the bytes decide.
		{"DeclaredTypeWrong", "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(png), tryon.Image{Bytes: png, ContentType: "image/png", Width: 3, Height: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := c.FetchImage(context.Background(), tt.url)
			if err != nil {
				t.Fatalf("FetchImage() error = %v", err)
			}
			if !bytes.Equal(img.Bytes, tt.want.Bytes) || img.ContentType != tt.want.ContentType ||
				img.Width != tt.want.Width || img.Height != tt.want.Height {
				t.Fatalf("FetchImage() = %s %dx%d; want %s %dx%d",
					img.ContentType, img.Width, img.Height, tt.want.ContentType, tt.want.Width, tt.want.Height)
			}
		})
	}
}

func TestFetchImageMaxPixels(t *testing.T) {
	t.Parallel()
	c := New(Options{MaxPixels: 100})
	for _, tt := range []struct {
		w, h int
		ok   bool
	}{{10, 10, true}, {10, 11, false}, {101, 1, false}} {
		_, err := c.FetchImage(context.Background(), "data:image/png;base64,"+base64.StdEncoding.EncodeToString(encodePNG(t, tt.w, tt.h)))
		if tt.ok && err != nil {
			t.Errorf("%dx%d: FetchImage() error = %v; want nil", tt.w, tt.h, err)
		}
		if !tt.ok {
			wantRefusal(t, err, "is larger than 100 pixels")
		}
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{MaxBytes: testMaxBytes})

	body, contentType, err := f.client.Get(context.Background(), f.public.URL+"/text", 0)
	if err != nil || string(body) != "just text" || contentType != "text/plain; charset=utf-8" {
		t.Fatalf("Get() = %q, %q, %v; want \"just text\", text/plain", body, contentType, err)
	}
	body, _, err = f.client.Get(context.Background(), f.public.URL+"/exact", 0)
	if err != nil || len(body) != testMaxBytes {
		t.Fatalf("Get() of exactly the limit = %d bytes, %v; want %d bytes", len(body), err, testMaxBytes)
	}
	body, contentType, err = f.client.Get(context.Background(), "data:video/mp4;base64,AAAAGGZ0eXA=", 0)
	if err != nil || string(body) != "\x00\x00\x00\x18ftyp" || contentType != "video/mp4" {
		t.Fatalf("Get(data:) = %q, %q, %v; want the decoded bytes and video/mp4", body, contentType, err)
	}

	tests := []struct {
		name     string
		url      string
		maxBytes int64
		msg      string
	}{
		{"ErrSmallerLimit", f.public.URL + "/text", 4, "is larger than 4 bytes"},
		{"ErrSmallerLimitDataURL", "data:text/plain;base64,aGVsbG8=", 4, "is larger than 4 bytes"},
		{"ErrEndless", f.public.URL + "/endless", 0, "is larger than 64 KB"},
		{"ErrPrivate", f.private.URL + "/png", 0, msgBlocked},
		{"ErrRedirectToPrivate", f.public.URL + "/to-private", 0, msgBlocked},
		{"ErrNotFound", f.public.URL + "/missing", 0, "could not be fetched (HTTP 404)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _, err := f.client.Get(context.Background(), tt.url, tt.maxBytes)
			if body != nil {
				t.Fatalf("Get() = %d bytes; want none", len(body))
			}
			wantRefusal(t, err, tt.msg)
		})
	}
	if n := f.private.hits.Load(); n != 0 {
		t.Fatalf("the private server received %d requests; want 0", n)
	}
}

func TestHTTPClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	hc := f.client.HTTPClient()
	if hc.Transport.(*http.Transport).Proxy != nil {
		t.Fatal("the transport uses a proxy; want none, so the dial check sees the real destination")
	}

	t.Run("Delivers", func(t *testing.T) {
		resp, err := hc.Post(f.public.URL+"/png", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// The mux answers POST to a GET route with 405: the request arrived.
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status = %d; want %d", resp.StatusCode, http.StatusMethodNotAllowed)
		}
	})
	t.Run("RedirectNotFollowed", func(t *testing.T) {
		resp, err := hc.Get(f.public.URL + "/to-private")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status = %d; want %d", resp.StatusCode, http.StatusFound)
		}
	})
	// The webhook client has no URL check in front of it: these reach the
	// dialer, whose refusal must come before any connection attempt (a
	// connect to 10.0.0.1 would time out or be refused, not wrap ErrBlocked).
	for _, target := range []string{
		f.private.URL + "/hook",
		fmt.Sprintf("http://localhost:%d/hook", f.private.Listener.Addr().(*net.TCPAddr).Port),
		"http://10.0.0.1/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://100.64.0.1/hook",
		"http://[fd00::1]/hook",
		"http://[::ffff:127.0.0.1]:1/hook",
	} {
		t.Run("ErrBlocked "+target, func(t *testing.T) {
			resp, err := hc.Post(target, "application/json", strings.NewReader("{}"))
			if err == nil {
				resp.Body.Close()
				t.Fatalf("POST %s: status %d; want a refusal", target, resp.StatusCode)
			}
			if !errors.Is(err, ErrBlocked) {
				t.Fatalf("POST %s: error = %v; want one wrapping ErrBlocked", target, err)
			}
		})
	}
	if n := f.private.hits.Load(); n != 0 {
		t.Fatalf("the private server received %d requests; want 0", n)
	}
}

// TestReadStopsAtLimit swaps in a transport whose body never ends and
// counts what is taken from it: the fetcher may read the limit and one byte
// more, to know the body is too large, and nothing after.
func TestReadStopsAtLimit(t *testing.T) {
	t.Parallel()
	const limit = 1 << 10
	c := New(Options{MaxBytes: limit})
	body := &endlessBody{}
	c.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, ContentLength: -1, Body: body, Header: http.Header{}, Request: r}, nil
	})
	_, _, err := c.Get(context.Background(), "https://example.com/output.mp4", 0)
	wantRefusal(t, err, "is larger than 1 KB")
	if n := body.read.Load(); n > limit+1 {
		t.Fatalf("read %d bytes of the body; want at most %d", n, limit+1)
	}
	if !body.closed.Load() {
		t.Fatal("the body was not closed")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type endlessBody struct {
	read   atomic.Int64
	closed atomic.Bool
}

func (b *endlessBody) Read(p []byte) (int, error) {
	b.read.Add(int64(len(p)))
	return len(p), nil
}

func (b *endlessBody) Close() error {
	b.closed.Store(true)
	return nil
}
