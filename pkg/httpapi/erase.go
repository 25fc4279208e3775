package httpapi

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// deletedGeneration is DELETE /generate/:id's answer: Stripe's shape for a
// deleted object.
type deletedGeneration struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Deleted bool   `json:"deleted"`
}

// handleDeleteGeneration erases one of the caller's generations at once:
// its outputs from every store, its prompt and metadata (the billing
// records stay). Idempotent; 404 for another tenant's; 409 while it runs.
func (s *Server) handleDeleteGeneration(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	if st.principal.Token != nil {
		// A browser's client token may read its end user's generation,
		// never erase it: erasure is the tenant's call, from its server.
		s.writeError(w, r, tryon.Errorf(tryon.CodeForbidden, "client tokens cannot delete generations; call DELETE /generate/:id from your server with a secret key"), nil)
		return
	}
	if err := s.hitRate(r); err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	id, err := uuid.Parse(st.route.param(r, "id"))
	if err != nil {
		s.writeError(w, r, tryon.ErrNotFound, nil)
		return
	}
	if s.runner.Eraser == nil {
		s.writeError(w, r, tryon.Errorf(tryon.CodeInternal, "erasure is not configured"), nil)
		return
	}
	if err := s.runner.Eraser.Erase(r.Context(), st.principal, id, s.baseURL(r)); err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	s.writeData(w, r, http.StatusOK, deletedGeneration{ID: id.String(), Object: "generation", Deleted: true})
}
