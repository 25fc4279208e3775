package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tryonhq/tryon/pkg/app"
)

// newDemoShop builds the demo shop for the demo tenant whose test key is
// testKey (the fake provider, never billed). Its token endpoint does what a
// shop's server does: it calls POST /tokens with the secret key (here
// in-process, through the same handler that serves the API) for a token
// that works only from the page's origin, and passes the token on.
func newDemoShop(a *app.App, testKey string) *demoShop {
	api := a.Server.Handler()
	return &demoShop{mint: func(r *http.Request) (string, string, error) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			origin = "http://" + r.Host
		}
		body, _ := json.Marshal(map[string]any{"user": "demo-shopper", "origins": []string{origin}})
		req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, "/tokens", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testKey)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		var env struct {
			Data struct {
				Token     string `json:"token"`
				ExpiresAt string `json:"expires_at"`
			} `json:"data"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != http.StatusCreated || env.Data.Token == "" {
			return "", "", fmt.Errorf("POST /tokens: %d %s", rec.Code, env.Error)
		}
		return env.Data.Token, env.Data.ExpiresAt, nil
	}}
}
