package httpapi

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/tryon"
)

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, tryon.Errorf(tryon.CodeNotFound, "metrics are not available yet"), nil)
}

func (s *Server) handleClientMetrics(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, tryon.Errorf(tryon.CodeNotFound, "metrics are not available yet"), nil)
}
