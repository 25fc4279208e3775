package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// Metrics serves GET /metrics.
func Metrics(w http.ResponseWriter, r *http.Request) { app.Serve("metrics", w, r) }
