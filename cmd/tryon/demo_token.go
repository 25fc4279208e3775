package main

import (
	"net/http"

	"github.com/tryonhq/tryon/pkg/app"
)

// newDemoShop builds the demo shop for the demo tenant whose test key is
// testKey (the fake provider, never billed).
//
// Until Tryon mints client tokens, the demo's token endpoint hands the
// browser the test key itself, which the API accepts as a bearer token.
// Only acceptable for a local demo with a test key.
func newDemoShop(a *app.App, testKey string) *demoShop {
	_ = a
	return &demoShop{mint: func(*http.Request) (string, string, error) { return testKey, "", nil }}
}
