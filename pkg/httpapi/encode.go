package httpapi

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/wire"
)

// successBody and errorBody are the response envelope (docs/API.md, "Conventions").
type successBody struct {
	Success   bool   `json:"success"`
	Data      any    `json:"data"`
	Timestamp string `json:"timestamp"`
	RequestID string `json:"request_id"`
}

type errorBody struct {
	Success   bool               `json:"success"`
	Error     string             `json:"error"`
	Code      tryon.Code         `json:"code"`
	Details   []tryon.FieldError `json:"details,omitempty"`
	Data      any                `json:"data,omitempty"`
	Timestamp string             `json:"timestamp"`
	RequestID string             `json:"request_id"`
}

// encode writes a JSON envelope: headers first, then the status, then the
// body. Every JSON response goes through here.
func (s *Server) encode(w http.ResponseWriter, r *http.Request, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		s.log.Error("encode response", "request_id", stateOf(r).id, "error", err)
		status = http.StatusInternalServerError
		b = []byte(`{"success":false,"error":"internal error","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	s.writeHead(w, r, status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// writeData answers with the success envelope.
func (s *Server) writeData(w http.ResponseWriter, r *http.Request, status int, data any) {
	s.encode(w, r, status, successBody{Success: true, Data: data, Timestamp: wire.Time(time.Now()), RequestID: stateOf(r).id})
}

// writeError answers with the error envelope for err. data is included when
// a record exists (a failed generation). Errors that are not *tryon.Error are
// bugs: the tenant sees "internal error" and the cause goes to the log.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, data any) {
	st := stateOf(r)
	pub := publicError(err)
	// The log line says why, whatever the answer: a 503's database error
	// or a 400's field, not only the bugs behind a 500.
	if st.cause == nil {
		st.cause = err
	}
	if pub.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(pub.RetryAfter.Seconds()))))
	}
	s.encode(w, r, StatusOf(pub.Code), errorBody{
		Error: pub.Message, Code: pub.Code, Details: pub.Details, Data: data,
		Timestamp: wire.Time(time.Now()), RequestID: st.id,
	})
}

// writeHead sets the headers every response carries (request id, timing,
// rate limit) and then the status. Headers set after this are lost.
func (s *Server) writeHead(w http.ResponseWriter, r *http.Request, status int) {
	st := stateOf(r)
	h := w.Header()
	h.Set("X-Request-Id", st.id)
	s.completeAccounting(r, st)
	if rt := st.rate; rt != nil {
		h.Set("RateLimit-Policy", fmt.Sprintf(`"minute";q=%d;w=60`, rt.Limit))
		h.Set("RateLimit", fmt.Sprintf(`"minute";r=%d;t=%d`, rt.Remaining, max(0, int(math.Ceil(time.Until(rt.Reset).Seconds())))))
	}
	if c := st.credits; c != nil {
		h.Set("X-Credits-Remaining", strconv.FormatInt(int64(*c), 10))
	}
	h.Set("Server-Timing", st.serverTiming())
	st.status = status
	w.WriteHeader(status)
}

// completeAccounting makes the headers of an authenticated answer true when
// its handler ended before the database told it where the key stands: every
// authenticated request counts once against its key's rate limit, and every
// POST /generate answer to a prepaid tenant carries its credits.
func (s *Server) completeAccounting(r *http.Request, st *requestState) {
	p := st.principal
	if p == nil {
		return
	}
	wantCredits := st.route.Function == "generate" && !st.creditsKnown && p.Client != nil
	switch {
	case st.rate == nil:
		rate, credits, err := s.store.HitRate(r.Context(), p)
		if err != nil {
			return
		}
		st.rate = &rate
		if wantCredits {
			st.credits, st.creditsKnown = credits, true
		}
	case wantCredits:
		if c, err := s.store.Credits(r.Context(), p.Client.ID); err == nil {
			st.credits, st.creditsKnown = c, true
		}
	}
}
