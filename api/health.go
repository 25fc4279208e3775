// Package handler holds the Vercel functions: one file per function, each
// handing its request to the route it serves in pkg/. No logic lives here.
package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// Health serves GET /health.
func Health(w http.ResponseWriter, r *http.Request) { app.Serve("health", w, r) }
