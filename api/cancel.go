package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// CancelGeneration serves POST /generate/:id/cancel.
func CancelGeneration(w http.ResponseWriter, r *http.Request) { app.Serve("cancel", w, r) }
