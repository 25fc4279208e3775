package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// NotFound serves every other path (a JSON 404).
func NotFound(w http.ResponseWriter, r *http.Request) { app.Serve("not_found", w, r) }
