package main

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tryonhq/tryon/pkg/apptest"
	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/tryon"
)

var (
	secretRE = regexp.MustCompile(`secret:\s+(tryon_signing_[A-Za-z0-9_-]{43})`)
	kidRE    = regexp.MustCompile(`kid:\s+(\d+)`)
	issRE    = regexp.MustCompile(`iss:\s+([0-9a-f-]{36})`)
)

// TestTokenSecretRotate mints a token offline with the secret the CLI
// prints, as a shop's server would, and uses it; a rotation without grace
// ends it.
func TestTokenSecretRotate(t *testing.T) {
	db := pgtest.URL(t)
	c := cli{t, db}
	c.must("client", "create", "boutique")
	mint := func(out string) string {
		t.Helper()
		secret, kid, iss := secretRE.FindStringSubmatch(out), kidRE.FindStringSubmatch(out), issRE.FindStringSubmatch(out)
		if secret == nil || kid == nil || iss == nil {
			t.Fatalf("rotate printed no secret, kid and iss:\n%s", out)
		}
		version, _ := strconv.Atoi(kid[1])
		now := time.Now()
		tok, err := clienttoken.Mint(secret[1], version, clienttoken.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: iss[1], Subject: "shopper-1", ID: "order-7",
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute))},
			Mode: tryon.ModeTest, Origins: []string{"https://boutique.example"}, Scope: "generate read",
		})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	generate := func(tok string) int {
		env := apptest.New(t, apptest.Options{DatabaseURL: db}) // a fresh instance: nothing cached
		return env.Do(http.MethodPost, "/generate", "", map[string]any{"prompt": "a hat"},
			"Authorization", "Bearer "+tok, "Origin", "https://boutique.example").Status
	}

	first := c.must("client", "token-secret", "rotate", "boutique")
	if !strings.Contains(first, "kid:     1") {
		t.Fatalf("the first secret is not version 1:\n%s", first)
	}
	old := mint(first)
	if got := generate(old); got != 200 {
		t.Fatalf("an offline token: %d", got)
	}
	second := c.must("client", "token-secret", "rotate", "boutique")
	if secretRE.FindString(second) == secretRE.FindString(first) || !strings.Contains(second, "kid:     2") {
		t.Fatalf("the second rotation:\n%s", second)
	}
	if got := generate(old); got != 200 {
		t.Fatalf("within the default grace, the old secret's token: %d", got)
	}
	third := c.must("client", "token-secret", "rotate", "boutique", "-grace", "0")
	if got := generate(old); got != 401 {
		t.Fatalf("after a rotation without grace, the old secret's token: %d, want 401", got)
	}
	if got := generate(mint(third)); got != 200 {
		t.Fatalf("the newest secret's token: %d", got)
	}

	for _, args := range [][]string{
		{"client", "token-secret"},
		{"client", "token-secret", "show", "boutique"},
		{"client", "token-secret", "rotate"},
		{"client", "token-secret", "rotate", "boutique", "-grace", "-1m"},
	} {
		if _, err := c.run(args...); err == nil {
			t.Errorf("tryon %v: no error", args)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("tryon %v: got %v, want a usage error", args, err)
		}
	}
	if _, err := c.run("client", "token-secret", "rotate", "nobody"); err == nil {
		t.Error("rotated the secret of a client that does not exist")
	}
}
