package httpapi

import (
	"fmt"
	"net/http"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/wire"
)

// tokenRequest is POST /tokens's body.
type tokenRequest struct {
	User           string        `json:"user"`
	Origins        []string      `json:"origins"`
	ExpiresIn      *int64        `json:"expires_in"`
	Scopes         []tryon.Scope `json:"scopes"`
	MaxGenerations *int64        `json:"max_generations"`
	MaxSpendMicros *int64        `json:"max_spend_micros"`
}

// tokenData is POST /tokens's answer.
type tokenData struct {
	Token          string        `json:"token"`
	TokenType      string        `json:"token_type"`
	ExpiresAt      string        `json:"expires_at"`
	User           string        `json:"user"`
	Origins        []string      `json:"origins"`
	Scopes         []tryon.Scope `json:"scopes"`
	Mode           tryon.Mode    `json:"mode"`
	MaxGenerations *int64        `json:"max_generations,omitempty"`
	MaxSpendMicros *int64        `json:"max_spend_micros,omitempty"`
}

// validate checks the request and fills in the defaults.
func (req *tokenRequest) validate() error {
	var details []tryon.FieldError
	if n := len(req.User); n < 1 || n > clienttoken.MaxIDLength {
		details = append(details, tryon.FieldError{Field: "user", Message: fmt.Sprintf("must be 1 to %d characters", clienttoken.MaxIDLength)})
	}
	if msg := clienttoken.CheckOrigins(req.Origins); msg != "" {
		details = append(details, tryon.FieldError{Field: "origins", Message: msg})
	}
	if req.ExpiresIn == nil {
		d := int64(clienttoken.DefaultLifetime.Seconds())
		req.ExpiresIn = &d
	}
	if max := int64(clienttoken.MaxLifetime.Seconds()); *req.ExpiresIn < 1 || *req.ExpiresIn > max {
		details = append(details, tryon.FieldError{Field: "expires_in", Message: fmt.Sprintf("must be 1 to %d seconds", max)})
	}
	if req.Scopes == nil {
		req.Scopes = []tryon.Scope{tryon.ScopeGenerate, tryon.ScopeRead}
	}
	if msg := clienttoken.CheckScopes(req.Scopes); msg != "" {
		details = append(details, tryon.FieldError{Field: "scopes", Message: msg})
	}
	if req.MaxGenerations != nil && *req.MaxGenerations < 1 {
		details = append(details, tryon.FieldError{Field: "max_generations", Message: "must be at least 1"})
	}
	if req.MaxSpendMicros != nil && *req.MaxSpendMicros < 0 {
		details = append(details, tryon.FieldError{Field: "max_spend_micros", Message: "must not be negative"})
	}
	if len(details) > 0 {
		return tryon.Invalid(details...)
	}
	return nil
}

// handleCreateToken serves POST /tokens: a tenant's server asks for a client
// token for one of its end users, signed with the tenant's current signing
// secret, so it needs no JWT code of its own.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	st := stateOf(r)
	var req tokenRequest
	if _, err := decode(r, &req); err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	if err := req.validate(); err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	fresh, err := clienttoken.NewSecret()
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	secret, version, err := s.store.CurrentTokenSecret(r.Context(), st.principal.Client.ID, fresh)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	now := time.Now()
	expires := now.Add(time.Duration(*req.ExpiresIn) * time.Second)
	mode := st.principal.Key.Kind.Mode()
	scope := ""
	for i, sc := range req.Scopes {
		if i > 0 {
			scope += " "
		}
		scope += string(sc)
	}
	claims := clienttoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: st.principal.Client.ID.String(), Subject: req.User, ID: uuid.NewString(),
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(expires),
		},
		Mode: mode, Origins: req.Origins, Scope: scope,
		MaxGenerations: req.MaxGenerations, MaxSpendMicros: req.MaxSpendMicros,
	}
	token, err := clienttoken.Mint(secret, version, claims)
	if err != nil {
		s.writeError(w, r, err, nil)
		return
	}
	s.writeData(w, r, http.StatusCreated, tokenData{
		Token: token, TokenType: "Bearer", ExpiresAt: wire.Time(claims.ExpiresAt.Time),
		User: req.User, Origins: req.Origins, Scopes: req.Scopes, Mode: mode,
		MaxGenerations: req.MaxGenerations, MaxSpendMicros: req.MaxSpendMicros,
	})
}
