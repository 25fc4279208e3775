package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// GetGeneration serves GET /generate/:id.
func GetGeneration(w http.ResponseWriter, r *http.Request) { app.Serve("generation", w, r) }
