package httpapi

import (
	"encoding/json"
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
	w.WriteHeader(status)
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
