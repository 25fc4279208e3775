package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// Topup serves POST /billing/topup.
func Topup(w http.ResponseWriter, r *http.Request) { app.Serve("topup", w, r) }
