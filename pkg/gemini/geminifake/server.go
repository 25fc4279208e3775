// Package geminifake is a local server speaking the Gemini API wire format,
// for tests.
//
// It serves generateContent (Nano Banana images), predictLongRunning with
// operation polling (Veo), and the key-protected video download that
// redirects to storage. Requests must carry x-goog-api-key equal to Key();
// both camelCase and snake_case field spellings are accepted, as by Google's
// proto-JSON parser, but unknown fields are refused, so a client that sends
// a misspelt field fails here as it would upstream.
//
// A test picks the upstream's behaviour with a token anywhere in the prompt
// text, so that tests driving the whole HTTP API can choose it too:
//
//	[gemini:thought]      success with a thought image and text before the final image
//	[gemini:text_only]    200, STOP with a text part and no image
//	[gemini:block]        200, promptFeedback.blockReason PROHIBITED_CONTENT, no candidates
//	[gemini:image_safety] 200, finishReason IMAGE_SAFETY
//	[gemini:no_image]     200, finishReason NO_IMAGE
//	[gemini:429]          429 RESOURCE_EXHAUSTED with QuotaFailure, Help and RetryInfo "2s"
//	[gemini:429_daily]    429 RESOURCE_EXHAUSTED whose quotaId is a PerDay quota
//	[gemini:429_daily_errorinfo] 429 whose per-day quota is named only in ErrorInfo.metadata
//	[gemini:block_message] 200, no candidates, promptFeedback with only blockReasonMessage
//	[gemini:503]          503 UNAVAILABLE "The model is overloaded. Please try again later."
//	[gemini:500]          500 INTERNAL
//	[gemini:403]          403 PERMISSION_DENIED
//	[gemini:404]          404 NOT_FOUND for the model
//	[gemini:malformed]    200 with a truncated JSON body
//	[gemini:hang]         never answers; returns when the client goes away
//	[gemini:flaky]        503 on the first request with this prompt, then as without the token
//	[veo:polls=N]         the operation answers done:false N times before it is done (default 0)
//	[veo:filtered]        done with raiMediaFilteredCount 1 and a reason
//	[veo:error]           done with error {code 13, "internal error"}
//	[veo:error_code=N]    done with error {code N} (8 exhausted, 14 unavailable, 3 invalid argument)
//	[veo:download_404]    done, but the video download answers 404 (expired)
//	[veo:big]             done, and the video has the size set by SetBigVideoSize
//
// An operation's :cancel (POST .../operations/{id}:cancel) stops a running
// one: it then polls as done with error code 1, CANCELLED (cancel.go).
//
// The [gemini:...] failure tokens also apply to predictLongRunning. Without
// a token, generateContent answers a real PNG whose pixel size is the one
// Google documents for the requested model, aspectRatio and imageSize
// (docs/PROVIDERS.md §1.6), and Veo answers a small MP4-looking file.
package geminifake

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// DefaultKey is the API key a new Server accepts.
const DefaultKey = "fake-gemini-key"

// DefaultBigVideoSize is the size of a [veo:big] video until SetBigVideoSize.
const DefaultBigVideoSize = 2 << 20

// Route names, for Count, Last and LastBody.
const (
	RouteGenerateContent    = "generateContent"
	RoutePredictLongRunning = "predictLongRunning"
	RouteOperation          = "operation"
	RouteDownload           = "download"
	RouteStorage            = "storage"
)

// Request is a request as the server received it.
type Request struct {
	Method string
	// URL is the path and query.
	URL    string
	Header http.Header
	Body   []byte
}

// Server is a fake Gemini API. Its methods are safe for concurrent use.
type Server struct {
	srv     *httptest.Server
	closing chan struct{}
	close   sync.Once

	mu       sync.Mutex
	key      string
	bigVideo int
	counts   map[string]int
	last     map[string]Request
	attempts map[string]int      // requests seen per route and prompt, for [gemini:flaky]
	ops      map[string]*videoOp // by operation id, shared by every poller
	files    map[string]*videoOp // by file id
}

// New starts a Server on a loopback port. Close it when done.
func New() *Server {
	s := &Server{
		closing:  make(chan struct{}),
		key:      DefaultKey,
		bigVideo: DefaultBigVideoSize,
		counts:   make(map[string]int),
		last:     make(map[string]Request),
		attempts: make(map[string]int),
		ops:      make(map[string]*videoOp),
		files:    make(map[string]*videoOp),
	}
	mux := http.NewServeMux()
	// The model and method share one path segment ("gemini-2.5-flash-image:generateContent").
	mux.Handle("POST /v1beta/models/{call}", http.HandlerFunc(s.handleModelCall))
	mux.Handle("GET /v1beta/models/{model}/operations/{id}", s.record(RouteOperation, s.handleOperation))
	mux.Handle("POST /v1beta/models/{model}/operations/{id}", s.record(RouteCancel, s.handleCancel))
	mux.Handle("GET /v1beta/files/{file}", s.record(RouteDownload, s.handleDownload))
	mux.Handle("GET /storage/videos/{file}", s.record(RouteStorage, s.handleStorage))
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the server's base URL, to use as gemini.Config.BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server, releasing any [gemini:hang] requests first.
func (s *Server) Close() {
	s.close.Do(func() { close(s.closing) })
	s.srv.Close()
}

// Key returns the API key the server accepts.
func (s *Server) Key() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// SetKey changes the API key the server accepts.
func (s *Server) SetKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// SetBigVideoSize sets the size in bytes of the video a [veo:big] operation
// serves, so a test can put it just above its client's cap.
func (s *Server) SetBigVideoSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bigVideo = n
}

// Count returns how many requests reached route, whatever the answer.
func (s *Server) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Last returns the most recent request to route, and false if none came.
func (s *Server) Last(route string) (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.last[route]
	return r, ok
}

// LastBody returns the body of the most recent request to route, or nil.
func (s *Server) LastBody(route string) []byte {
	r, _ := s.Last(route)
	return r.Body
}

// record counts and keeps each request to a route before handling it, so
// tests can assert on requests the fake refused.
func (s *Server) record(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.counts[route]++
		s.last[route] = Request{Method: r.Method, URL: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body}
		s.mu.Unlock()
		h(w, r)
	})
}

// handleModelCall dispatches POST models/{model}:{method}.
func (s *Server) handleModelCall(w http.ResponseWriter, r *http.Request) {
	call := r.PathValue("call")
	i := strings.LastIndexByte(call, ':')
	if i <= 0 {
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
		return
	}
	model, method := call[:i], call[i+1:]
	switch method {
	case "generateContent":
		s.record(RouteGenerateContent, func(w http.ResponseWriter, r *http.Request) {
			s.generateContent(w, r, model)
		}).ServeHTTP(w, r)
	case "predictLongRunning":
		s.record(RoutePredictLongRunning, func(w http.ResponseWriter, r *http.Request) {
			s.predictLongRunning(w, r, model)
		}).ServeHTTP(w, r)
	default:
		writeStatus(w, http.StatusNotFound, "NOT_FOUND", "Method not found.")
	}
}

// authorized reports whether r carries the key. Only the header counts: a
// key in the query string is a leak the client must not make.
func (s *Server) authorized(r *http.Request) bool {
	got := r.Header.Get("x-goog-api-key")
	return got != "" && got == s.Key()
}

// hang blocks a [gemini:hang] request until its client gives up or the
// server closes.
func (s *Server) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-s.closing:
	}
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
