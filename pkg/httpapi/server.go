// Package httpapi is Tryon's HTTP layer: the route table, the envelope, the
// one error mapping, the one decoder, authentication, limits headers, CORS
// and the handlers. It knows nothing about Vercel: a function in api/ asks
// for one route's handler, and the local server mounts them all.
package httpapi

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/postgres"
)

// Server serves the API.
type Server struct {
	cfg    *config.Config
	store  *postgres.Store
	runner *generation.Runner
	keys   *apikey.Cache
	log    *slog.Logger
	// billing serves statements, top-ups and Stripe (billing.go).
	billing Billing
}

// NewServer returns a Server over its dependencies.
func NewServer(cfg *config.Config, store *postgres.Store, runner *generation.Runner, log *slog.Logger) *Server {
	return &Server{
		cfg: cfg, store: store, runner: runner, log: log,
		keys: &apikey.Cache{TTL: cfg.KeyCacheTTL, Lookup: store.FindPrincipal},
	}
}

// Function returns the handler of one Vercel function, named by its api/
// file; whatever path Vercel hands it, it serves that route.
func (s *Server) Function(name string) http.Handler {
	rt, ok := RouteByFunction(name)
	if !ok {
		panic("httpapi: no route for function " + name)
	}
	return s.serve(rt)
}

// Handler serves every route the way vercel.json routes them: each public
// path, each function's own /api/ path, and the JSON 404 for the rest.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range Routes {
		h := s.serve(rt)
		switch {
		case rt.Path == "":
			// The catch-all (not_found): "/" is the pattern every path no
			// other route matches falls to, as vercel.json's last rewrite
			// sends them to it, so a local run answers the same JSON 404.
			mux.Handle("/", h)
		default:
			mux.Handle(rt.Path, h)
		}
		if rt.Path != rt.FunctionPath() {
			mux.Handle(rt.FunctionPath(), h)
		}
	}
	return mux
}

// baseURL is where this deployment is reached: PUBLIC_BASE_URL, or the
// host the request came to (Vercel sets X-Forwarded-Host and -Proto).
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicBaseURL != "" {
		return strings.TrimSuffix(s.cfg.PublicBaseURL, "/")
	}
	host := r.Header.Get("X-Forwarded-Host")
	if host == "" {
		host = r.Host
	}
	scheme := r.Header.Get("X-Forwarded-Proto")
	if scheme != "http" && scheme != "https" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	return scheme + "://" + host
}
