package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// Misconfigured serves a deployment that could not be built (its
// configuration is invalid): every request gets 500 internal in the one
// envelope, with the headers every answer carries, and its log line holds
// the cause (the variable at fault) under the request's id. The caller
// learns only that the deployment is broken.
func Misconfigured(cause error, log *slog.Logger) http.Handler {
	s := &Server{log: log}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &requestState{id: newRequestID(), start: time.Now()}
		r = withState(r, st)
		w = &headWriter{ResponseWriter: w, s: s, r: r, st: st}
		defer s.logRequest(r, st)
		s.writeError(w, r, &tryon.Error{Code: tryon.CodeInternal, Message: "configuration", Cause: cause}, nil)
	})
}
