package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// ListGenerations serves GET /generations.
func ListGenerations(w http.ResponseWriter, r *http.Request) { app.Serve("generations", w, r) }
