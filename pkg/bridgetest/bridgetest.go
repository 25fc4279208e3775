// Package bridgetest serves handlers the way Vercel runs them, for tests:
// each request is routed as vercel.json routes it (a public path is
// rewritten to its function), turned into go-bridge's request, and served
// by bridge.Serve, the adapter Vercel's Go runtime uses, with the headers
// Vercel adds. The response is go-bridge's buffered one. Bodies over
// Vercel's 4.5 MB limit are refused as Vercel refuses them.
package bridgetest

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/httpapi"
	"github.com/vercel/go-bridge/go/bridge"
)

// PayloadLimit is Vercel's request and response body limit (4.5 MB).
const PayloadLimit = 4_718_592

// PathMode says which path a rewritten function sees. Vercel does not
// document it for Go, so the handlers must work with either.
type PathMode int

// The two path modes.
const (
	// OriginalPath hands the function the public path ("/generate/123").
	OriginalPath PathMode = iota
	// DestinationPath hands it the rewrite's destination ("/api/generation?id=123").
	DestinationPath
)

// NewServer starts a server that routes each request to function(name) as
// Vercel would, through bridge.Serve.
func NewServer(tb testing.TB, function func(name string) http.Handler, mode PathMode) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, PayloadLimit+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > PayloadLimit {
			w.Header().Set("X-Vercel-Error", "FUNCTION_PAYLOAD_TOO_LARGE")
			http.Error(w, "Request Entity Too Large\n\nFUNCTION_PAYLOAD_TOO_LARGE", http.StatusRequestEntityTooLarge)
			return
		}
		fn, path := route(r.URL, mode)
		req := &bridge.Request{
			Host: r.Host, Path: path, Method: r.Method, Encoding: "base64",
			Body:    base64.StdEncoding.EncodeToString(body),
			Headers: map[string]bridge.ReqHeaderValues{},
		}
		for k, v := range r.Header {
			req.Headers[strings.ToLower(k)] = v
		}
		req.Headers["host"] = []string{r.Host}
		req.Headers["x-forwarded-host"] = []string{r.Host}
		req.Headers["x-forwarded-proto"] = []string{"http"}
		req.Headers["x-real-ip"] = []string{"127.0.0.1"}
		req.Headers["x-forwarded-for"] = []string{"127.0.0.1"}
		req.Headers["x-vercel-id"] = []string{"iad1::" + uuid.NewString()}
		res, err := bridge.Serve(function(fn), req)
		if err != nil {
			// Vercel answers a function that failed with this.
			w.Header().Set("X-Vercel-Error", "FUNCTION_INVOCATION_FAILED")
			http.Error(w, "FUNCTION_INVOCATION_FAILED: "+err.Error(), http.StatusInternalServerError)
			return
		}
		out, err := base64.StdEncoding.DecodeString(res.Body)
		if err != nil || len(out) > PayloadLimit {
			w.Header().Set("X-Vercel-Error", "FUNCTION_RESPONSE_PAYLOAD_TOO_LARGE")
			http.Error(w, "FUNCTION_RESPONSE_PAYLOAD_TOO_LARGE", http.StatusInternalServerError)
			return
		}
		for k, vs := range res.Headers {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(out)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// route finds the function for a request the way vercel.json does: an
// /api/<function> path is the function itself; a public path is rewritten;
// anything else goes to not_found. It returns the function and the path the
// function sees.
func route(u *url.URL, mode PathMode) (fn, path string) {
	for _, rt := range httpapi.Routes {
		if u.Path == rt.FunctionPath() {
			return rt.Function, u.RequestURI()
		}
	}
	for _, rt := range httpapi.Routes {
		source, dest, ok := rt.Rewrite()
		if !ok {
			continue
		}
		params, ok := match(source, u.Path)
		if !ok {
			continue
		}
		for name, v := range params {
			dest = strings.ReplaceAll(dest, ":"+name, url.QueryEscape(v))
		}
		d, _ := url.Parse(dest)
		// The request's own query wins on a conflict, as `vercel dev` does.
		q := d.Query()
		for k, vs := range u.Query() {
			q[k] = vs
		}
		if mode == DestinationPath {
			return rt.Function, d.Path + "?" + q.Encode()
		}
		p := u.Path
		if enc := q.Encode(); enc != "" {
			p += "?" + enc
		}
		return rt.Function, p
	}
	return "not_found", u.RequestURI()
}

// match matches a path against a rewrite source such as "/generate/:id".
func match(source, path string) (map[string]string, bool) {
	s := strings.Split(strings.Trim(source, "/"), "/")
	p := strings.Split(strings.Trim(path, "/"), "/")
	if len(s) != len(p) {
		return nil, false
	}
	params := map[string]string{}
	for i := range s {
		if name, ok := strings.CutPrefix(s[i], ":"); ok {
			if p[i] == "" {
				return nil, false
			}
			params[name] = p[i]
			continue
		}
		if s[i] != p[i] {
			return nil, false
		}
	}
	return params, true
}
