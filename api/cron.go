package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// Cron serves GET /api/cron (Vercel Cron).
func Cron(w http.ResponseWriter, r *http.Request) { app.Serve("cron", w, r) }
