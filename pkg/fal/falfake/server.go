// Package falfake is a local server speaking fal.run's wire format, for tests.
//
// It serves the four Nano Banana endpoints the fal provider calls, checks the
// "Authorization: Key <Key>" header and the request body the way fal does, and
// answers with images[0].url pointing at a real PNG it serves itself under
// /files/. Failures are chosen by tokens in the prompt (see Scenario), so a
// test anywhere up the stack, even one going through the public API, can pick
// one by what it asks for.
package falfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
)

// DefaultKey is the key New requires until a test sets Server.Key.
const DefaultKey = "falfake-key-id:falfake-key-secret"

// maxBody bounds a request body; two inlined 10 MB photos fit.
const maxBody = 64 << 20

// Server is a running fake of fal.run. Its methods are safe for concurrent use.
type Server struct {
	// Key is the key every request must carry as "Authorization: Key <Key>".
	// Set it before the first request, if at all.
	Key string
	// RetryAfter is the Retry-After header sent with [fal:429] answers; ""
	// sends none. Set it before the first request, if at all.
	RetryAfter string

	srv       *httptest.Server
	done      chan struct{} // closed by Close, to release [fal:hang] requests
	closeOnce sync.Once

	mu       sync.Mutex
	calls    map[string]int    // model calls by endpoint id
	fileGets int               // GET /files/... requests
	last     Request           // the most recent model call
	files    map[string][]byte // served under /files/{name}
	flaky    map[string]bool   // prompts whose one-time failure ([fal:flaky], [fal:needs_retry]) was already served
	seq      int

	fashnScenario Scenario // fashn.go
	fashnBodies   [][]byte
}

// Request is one model call as the fake received it.
type Request struct {
	Endpoint      string // endpoint id, e.g. "fal-ai/nano-banana/edit"
	Authorization string // the Authorization header as sent
	Body          []byte
}

// Endpoints lists the endpoint ids the fake serves.
var Endpoints = []string{
	"fal-ai/nano-banana",
	"fal-ai/nano-banana/edit",
	"fal-ai/nano-banana-pro",
	"fal-ai/nano-banana-pro/edit",
}

// New starts a fake on a loopback port. Close it when done.
func New() *Server {
	s := &Server{
		Key:        DefaultKey,
		RetryAfter: "2",
		done:       make(chan struct{}),
		calls:      make(map[string]int),
		files:      make(map[string][]byte),
		flaky:      make(map[string]bool),
	}
	mux := http.NewServeMux()
	for _, ep := range Endpoints {
		mux.Handle("POST /"+ep, s.handleModel(ep))
	}
	mux.HandleFunc("POST /"+FashnEndpoint, s.handleFashn)
	mux.HandleFunc("GET /files/{name}", s.handleFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Application not found"})
	})
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the base URL to use as the provider's BaseURL.
func (s *Server) URL() string { return s.srv.URL }

// Close releases any hanging request and shuts the server down.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// Calls returns how many model calls reached endpoint (an id from Endpoints),
// whatever their outcome.
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[strings.Trim(endpoint, "/")]
}

// TotalCalls returns how many model calls reached the fake in all.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		n += c
	}
	return n
}

// FileRequests returns how many output downloads reached the fake.
func (s *Server) FileRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fileGets
}

// LastRequest returns the most recent model call; its Body is a copy.
func (s *Server) LastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.last
	r.Body = append([]byte(nil), r.Body...)
	return r
}

// handleModel serves one endpoint. The order follows fal's layers: the
// gateway checks the key, platform failures (rate limits, no runner) come
// next, then the model validates and moderates its input, then it runs.
func (s *Server) handleModel(endpoint string) http.Handler {
	edit := strings.HasSuffix(endpoint, "/edit")
	pro := strings.Contains(endpoint, "nano-banana-pro")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		s.record(endpoint, r.Header.Get("Authorization"), body)
		if err != nil {
			return
		}
		var in input
		if !s.admit(w, r, body, &in) {
			return
		}
		sc := ScenarioOf(in.Prompt)
		if s.platformFailure(w, r, sc, in.Prompt) {
			return
		}
		if items := validate(in, edit); len(items) > 0 {
			writeErrors(w, http.StatusUnprocessableEntity, items...)
			return
		}
		s.run(w, sc, in, pro)
	})
}

// admit makes fal's checks that come before the input is read (the body's
// size, the key, the JSON), answering a failure itself, and reports whether
// body was read into in.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, body []byte, in any) bool {
	if len(body) > maxBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{"detail": "Request body too large"})
		return false
	}
	if r.Header.Get("Authorization") != "Key "+s.Key {
		writeDetail(w, http.StatusUnauthorized, "No user found for Key ID and Secret")
		return false
	}
	if err := json.Unmarshal(body, in); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, errorItem{
			Loc: []any{"body"}, Msg: "Input should be a valid JSON object: " + err.Error(), Type: "json_invalid",
		})
		return false
	}
	return true
}

func (s *Server) record(endpoint, auth string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[endpoint]++
	s.last = Request{Endpoint: endpoint, Authorization: auth, Body: body}
}

// handleFile serves a rendered output, as fal's CDN would.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	s.fileGets++
	data, ok := s.files[name]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	ct := "image/png"
	if strings.HasSuffix(name, ".jpeg") {
		ct = "image/jpeg"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(data)
}

// store keeps an output and returns the name it is served under.
func (s *Server) store(data []byte, ext string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	name := "out-" + strconv.Itoa(s.seq) + "." + ext
	s.files[name] = data
	return name
}

// nextName names an output that will never be stored, for [fal:missing_file].
func (s *Server) nextName(ext string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return "missing-" + strconv.Itoa(s.seq) + "." + ext
}

// writeJSON sets the headers before the status, as net/http requires.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeDetail answers with fal's platform error shape: "detail" as a string.
func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]any{"detail": detail})
}

// writeErrors answers with fal's model error shape: "detail" as a list.
func writeErrors(w http.ResponseWriter, status int, items ...errorItem) {
	for i := range items {
		if items[i].URL == "" && items[i].Type != "" {
			items[i].URL = "https://docs.fal.ai/errors#" + items[i].Type
		}
	}
	writeJSON(w, status, map[string]any{"detail": items})
}
