package tryon

import "time"

// Scope is what a client token may do.
type Scope string

// The scopes of a client token.
const (
	// ScopeGenerate allows POST /generate.
	ScopeGenerate Scope = "generate"
	// ScopeRead allows GET /generate/:id of the token's own end user's
	// generations.
	ScopeRead Scope = "read"
)

// ClientToken is a verified client token: a short-lived grant a tenant gave
// one of its end users, so that a browser can call the API without the
// tenant's secret key. A request made with one carries it in its Principal.
type ClientToken struct {
	// ID is the token's jti, which its caps are counted against.
	ID string
	// EndUser is the tenant's id for the person using the browser (sub).
	EndUser string
	Mode    Mode
	// Origins are the exact browser origins the token works from.
	Origins []string
	Scopes  []Scope
	// MaxGenerations and MaxSpendMicros cap what the token may do in total;
	// nil means no cap beyond the tenant's own limits.
	MaxGenerations *int64
	MaxSpendMicros *Micros
	// Version is the tenant's signing secret version that signed it.
	Version   int
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Allows reports whether the token carries a scope.
func (t *ClientToken) Allows(s Scope) bool {
	for _, have := range t.Scopes {
		if have == s {
			return true
		}
	}
	return false
}

// AllowsOrigin reports whether a request's Origin header is one the token
// names, exactly.
func (t *ClientToken) AllowsOrigin(origin string) bool {
	for _, o := range t.Origins {
		if o == origin {
			return true
		}
	}
	return false
}
