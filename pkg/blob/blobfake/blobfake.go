// Package blobfake is a fake Vercel Blob API for tests. It speaks the upload
// and delete protocols of the official @vercel/blob client (docs/PROVIDERS.md, "Vercel Blob"),
// refuses any request that strays from it, keeps the objects in memory and
// serves them back at the URLs it hands out, so a test can read what a real
// store would serve.
package blobfake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// StoreID is the fake store's ID, the fourth "_" field of its token.
const StoreID = "FakeStore0123456"

// Fault is a failure the fake answers to an upload or a delete instead of
// doing it.
// The statuses are plausible rather than documented: the official client
// decides by the JSON code alone, and package blob must do the same.
type Fault string

// The faults a test can inject with Inject.
const (
	Forbidden          Fault = "forbidden"           // 403, as for a revoked token
	StoreNotFound      Fault = "store_not_found"     // 404, as for a deleted store
	FileTooLarge       Fault = "file_too_large"      // 400, as past the store's size limit
	ServiceUnavailable Fault = "service_unavailable" // 503
	RateLimited        Fault = "rate_limited"        // 429 with a retry-after header
	BadGateway         Fault = "bad_gateway"         // 502 with an HTML body, as from a proxy
	// Pass lets a request through as usual: Inject(Pass, Forbidden) fails
	// the second upload, not the first.
	Pass Fault = ""
	// Hang holds the request until the client gives up or the server
	// closes, announcing itself on Hanging first.
	Hang Fault = "hang"
)

// Request is an upload as the fake received it, kept whether or not it
// succeeded.
type Request struct {
	Pathname string
	Header   http.Header
	Body     []byte
}

// Blob is a stored object, as the fake serves it back.
type Blob struct {
	Pathname     string
	ContentType  string
	CacheControl string
	Body         []byte
	ETag         string
}

// Server is a running fake. Its URL is the API URL to give the client.
type Server struct {
	*httptest.Server
	// Token is the read-write token the fake accepts.
	Token string

	mu         sync.Mutex
	blobs      map[string]Blob
	requests   []Request
	deletes    []DeleteRequest
	faults     []Fault
	retryAfter int
	maxBytes   int
	hanging    chan struct{}
	closing    chan struct{}
}

// New starts a fake that is closed when tb ends. Its token has a fresh
// random secret, so a test cannot pass with a token written into it.
func New(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		Token:      "vercel_blob_rw_" + StoreID + "_" + randomString(30),
		blobs:      make(map[string]Blob),
		retryAfter: 1,
		maxBytes:   8 << 20,
		hanging:    make(chan struct{}, 16),
		closing:    make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /{$}", s.handlePut)
	mux.HandleFunc("POST /delete", s.handleDelete)
	mux.HandleFunc("GET /{pathname...}", s.handleGet)
	s.Server = httptest.NewServer(mux)
	tb.Cleanup(func() {
		// Hanging handlers must return before Close, which waits for them.
		close(s.closing)
		s.Server.Close()
	})
	return s
}

// Inject queues faults: each upload takes the next one instead of being
// stored, until the queue is empty. Inject(ServiceUnavailable) is "fail once,
// then succeed".
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// SetRetryAfter sets the retry-after, in seconds, of RateLimited answers
// (1 by default).
func (s *Server) SetRetryAfter(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = seconds
}

// SetMaxBytes sets the largest upload the store takes (8 MiB by default);
// larger ones get file_too_large.
func (s *Server) SetMaxBytes(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxBytes = n
}

// Requests returns every upload received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Blob returns the object stored at pathname, the suffixed pathname of the
// upload's answer.
func (s *Server) Blob(pathname string) (Blob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.blobs[pathname]
	return b, ok
}

// Hanging receives once for each request held by a Hang fault, once the
// request has reached the fake, so a test can cancel it mid-flight without
// guessing at timing.
func (s *Server) Hanging() <-chan struct{} { return s.hanging }

// answer is the success body of an upload.
type answer struct {
	URL                string `json:"url"`
	DownloadURL        string `json:"downloadUrl"`
	Pathname           string `json:"pathname"`
	ContentType        string `json:"contentType"`
	ContentDisposition string `json:"contentDisposition"`
	ETag               string `json:"etag"`
}

func (s *Server) handlePut(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	maxBytes := s.maxBytes
	s.mu.Unlock()
	// One byte past the limit is enough to know the limit was passed.
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(maxBytes)+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "could not read the body")
		return
	}
	pathname := r.URL.Query().Get("pathname")

	s.mu.Lock()
	s.requests = append(s.requests, Request{Pathname: pathname, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()

	if status, code, msg := s.check(r, pathname); code != "" {
		writeError(w, status, code, msg)
		return
	}
	if s.fail(w, r, maxBytes) {
		return
	}
	if len(body) > maxBytes {
		writeError(w, http.StatusBadRequest, "file_too_large", "the file length cannot be greater than "+strconv.Itoa(maxBytes)+" bytes")
		return
	}
	s.store(w, r, pathname, body)
}

// fail answers the next queued fault, if any, and reports whether it did.
// Faults are taken only by valid requests, so a test injecting one still
// learns whether the client spoke the protocol.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, maxBytes int) bool {
	s.mu.Lock()
	var fault Fault
	if len(s.faults) > 0 {
		fault, s.faults = s.faults[0], s.faults[1:]
	}
	retryAfter := s.retryAfter
	s.mu.Unlock()
	switch fault {
	case "":
		return false
	case Forbidden:
		writeError(w, http.StatusForbidden, "forbidden", "Access denied, please provide a valid token for this resource.")
	case StoreNotFound:
		writeError(w, http.StatusNotFound, "store_not_found", "This store does not exist.")
	case FileTooLarge:
		writeError(w, http.StatusBadRequest, "file_too_large", "the file length cannot be greater than "+strconv.Itoa(maxBytes)+" bytes")
	case ServiceUnavailable:
		writeError(w, http.StatusServiceUnavailable, "service_unavailable", "The blob service is currently not available.")
	case RateLimited:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		writeError(w, http.StatusTooManyRequests, "rate_limited", "Too many requests.")
	case BadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
	case Hang:
		select {
		case s.hanging <- struct{}{}:
		case <-s.closing:
			return true
		}
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	}
	return true
}

// check validates an upload the way the protocol requires, returning
// the error to answer or an empty code. Every header is checked, so that a
// client test passing against the fake means the client sent what the real
// API wants.
func (s *Server) check(r *http.Request, pathname string) (status int, code, msg string) {
	if status, code, msg := s.checkAuth(r); code != "" {
		return status, code, msg
	}
	h := r.Header
	switch {
	case h.Get("X-Vercel-Blob-Access") != "public":
		return http.StatusBadRequest, "bad_request", `x-vercel-blob-access must be "public"`
	case !isFlag(h.Values("X-Add-Random-Suffix")):
		return http.StatusBadRequest, "bad_request", "x-add-random-suffix must be 0 or 1"
	case !isFlag(h.Values("X-Allow-Overwrite")):
		return http.StatusBadRequest, "bad_request", "x-allow-overwrite must be 0 or 1"
	case pathname == "" || len(pathname) > 950 || strings.HasPrefix(pathname, "/"):
		return http.StatusBadRequest, "bad_request", "pathname must be 1 to 950 bytes, not starting with /"
	}
	if ct := h.Get("X-Content-Type"); ct != "" {
		if _, _, err := mime.ParseMediaType(ct); err != nil {
			return http.StatusBadRequest, "bad_request", "x-content-type is not a media type"
		}
	}
	if v := h.Values("X-Cache-Control-Max-Age"); len(v) > 0 {
		// The API refuses caches shorter than a minute.
		if n, err := strconv.Atoi(v[0]); len(v) != 1 || err != nil || n < 60 {
			return http.StatusBadRequest, "bad_request", "x-cache-control-max-age must be a number of seconds, at least 60"
		}
	}
	return 0, "", ""
}

// checkAuth checks what every API request carries: the token, the API
// version and the store ID.
func (s *Server) checkAuth(r *http.Request) (status int, code, msg string) {
	h := r.Header
	bearer, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok || bearer == "" {
		return http.StatusForbidden, "forbidden", "Access denied, please provide a valid token for this resource."
	}
	parts := strings.SplitN(bearer, "_", 5)
	if len(parts) == 5 && bearer != s.Token && parts[3] != StoreID {
		// A well-formed token of another store: what a deleted store's
		// token gets.
		return http.StatusNotFound, "store_not_found", "This store does not exist."
	}
	if bearer != s.Token {
		return http.StatusForbidden, "forbidden", "Access denied, please provide a valid token for this resource."
	}
	switch {
	case h.Get("X-Api-Version") != "12":
		return http.StatusBadRequest, "bad_request", "x-api-version must be 12, got " + strconv.Quote(h.Get("X-Api-Version"))
	case h.Get("X-Vercel-Blob-Store-Id") != StoreID:
		return http.StatusBadRequest, "bad_request", "x-vercel-blob-store-id does not match the token's store"
	}
	return 0, "", ""
}

// isFlag reports whether an optional 0/1 header is absent or well-formed.
func isFlag(v []string) bool {
	return len(v) == 0 || len(v) == 1 && (v[0] == "0" || v[0] == "1")
}

func (s *Server) store(w http.ResponseWriter, r *http.Request, pathname string, body []byte) {
	h := r.Header
	if h.Get("X-Add-Random-Suffix") == "1" {
		ext := path.Ext(pathname)
		pathname = strings.TrimSuffix(pathname, ext) + "-" + randomString(30) + ext
	}
	contentType := h.Get("X-Content-Type")
	if contentType == "" {
		// As the real API does, guess from the name.
		contentType = mime.TypeByExtension(path.Ext(pathname))
		if contentType == "" {
			contentType = "application/octet-stream"
		}
	}
	maxAge := h.Get("X-Cache-Control-Max-Age")
	if maxAge == "" {
		maxAge = "2592000"
	}
	sum := sha256.Sum256(body)
	b := Blob{
		Pathname:     pathname,
		ContentType:  contentType,
		CacheControl: "public, max-age=" + maxAge,
		Body:         body,
		ETag:         `"` + hex.EncodeToString(sum[:16]) + `"`,
	}

	s.mu.Lock()
	_, exists := s.blobs[pathname]
	if exists && h.Get("X-Allow-Overwrite") != "1" {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "bad_request", "This blob already exists, use allowOverwrite to overwrite it.")
		return
	}
	s.blobs[pathname] = b
	s.mu.Unlock()

	blobURL := s.URL + (&url.URL{Path: "/" + pathname}).EscapedPath()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(answer{
		URL:                blobURL,
		DownloadURL:        blobURL + "?download=1",
		Pathname:           pathname,
		ContentType:        contentType,
		ContentDisposition: fmt.Sprintf("inline; filename=%q", path.Base(pathname)),
		ETag:               b.ETag,
	})
}

// DeleteRequest is a delete as the fake received it, kept whether or not
// it succeeded.
type DeleteRequest struct {
	Header http.Header
	// URLs is the body's "urls", or nil when the body was not the JSON
	// the protocol asks for.
	URLs []string
}

// Deletes returns every delete request received so far, in order.
func (s *Server) Deletes() []DeleteRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]DeleteRequest(nil), s.deletes...)
}

// handleDelete removes blobs by URL, as del() asks: POST /delete with
// {"urls": [...]}. A URL of no stored blob is no error (deleting twice is
// allowed), but a URL of another host is refused: it names no blob of this
// store, and a client sending one has a bug a test should see.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "could not read the body")
		return
	}
	var req struct {
		URLs []string `json:"urls"`
	}
	jsonErr := json.Unmarshal(body, &req)
	s.mu.Lock()
	s.deletes = append(s.deletes, DeleteRequest{Header: r.Header.Clone(), URLs: req.URLs})
	maxBytes := s.maxBytes
	s.mu.Unlock()
	if status, code, msg := s.checkAuth(r); code != "" {
		writeError(w, status, code, msg)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, http.StatusBadRequest, "bad_request", "content-type must be application/json")
		return
	}
	if jsonErr != nil || len(req.URLs) == 0 {
		writeError(w, http.StatusBadRequest, "bad_request", `the body must be {"urls": [...]} with at least one URL`)
		return
	}
	var pathnames []string
	for _, u := range req.URLs {
		pathname, ok := s.pathnameOf(u)
		if !ok {
			writeError(w, http.StatusBadRequest, "bad_request", "not a URL of this store: "+strconv.Quote(u))
			return
		}
		pathnames = append(pathnames, pathname)
	}
	if s.fail(w, r, maxBytes) {
		return
	}
	s.mu.Lock()
	for _, p := range pathnames {
		delete(s.blobs, p)
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, "{}")
}

// pathnameOf returns the pathname a URL this fake handed out names.
func (s *Server) pathnameOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	base, _ := url.Parse(s.URL)
	if err != nil || u.Scheme != base.Scheme || u.Host != base.Host || len(u.Path) < 2 {
		return "", false
	}
	return strings.TrimPrefix(u.Path, "/"), true
}

// handleGet serves a stored blob as the CDN would.
func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	b, ok := s.Blob(r.PathValue("pathname"))
	if !ok {
		http.Error(w, "The requested blob does not exist", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", b.ContentType)
	h.Set("Cache-Control", b.CacheControl)
	h.Set("ETag", b.ETag)
	disposition := "inline"
	if r.URL.Query().Get("download") == "1" {
		disposition = "attachment"
	}
	h.Set("Content-Disposition", fmt.Sprintf("%s; filename=%q", disposition, path.Base(b.Pathname)))
	h.Set("Content-Length", strconv.Itoa(len(b.Body)))
	w.Write(b.Body)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = code, message
	json.NewEncoder(w).Encode(body)
}

// randomString returns n random letters and digits, as in the API's
// suffixes and tokens.
func randomString(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		// 256 is not a multiple of 62, so a few letters come up slightly
		// more often; harmless for a fake.
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
