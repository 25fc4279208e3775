package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/wire"
)

// healthData is GET /health's answer. It reveals no configuration.
type healthData struct {
	Status  string            `json:"status"`
	Checks  map[string]string `json:"checks"`
	Version string            `json:"version"`
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	version := s.cfg.Version
	if version == "" {
		version = "dev"
	}
	if err := s.health.check(r.Context()); err != nil {
		stateOf(r).cause = err
		s.writeError(w, r, tryon.ErrUnavailable, healthData{Status: "error", Checks: map[string]string{"database": "error"}, Version: version})
		return
	}
	s.writeData(w, r, http.StatusOK, healthData{Status: "ok", Checks: map[string]string{"database": "ok"}, Version: version})
}

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	idem, err := idempotencyKey(r)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	var req generation.Request
	// A large body is held in the body budget until its images are
	// normalised (InputsRead), or the request ends.
	hash, held, err := decodeHeld(w, r, &req)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	defer held.release()
	var def tryon.Service
	if c := st.principal.Client; c != nil {
		def = c.DefaultService
	}
	spec, err := req.ValidateFor(def)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	wait, waitGiven := preferWait(r)
	base := s.baseURL(r)
	res, err := s.runner.Create(r.Context(), st.principal, spec, generation.Options{
		IdempotencyKey: idem, RequestHash: hash, Wait: wait,
		PlatformDeadline: platformDeadline(r), BaseURL: base, InputsRead: held.release,
	})
	if res != nil {
		st.rate = res.Rate
		st.credits, st.creditsKnown = res.CreditsRemaining, res.CreditsKnown
		if res.Replayed {
			w.Header().Set("Idempotent-Replayed", "true")
		}
	}
	if waitGiven {
		w.Header().Set("Preference-Applied", "wait="+strconv.Itoa(int(wait.Seconds())))
	}
	switch {
	case err != nil:
		var data any
		if res != nil && res.Generation != nil {
			data = wire.FromGeneration(res.Generation, base)
		}
		s.writeError(w, r, err, data)
	default:
		s.writeGeneration(w, r, res.Generation, res.Pending, base)
	}
}

// writeGeneration answers with a generation: 200 when it succeeded, 202 with
// Location while a long job runs, and the error of its code when it failed.
func (s *Server) writeGeneration(w http.ResponseWriter, r *http.Request, g *tryon.Generation, pending bool, base string) {
	data := wire.FromGeneration(g, base)
	switch {
	case g.Status == tryon.StatusFailed && g.Error != nil:
		s.writeError(w, r, &tryon.Error{Code: g.Error.Code, Message: g.Error.Message, RetryAfter: g.RetryAfter}, data)
	case pending:
		w.Header().Set("Location", "/generate/"+g.ID.String())
		s.writeData(w, r, http.StatusAccepted, data)
	default:
		s.writeData(w, r, http.StatusOK, data)
	}
}

// idempotencyKey reads the Idempotency-Key header: absent, or 1 to 255
// printable ASCII characters.
func idempotencyKey(r *http.Request) (*string, error) {
	values := r.Header.Values("Idempotency-Key")
	if len(values) == 0 {
		return nil, nil
	}
	bad := tryon.Invalid(tryon.FieldError{Field: "Idempotency-Key", Message: "must be 1 to 255 printable ASCII characters"})
	if len(values) > 1 {
		return nil, bad
	}
	k := values[0]
	if len(k) == 0 || len(k) > 255 {
		return nil, bad
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return nil, bad
		}
	}
	return &k, nil
}

// preferWait reads "Prefer: wait=N" (RFC 7240); malformed preferences are
// ignored, as the RFC asks. Without one it returns -1.
func preferWait(r *http.Request) (time.Duration, bool) {
	for _, v := range r.Header.Values("Prefer") {
		for _, pref := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ';' }) {
			name, val, ok := strings.Cut(strings.TrimSpace(pref), "=")
			if !ok || !strings.EqualFold(name, "wait") {
				continue
			}
			if n, err := strconv.Atoi(strings.Trim(val, `" `)); err == nil && n >= 0 && n <= 3600 {
				return time.Duration(n) * time.Second, true
			}
		}
	}
	return -1, false
}

// platformDeadline reads the platform's invocation deadline when it sends
// one, so the budget never outlives the function.
func platformDeadline(r *http.Request) time.Time {
	t, err := time.Parse(time.RFC3339, r.Header.Get("X-Vercel-Internal-Deadline"))
	if err != nil {
		return time.Time{}
	}
	return t
}

func (s *Server) handleGetGeneration(w http.ResponseWriter, r *http.Request) {
	s.serveGeneration(w, r, s.runner.Get)
}

// serveGeneration answers a route on one of the caller's generations
// (reading it, canceling it) with the generation. A read shows it as it
// is, failed or not: the request itself succeeded. A refusal that comes
// with the generation (409 on a finished one) carries it as its data.
func (s *Server) serveGeneration(w http.ResponseWriter, r *http.Request,
	do func(context.Context, *tryon.Principal, uuid.UUID, generation.ReadOptions) (*tryon.Generation, *tryon.RateState, error)) {
	st := stateOf(r)
	id, err := uuid.Parse(st.route.param(r, "id"))
	if err != nil {
		s.writeError(w, r, tryon.ErrNotFound, nil)
		return
	}
	base := s.baseURL(r)
	g, rate, err := do(r.Context(), st.principal, id, generation.ReadOptions{PlatformDeadline: platformDeadline(r), BaseURL: base})
	st.rate = rate
	if err != nil {
		var data any
		if g != nil {
			data = wire.FromGeneration(g, base)
		}
		s.writeError(w, r, err, data)
		return
	}
	s.writeData(w, r, http.StatusOK, wire.FromGeneration(g, base))
}

// generationList is GET /generations's answer.
type generationList struct {
	Items      []wire.Generation `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

func (s *Server) handleListGenerations(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	q := r.URL.Query()
	f := tryon.ListFilter{Limit: 20, Status: tryon.Status(q.Get("status")), Service: tryon.Service(q.Get("service")), Mode: tryon.Mode(q.Get("mode"))}
	var details []tryon.FieldError
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			details = append(details, tryon.FieldError{Field: "limit", Message: "must be an integer from 1 to 100"})
		}
		f.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		c, err := tryon.DecodeCursor(v)
		if err != nil {
			details = append(details, tryon.FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
		}
		f.Cursor = c
	}
	if f.Status != "" && !f.Status.Valid() {
		details = append(details, tryon.FieldError{Field: "status", Message: "must be processing, succeeded, failed or canceled"})
	}
	if f.Service != "" && !f.Service.Valid() {
		details = append(details, tryon.FieldError{Field: "service", Message: "must be banana, banana-pro, veo3, fashn or vto"})
	}
	if f.Mode != "" && !f.Mode.Valid() {
		details = append(details, tryon.FieldError{Field: "mode", Message: "must be live or test"})
	}
	if len(details) > 0 {
		s.writeError(w, r, tryon.Invalid(details...), nil)
		return
	}
	base := s.baseURL(r)
	page, rate, err := s.runner.List(r.Context(), st.principal, f, base)
	st.rate = rate
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	out := generationList{Items: make([]wire.Generation, 0, len(page.Items))}
	for _, g := range page.Items {
		out.Items = append(out.Items, wire.FromGeneration(g, base))
	}
	if page.Next != nil {
		c := page.Next.Encode()
		out.NextCursor = &c
	}
	s.writeData(w, r, http.StatusOK, out)
}

func (s *Server) handleAsset(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	a, err := s.store.FindAsset(r.Context(), st.route.param(r, "token"))
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	etag := `"` + a.Token + `"`
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.Data)
	}
}

func (s *Server) handleCron(w http.ResponseWriter, r *http.Request) {
	rep, err := s.runner.Sweep(r.Context(), generation.ReadOptions{PlatformDeadline: platformDeadline(r), BaseURL: s.baseURL(r)})
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	s.writeData(w, r, http.StatusOK, s.withMeterDrain(r, rep))
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, tryon.Errorf(tryon.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path), nil)
}
