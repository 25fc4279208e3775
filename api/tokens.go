package handler

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// CreateToken serves POST /tokens.
func CreateToken(w http.ResponseWriter, r *http.Request) { app.Serve("tokens", w, r) }
