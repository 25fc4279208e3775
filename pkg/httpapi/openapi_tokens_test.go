package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// TestOpenAPIContractClientTokens holds POST /tokens and the answers to
// requests made with client tokens to the document, as TestOpenAPIContract
// does for API keys.
func TestOpenAPIContractClientTokens(t *testing.T) {
	doc := loadOpenAPI(t)
	env := apptest.New(t, apptest.Options{})
	shop := env.Tenant(apptest.TenantOptions{RequestsPerMinute: 1000})
	admin := env.Key(nil, tryon.KeyAdmin, nil)
	c := &contract{t: t, doc: doc, env: env}

	body := map[string]any{"user": "customer-42", "origins": []string{shopOrigin}, "max_generations": 5, "max_spend_micros": 100000}
	c.do("POST", "/tokens", "/tokens", shop.LiveKey, body, 201)
	tok := issueToken(t, env, shop.TestKey, map[string]any{"user": "customer-42", "origins": []string{shopOrigin}})
	c.do("POST", "/tokens", "/tokens", shop.TestKey, map[string]any{"user": "", "origins": []string{"http://shop.example"}}, 400)
	c.do("POST", "/tokens", "/tokens", "", body, 401)
	c.do("POST", "/tokens", "/tokens", admin, body, 403)
	c.do("POST", "/tokens", "/tokens", shop.TestKey, `{}`, 415, "Content-Type", "text/plain")

	page := func(origin string) []string {
		return []string{"Authorization", "Bearer " + tok.Token, "Origin", origin}
	}
	g := c.generation(c.do("POST", "/generate", "/generate", "", map[string]any{"prompt": "a hat"}, 200, page(shopOrigin)...))
	c.do("POST", "/generate", "/generate", "", map[string]any{"prompt": "a hat"}, 403, page("https://evil.example")...)
	c.do("POST", "/generate", "/generate", "", map[string]any{"prompt": "a hat"}, 401,
		"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "Origin", shopOrigin)
	c.do("GET", "/generate/{id}", "/generate/"+g.ID, "", nil, 200, page(shopOrigin)...)
	own := env.Generate(shop.TestKey, map[string]any{"prompt": "a scarf"}).Generation(t)
	c.do("GET", "/generate/{id}", "/generate/"+own.ID, "", nil, 404, page(shopOrigin)...)
	c.do("OPTIONS", "/generate", "/generate", "", nil, http.StatusNoContent,
		"Origin", "https://any.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization")
}
