package httpapi

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/generation"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/wire"
)

// handleCancelGeneration serves POST /generate/:id/cancel: 200 with the
// canceled generation (again, for one canceled before), 409
// generation_finished with the generation when it already succeeded or
// failed, 404 for an id that is not the caller's. The request has no body.
func (s *Server) handleCancelGeneration(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	id, err := uuid.Parse(st.route.param(r, "id"))
	if err != nil {
		s.writeError(w, r, tryon.ErrNotFound, nil)
		return
	}
	base := s.baseURL(r)
	g, rate, err := s.runner.Cancel(r.Context(), st.principal, id, generation.ReadOptions{PlatformDeadline: platformDeadline(r), BaseURL: base})
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
