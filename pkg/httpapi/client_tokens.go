package httpapi

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// tokenRoutes are the routes a client token may call, by function, with the
// scope each needs. Every other route refuses client tokens: they are for a
// shop's page, which only generates and reads its own results.
var tokenRoutes = map[string]tryon.Scope{
	"generate":   tryon.ScopeGenerate,
	"generation": tryon.ScopeRead,
	// Canceling changes what the end user asked for, so it takes the
	// scope that lets them ask.
	"cancel": tryon.ScopeGenerate,
}

// authorizeToken authenticates a request made with a client token and holds
// it to the token's terms: a route it may call, from one of its origins,
// within its scopes, and (reading or canceling) a generation of its own end
// user.
func (s *Server) authorizeToken(r *http.Request, rt Route, st *requestState, raw string) error {
	p, err := s.tokens.Verify(r.Context(), raw)
	if err != nil {
		return err
	}
	st.principal = p
	scope, ok := tokenRoutes[rt.Function]
	if !ok {
		return tryon.Errorf(tryon.CodeForbidden, "client tokens can only call POST /generate, GET /generate/:id and POST /generate/:id/cancel; call %s %s from your server with a secret key", rt.Method, rt.Path)
	}
	origin := r.Header.Get("Origin")
	if origin == "" && r.Header.Get("Sec-Fetch-Site") == "same-origin" {
		// Browsers send no Origin on a same-origin GET, but do send
		// Sec-Fetch-Site (which a page's script cannot set): the page is
		// on this deployment's own origin, which the token must name.
		origin = s.baseURL(r)
	}
	switch {
	case origin == "":
		return tryon.Errorf(tryon.CodeForbidden, "a client token works only from a web page on one of its origins, and this request has no Origin header")
	case !p.Token.AllowsOrigin(origin):
		return tryon.Errorf(tryon.CodeForbidden, "this client token does not allow the origin %s", origin)
	case !p.Token.Allows(scope):
		return tryon.Errorf(tryon.CodeForbidden, "this client token lacks the %q scope", scope)
	}
	if rt.Function == "generation" || rt.Function == "cancel" {
		// A malformed id is the handler's 404 to give.
		if id, err := uuid.Parse(rt.param(r, "id")); err == nil {
			return s.store.CheckTokenRead(r.Context(), p, id)
		}
	}
	return nil
}

// tokenCORS admits a browser origin the static list does not, for the
// routes client tokens call. A preflight carries no token, so it cannot be
// checked against one: it is answered for any origin, and the real request
// is refused (403) unless its Origin is one its token names. A request with
// a token gets its origin admitted whatever the outcome, so that the page
// can read why it was refused (an expired token, a wrong origin). Neither
// gives a page anything it could not get without CORS: no cookies are
// involved, and the token must be presented by the page itself.
func (s *Server) tokenCORS(w http.ResponseWriter, r *http.Request, rt Route) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	_, tokenRoute := tokenRoutes[rt.Function]
	switch {
	case r.Method == http.MethodOptions && tokenRoute:
	case r.Method != http.MethodOptions && bearsClientToken(r):
	default:
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	return true
}

// bearsClientToken reports whether a request presents a client token (a
// JWT) rather than an API key.
func bearsClientToken(r *http.Request) bool {
	key, err := presentedKey(r)
	return err == nil && clienttoken.LooksLikeJWT(key)
}
