package httpapi

import (
	"net/http"
)

// handleCancelGeneration serves POST /generate/:id/cancel: 200 with the
// canceled generation (again, for one canceled before), 409
// generation_finished with the generation when it already succeeded or
// failed, 404 for an id that is not the caller's. The request has no body.
func (s *Server) handleCancelGeneration(w http.ResponseWriter, r *http.Request) {
	s.serveGeneration(w, r, s.runner.Cancel)
}
