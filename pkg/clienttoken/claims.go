package clienttoken

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Limits of a token's claims.
const (
	// MaxLifetime is the longest a token may live (exp - iat).
	MaxLifetime = time.Hour
	// DefaultLifetime is what POST /tokens gives when not asked for more.
	DefaultLifetime = 15 * time.Minute
	// MaxOrigins is how many origins one token may name.
	MaxOrigins = 10
	// MaxIDLength bounds sub and jti.
	MaxIDLength = 128
	// Leeway forgives clock skew between a tenant's server and ours when
	// checking exp and iat.
	Leeway = 30 * time.Second
)

// Claims are a client token's JWT claims (see the package comment).
type Claims struct {
	jwt.RegisteredClaims
	Mode           tryon.Mode `json:"mode"`
	Origins        []string   `json:"origins"`
	Scope          string     `json:"scope"`
	MaxGenerations *int64     `json:"max_generations,omitempty"`
	MaxSpendMicros *int64     `json:"max_spend_micros,omitempty"`
}

// Scopes splits the scope claim.
func (c *Claims) Scopes() []tryon.Scope {
	var out []tryon.Scope
	for _, s := range strings.Fields(c.Scope) {
		out = append(out, tryon.Scope(s))
	}
	return out
}

// check validates what the JWT library does not: the claims of ours, and a
// lifetime of at most MaxLifetime. The time claims' presence and values are
// checked by the parser.
func (c *Claims) check() error {
	if n := len(c.Subject); n < 1 || n > MaxIDLength {
		return fmt.Errorf("sub must be 1 to %d characters", MaxIDLength)
	}
	if n := len(c.ID); n < 1 || n > MaxIDLength {
		return fmt.Errorf("jti must be 1 to %d characters", MaxIDLength)
	}
	if !c.Mode.Valid() {
		return fmt.Errorf("mode must be live or test")
	}
	if msg := CheckOrigins(c.Origins); msg != "" {
		return fmt.Errorf("origins %s", msg)
	}
	if msg := CheckScopes(c.Scopes()); msg != "" {
		return fmt.Errorf("scope %s", msg)
	}
	if c.MaxGenerations != nil && *c.MaxGenerations < 1 {
		return fmt.Errorf("max_generations must be at least 1")
	}
	if c.MaxSpendMicros != nil && *c.MaxSpendMicros < 0 {
		return fmt.Errorf("max_spend_micros must not be negative")
	}
	if c.IssuedAt == nil || c.ExpiresAt == nil {
		return fmt.Errorf("iat and exp are required")
	}
	if c.ExpiresAt.Sub(c.IssuedAt.Time) > MaxLifetime {
		return fmt.Errorf("the token lives longer than 1 hour (exp - iat)")
	}
	return nil
}

// CheckScopes says what is wrong with a list of scopes ("" when nothing).
func CheckScopes(scopes []tryon.Scope) string {
	if len(scopes) == 0 {
		return "must name at least one scope (generate, read)"
	}
	for _, s := range scopes {
		if s != tryon.ScopeGenerate && s != tryon.ScopeRead {
			return fmt.Sprintf("has unknown scope %q (known: generate, read)", s)
		}
	}
	return ""
}

// CheckOrigins says what is wrong with a list of origins ("" when nothing).
func CheckOrigins(origins []string) string {
	if len(origins) < 1 || len(origins) > MaxOrigins {
		return fmt.Sprintf("must list 1 to %d origins", MaxOrigins)
	}
	for _, o := range origins {
		if msg := checkOrigin(o); msg != "" {
			return fmt.Sprintf("%q %s", o, msg)
		}
	}
	return ""
}

// checkOrigin accepts what a browser sends as Origin, written exactly:
// https://host[:port], or http:// only for localhost and 127.0.0.1 (local
// development). No path, no trailing slash, lower case, since Origin is
// compared as a string.
func checkOrigin(o string) string {
	const want = "is not an origin like https://shop.example (scheme and host, no path)"
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" ||
		strings.HasSuffix(o, "/") || u.Opaque != "" {
		return want
	}
	if o != strings.ToLower(o) {
		return "must be lower case, as browsers send it"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if h := u.Hostname(); h == "localhost" || h == "127.0.0.1" {
			return ""
		}
		return "must use https (http is allowed only for localhost and 127.0.0.1)"
	}
	return want
}
