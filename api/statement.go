package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// Statement serves GET /billing/statement.
func Statement(w http.ResponseWriter, r *http.Request) { app.Serve("statement", w, r) }
