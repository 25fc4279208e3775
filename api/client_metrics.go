package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// ClientMetrics serves GET /metrics/client/:id.
func ClientMetrics(w http.ResponseWriter, r *http.Request) { app.Serve("client_metrics", w, r) }
