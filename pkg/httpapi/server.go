// Package httpapi is Tryon's HTTP layer: the route table, the envelope, the
// one error mapping, the one decoder, authentication, limits headers, CORS
// and the handlers. It knows nothing about Vercel: a function in api/ asks
// for one route's handler, and the local server mounts them all.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/config"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/metrics"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Store is what the HTTP layer asks of the database itself; generations go
// through the runner. pkg/postgres implements it.
type Store interface {
	KeyStore
	TokenStore
	RateAccounts
	BillingStore
	// Ping checks that the database answers within timeout.
	Ping(ctx context.Context, timeout time.Duration) error
	// FindAsset returns a stored output by token.
	FindAsset(ctx context.Context, token string) (*tryon.Asset, error)
	// ReadMetrics counts the request against the caller's rate limit and
	// reads a tenant's metrics (the platform's for uuid.Nil); a refused
	// request is the rate limit's error, returned with the read.
	ReadMetrics(ctx context.Context, p *tryon.Principal, clientID uuid.UUID, w metrics.Window) (*tryon.Read[*metrics.Snapshot], error)
}

// KeyStore finds who holds an API key, by the key's digest: the one place
// authentication asks the database, behind the key cache.
type KeyStore interface {
	FindPrincipal(ctx context.Context, digest [32]byte) (*tryon.Principal, error)
}

// TokenStore keeps tenants' client-token signing secrets and answers whether
// a client token may read a generation.
type TokenStore interface {
	// CurrentTokenSecret returns the tenant's signing secret and its version,
	// storing fresh as version 1 if the tenant has none yet.
	CurrentTokenSecret(ctx context.Context, clientID uuid.UUID, fresh string) (secret string, version int, err error)
	// FindTokenSigner finds one version of a tenant's signing secret.
	FindTokenSigner(ctx context.Context, clientID uuid.UUID, version int) (*clienttoken.Signer, error)
	// CheckTokenRead counts a token's read against its end user's rate limit
	// and checks that the generation is that end user's.
	CheckTokenRead(ctx context.Context, p *tryon.Principal, id uuid.UUID) error
}

// Server serves the API.
type Server struct {
	cfg    *config.Config
	store  Store
	runner *generation.Runner
	keys   *apikey.Cache
	tokens *clienttoken.Verifier
	log    *slog.Logger
	// billing serves statements, top-ups and Stripe (billing.go).
	billing Billing
	// health is GET /health's shared database check (health_check.go).
	health *dbCheck
}

// NewServer returns a Server over its dependencies.
func NewServer(cfg *config.Config, store Store, runner *generation.Runner, log *slog.Logger) *Server {
	s := &Server{cfg: cfg, store: store, runner: runner, log: log, keys: &apikey.Cache{TTL: cfg.KeyCacheTTL}}
	if store != nil {
		s.keys.Lookup = store.FindPrincipal
		s.health = newDBCheck(store.Ping)
		s.tokens = &clienttoken.Verifier{TTL: cfg.KeyCacheTTL, Lookup: store.FindTokenSigner}
	}
	return s
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
