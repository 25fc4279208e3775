package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// Asset serves GET /assets/:token.
func Asset(w http.ResponseWriter, r *http.Request) { app.Serve("asset", w, r) }
