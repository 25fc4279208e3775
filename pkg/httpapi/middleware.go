package httpapi

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/telemetry"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// CORS lists (docs/API.md, "Limits and headers"). Request headers are named one
// by one: a "*" would not cover Authorization.
const (
	corsAllowHeaders  = "x-client-key, authorization, content-type, idempotency-key, prefer"
	corsExposeHeaders = "X-Request-Id, RateLimit, RateLimit-Policy, Retry-After, Location, Idempotent-Replayed, X-Credits-Remaining, Server-Timing, Preference-Applied"
)

// serve wraps a route's handler with what every request gets: a request id
// and timings, panic recovery, the log line, CORS and preflight, the method
// check, authentication, and rate accounting (headWriter).
func (s *Server) serve(primary Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := primary.forMethod(r.Method)
		st := &requestState{id: newRequestID(), start: time.Now(), route: rt}
		r = withState(r, st)
		w = &headWriter{ResponseWriter: w, s: s, r: r, st: st}
		defer s.logRequest(r, st)
		defer s.recoverPanic(w, r, st)

		allowed := s.cors(w, r) || s.tokenCORS(w, r, rt)
		if r.Method == http.MethodOptions {
			s.preflight(w, r, rt, allowed)
			return
		}
		if rt.Method == "" {
			rt.serve(s, w, r)
			return
		}
		if !rt.allows(r.Method) {
			w.Header().Set("Allow", rt.allow())
			s.writeError(w, r, tryon.Errorf(tryon.CodeMethodNotAllowed, "%s is not allowed here; use %s", r.Method, rt.allow()), nil)
			return
		}
		if err := s.authorize(r, rt, st); err != nil {
			s.writeError(w, r, err, nil)
			return
		}
		rt.serve(s, w, r)
	})
}

// authorize checks the caller against the route's access level.
func (s *Server) authorize(r *http.Request, rt Route, st *requestState) error {
	switch rt.Access {
	case Public:
		return nil
	case Cron:
		want := "Bearer " + s.cfg.CronSecret
		if s.cfg.CronSecret == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			return tryon.Errorf(tryon.CodeUnauthorized, "missing or wrong cron secret")
		}
		return nil
	}
	key, err := presentedKey(r)
	if err != nil {
		return err
	}
	if clienttoken.LooksLikeJWT(key) {
		return s.authorizeToken(r, rt, st, key)
	}
	p, err := s.keys.Authenticate(r.Context(), key)
	if err != nil {
		return err
	}
	st.principal = p
	if rt.Access == Tenant && p.IsAdmin() {
		return tryon.Errorf(tryon.CodeForbidden, "admin keys cannot use %s %s; use a tenant key", rt.Method, rt.Path)
	}
	return nil
}

// presentedKey reads the key from x-client-key, or Authorization: Bearer.
// The same key in both is one key; two different keys (in the two headers,
// or in two x-client-key headers) are refused rather than served as
// whichever is read first, so a client never acts under a key it did not
// mean: errAmbiguousKey.
func presentedKey(r *http.Request) (string, error) {
	var keys []string
	for _, v := range r.Header.Values("X-Client-Key") {
		if k := strings.TrimSpace(v); k != "" {
			keys = append(keys, k)
		}
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		switch {
		case ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(token) != "":
			keys = append(keys, strings.TrimSpace(token))
		case len(keys) == 0:
			// Something was presented, just not in a usable form: that is
			// an invalid key, not a missing one.
			return "malformed", nil
		}
	}
	if len(keys) == 0 {
		return "", nil
	}
	for _, k := range keys[1:] {
		if k != keys[0] {
			return "", errAmbiguousKey
		}
	}
	return keys[0], nil
}

var errAmbiguousKey = tryon.Errorf(tryon.CodeUnauthorized,
	"the request carries two different API keys (x-client-key and Authorization, or two x-client-key headers); send one")

// cors sets the CORS response headers and reports whether the origin is
// allowed. An origin not on the list gets no Access-Control-Allow-* headers,
// so the browser refuses the response.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	switch {
	case slices.Contains(s.cfg.CORSOrigins, "*"):
		h.Set("Access-Control-Allow-Origin", "*")
	case slices.Contains(s.cfg.CORSOrigins, origin):
		h.Set("Access-Control-Allow-Origin", origin)
	default:
		return false
	}
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	return true
}

// preflight answers OPTIONS: 204, no body, no key needed.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request, rt Route, allowed bool) {
	h := w.Header()
	h.Set("Allow", rt.allow())
	if allowed {
		h.Set("Access-Control-Allow-Methods", rt.allow())
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", "600")
		h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
	}
	w.WriteHeader(http.StatusNoContent)
}

// recoverPanic turns a panic into a 500 internal error with the stack in the
// log, so one bad request never takes the instance down with it.
func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request, st *requestState) {
	v := recover()
	if v == nil {
		return
	}
	st.cause = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
	if st.status == 0 {
		s.writeError(w, r, st.cause, nil)
	}
}

// logRequest writes the request's one log line.
func (s *Server) logRequest(r *http.Request, st *requestState) {
	dbTime, roundTrips := st.timings.DB()
	upstream, _ := st.timings.Upstream()
	attrs := []any{
		"method", r.Method, "path", r.URL.Path, "status", st.status,
		"latency_ms", time.Since(st.start).Milliseconds(), "request_id", st.id,
		"function", st.route.Function, "db_ms", dbTime.Milliseconds(), "db_round_trips", roundTrips,
	}
	if upstream > 0 {
		attrs = append(attrs, "upstream_ms", upstream.Milliseconds())
	}
	if p := st.principal; p != nil {
		attrs = append(attrs, "key", p.Key.Prefix)
		if p.Client != nil {
			attrs = append(attrs, "client_id", p.Client.ID)
		}
	}
	if vid := r.Header.Get("X-Vercel-Id"); vid != "" {
		attrs = append(attrs, "vercel_id", vid)
	}
	// Refusals of the caller's request (4xx) are routine: their cause is
	// logged at info; a failure of ours or of what we depend on (5xx) is
	// an error.
	level := slog.LevelInfo
	if st.cause != nil {
		attrs = append(attrs, "error", st.cause.Error())
	}
	if st.status >= 500 {
		level = slog.LevelError
	}
	s.log.Log(r.Context(), level, "request", attrs...)
	telemetry.Describe(r.Context(), telemetry.Request{Route: st.route.Path, Function: st.route.Function,
		Status: st.status, Principal: st.principal, Err: st.cause})
}

// headWriter writes the headers every response carries (request id, rate
// limit, credits, timing) just before the status, whoever writes it: the
// encoder, a handler streaming an asset, a preflight. It is where rate
// accounting runs (see ratelimit.go), so that a request its handler ended
// early still counts and says so. Headers set after the status are lost.
type headWriter struct {
	http.ResponseWriter
	s     *Server
	r     *http.Request
	st    *requestState
	wrote bool
}

func (w *headWriter) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		h := w.Header()
		h.Set("X-Request-Id", w.st.id)
		w.s.account(w.r.Context(), w.st)
		setLimitHeaders(h, w.st)
		h.Set("Server-Timing", w.st.serverTiming())
		w.st.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *headWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the platform's writer.
func (w *headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
