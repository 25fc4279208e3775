package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// Generate serves POST /generate.
func Generate(w http.ResponseWriter, r *http.Request) { app.Serve("generate", w, r) }
