package httpapi

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Access says who may call a route.
type Access int

// Route access levels.
const (
	Public        Access = iota // no key
	Tenant                      // a tenant's live or test key
	TenantOrAdmin               // a tenant key (its own data) or an admin key (any)
	Cron                        // Vercel Cron's bearer secret
)

// Route is one public endpoint and the Vercel function that serves it. The
// table below is the one place routes are declared: the local server mounts
// it, the functions in api/ serve from it, every time budget is read from
// it, and vercel.json is generated from it (`tryon vercel-json -w`; a test
// fails when the file differs).
type Route struct {
	// Function is the api/ file (without .go) that serves the route on
	// Vercel, and Handler its exported function.
	Function string
	Handler  string
	Method   string
	// Path is the public path, in net/http pattern syntax ("/generate/{id}").
	Path   string
	Access Access
	// MaxDuration is the function's maxDuration in vercel.json, in seconds
	// (Vercel's limits: up to 300 on Hobby, 800 on Pro), and so the time
	// budget of its requests.
	MaxDuration int
	serve       func(*Server, http.ResponseWriter, *http.Request)
}

// Routes lists every route, one line each; append new ones before
// not_found, then run `go run ./cmd/tryon vercel-json -w`.
var Routes = []Route{
	{"health", "Health", http.MethodGet, "/health", Public, 10, (*Server).handleHealth},
	{"generate", "Generate", http.MethodPost, "/generate", Tenant, 300, (*Server).handleGenerate},
	{"generation", "GetGeneration", http.MethodGet, "/generate/{id}", TenantOrAdmin, 60, (*Server).handleGetGeneration},
	{"cancel", "CancelGeneration", http.MethodPost, "/generate/{id}/cancel", Tenant, 30, (*Server).handleCancelGeneration},
	{"generations", "ListGenerations", http.MethodGet, "/generations", Tenant, 15, (*Server).handleListGenerations},
	{"metrics", "Metrics", http.MethodGet, "/metrics", TenantOrAdmin, 30, (*Server).handleMetrics},
	{"client_metrics", "ClientMetrics", http.MethodGet, "/metrics/client/{id}", TenantOrAdmin, 30, (*Server).handleClientMetrics},
	{"asset", "Asset", http.MethodGet, "/assets/{token}", Public, 15, (*Server).handleAsset},
	{"cron", "Cron", http.MethodGet, "/api/cron", Cron, 300, (*Server).handleCron},
	{"tokens", "CreateToken", http.MethodPost, "/tokens", Tenant, 10, (*Server).handleCreateToken},
	{"statement", "Statement", http.MethodGet, "/billing/statement", TenantOrAdmin, 60, (*Server).handleStatement},
	{"topup", "Topup", http.MethodPost, "/billing/topup", Tenant, 30, (*Server).handleTopup},
	{"stripe_webhook", "StripeWebhook", http.MethodPost, "/stripe/webhook", Public, 30, (*Server).handleStripeWebhook},
	// not_found answers every other path with the JSON 404 (vercel.json's
	// last rewrite sends them there).
	{"not_found", "NotFound", "", "", Public, 10, (*Server).handleNotFound},
}

// MoreMethods are routes that share a path, and so the Vercel function,
// with a route of Routes but answer another method: a Vercel function
// receives every method of its path and dispatches on it. vercel.json needs
// nothing more for them; Allow headers and preflights list them.
var MoreMethods = []Route{
	{"generation", "DeleteGeneration", http.MethodDelete, "/generate/{id}", Tenant, 60, (*Server).handleDeleteGeneration},
}

// forMethod returns the route serving method on r's path: r itself, or the
// one of MoreMethods that answers it.
func (r Route) forMethod(method string) Route {
	for _, m := range MoreMethods {
		if m.Function == r.Function && m.Path == r.Path && m.Method == method {
			return m
		}
	}
	return r
}

// RouteByFunction returns the route a Vercel function serves.
func RouteByFunction(fn string) (Route, bool) {
	for _, r := range Routes {
		if r.Function == fn {
			return r, true
		}
	}
	return Route{}, false
}

// Budget is the time the route's function may run: its maxDuration.
func (r Route) Budget() time.Duration { return time.Duration(r.MaxDuration) * time.Second }

// LongestMaxDuration is the longest any function may run.
func LongestMaxDuration() time.Duration {
	var longest time.Duration
	for _, r := range Routes {
		longest = max(longest, r.Budget())
	}
	return longest
}

var paramPattern = regexp.MustCompile(`\{([a-z_]+)\}`)

// Rewrite returns the vercel.json rewrite of the route's public path:
// "/generate/{id}" becomes source "/generate/:id" and destination
// "/api/generation?id=:id". ok is false for routes served at their own path.
func (r Route) Rewrite() (source, destination string, ok bool) {
	if r.Path == "" || strings.HasPrefix(r.Path, "/api/") {
		return "", "", false
	}
	source = paramPattern.ReplaceAllString(r.Path, ":$1")
	destination = "/api/" + r.Function
	var query []string
	for _, m := range paramPattern.FindAllStringSubmatch(r.Path, -1) {
		query = append(query, m[1]+"=:"+m[1])
	}
	if len(query) > 0 {
		destination += "?" + strings.Join(query, "&")
	}
	return source, destination, true
}

// FunctionPath is where Vercel serves the route's function directly.
func (r Route) FunctionPath() string { return "/api/" + r.Function }

// allow is the Allow header of the route's path: its methods and those of
// MoreMethods on the same path.
func (r Route) allow() string {
	var methods []string
	switch r.Method {
	case http.MethodGet:
		methods = append(methods, "GET", "HEAD")
	case "":
	default:
		methods = append(methods, r.Method)
	}
	for _, m := range MoreMethods {
		if m.Function == r.Function && m.Path == r.Path && m.Method != r.Method {
			methods = append(methods, m.Method)
		}
	}
	return strings.Join(append(methods, "OPTIONS"), ", ")
}

func (r Route) allows(method string) bool {
	return method == r.Method || (r.Method == http.MethodGet && method == http.MethodHead)
}

// param reads a path parameter. Locally the mux has it. On Vercel the
// function sees either the public path (take the segment in the pattern's
// position) or the rewrite's destination (take the query), since which one a
// rewritten Go function sees is not documented.
func (r Route) param(req *http.Request, name string) string {
	if v := req.PathValue(name); v != "" {
		return v
	}
	pattern := strings.Split(strings.Trim(r.Path, "/"), "/")
	path := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if len(pattern) == len(path) {
		match := true
		value := ""
		for i, seg := range pattern {
			switch {
			case seg == "{"+name+"}":
				value = path[i]
			case strings.HasPrefix(seg, "{"):
			case seg != path[i]:
				match = false
			}
		}
		if match && value != "" {
			return value
		}
	}
	return req.URL.Query().Get(name)
}
