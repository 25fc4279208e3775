package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/clienttoken"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// RotateTokenSecret makes secret the tenant's current client-token signing
// secret and gives the older ones grace to live (0 ends them now). It
// returns the new secret's version, the kid of the tokens it signs.
func (s *Store) RotateTokenSecret(ctx context.Context, clientID uuid.UUID, secret string, grace time.Duration) (int, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT tryon_rotate_token_secret($1, $2, $3)`,
		clientID, secret, grace.Milliseconds()).Scan(&v); err != nil {
		return 0, translate(err, "rotate token secret")
	}
	return v, nil
}

// CurrentTokenSecret returns the tenant's current signing secret and its
// version, making fresh its first one when it has none.
func (s *Store) CurrentTokenSecret(ctx context.Context, clientID uuid.UUID, fresh string) (secret string, version int, err error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if err := s.pool.QueryRow(ctx, `SELECT version, secret FROM tryon_current_token_secret($1, $2)`,
		clientID, fresh).Scan(&version, &secret); err != nil {
		return "", 0, translate(err, "current token secret")
	}
	return secret, version, nil
}

// FindTokenSigner returns one version of a tenant's signing secret with the
// tenant and its client-token keys, in one round trip: what verifying a
// token needs (clienttoken.LookupFunc).
func (s *Store) FindTokenSigner(ctx context.Context, clientID uuid.UUID, version int) (*clienttoken.Signer, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var sg clienttoken.Signer
	var c tryon.Client
	var liveID, testID *uuid.UUID
	var liveRevoked, testRevoked *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT s.secret, s.valid_until, c.id, c.name, c.status, c.requests_per_minute, c.max_concurrent,
		       coalesce(c.default_service, ''), lk.id, lk.revoked_at, tk.id, tk.revoked_at
		FROM client_token_secrets s
		JOIN clients c ON c.id = s.client_id
		LEFT JOIN client_token_keys l ON l.client_id = s.client_id AND l.mode = 'live'
		LEFT JOIN api_keys lk ON lk.id = l.key_id
		LEFT JOIN client_token_keys t ON t.client_id = s.client_id AND t.mode = 'test'
		LEFT JOIN api_keys tk ON tk.id = t.key_id
		WHERE s.client_id = $1 AND s.version = $2`, clientID, version).Scan(
		&sg.Secret, &sg.ValidUntil, &c.ID, &c.Name, &c.Status, &c.RequestsPerMinute, &c.MaxConcurrent,
		&c.DefaultService, &liveID, &liveRevoked, &testID, &testRevoked)
	if err != nil {
		return nil, translate(err, "find token signer")
	}
	sg.Client = &c
	sg.Keys = map[tryon.Mode]tryon.APIKey{}
	for _, k := range []struct {
		mode    tryon.Mode
		id      *uuid.UUID
		revoked *time.Time
	}{{tryon.ModeLive, liveID, liveRevoked}, {tryon.ModeTest, testID, testRevoked}} {
		if k.id == nil {
			continue
		}
		kind := tryon.KeyLive
		if k.mode == tryon.ModeTest {
			kind = tryon.KeyTest
		}
		sg.Keys[k.mode] = tryon.APIKey{ID: *k.id, ClientID: &c.ID, Kind: kind, Name: "client tokens",
			Prefix: "tryon_" + string(kind) + "_tokens", RevokedAt: k.revoked}
	}
	return &sg, nil
}

// CheckTokenRead counts a client token's read against its end user's rate
// limit and refuses a generation that is not that end user's (as not
// found, revealing nothing about other end users' generations).
func (s *Store) CheckTokenRead(ctx context.Context, p *tryon.Principal, id uuid.UUID) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var limited, owned bool
	var retryMS *int64
	if err := s.pool.QueryRow(ctx, `SELECT limited, retry_after_ms, owned FROM tryon_token_read($1, $2, $3, $4)`,
		p.Key.ID, p.Client.ID, p.Token.EndUser, id).Scan(&limited, &retryMS, &owned); err != nil {
		return translate(err, "check token read")
	}
	switch {
	case limited:
		return endUserRateLimited(deref(retryMS))
	case !owned:
		return tryon.ErrNotFound
	}
	return nil
}

func endUserRateLimited(retryMS int64) error {
	return &tryon.Error{Code: tryon.CodeRateLimited, RetryAfter: time.Duration(retryMS) * time.Millisecond,
		Message: "this end user's rate limit is exceeded; wait before the next request"}
}

// tokenAdmitSQL is tryon_admit_token: tryon_admit's arguments after the
// token's four ($1 to $4).
const tokenAdmitSQL = `SELECT ` + admitColumns + `
		FROM tryon_admit_token($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`

// tokenAdmitArgs are the token's arguments of tryon_admit_token.
func tokenAdmitArgs(t *tryon.ClientToken) []any {
	var spend *int64
	if t.MaxSpendMicros != nil {
		m := int64(*t.MaxSpendMicros)
		spend = &m
	}
	return []any{t.EndUser, t.ID, t.MaxGenerations, spend}
}

// tokenOutcomeError is the answer to the outcomes only a token's admission
// has; nil for the others.
func tokenOutcomeError(outcome string, retryMS int64) error {
	switch outcome {
	case "end_user_rate_limited":
		return endUserRateLimited(retryMS)
	case "token_generations_exhausted":
		return tryon.Errorf(tryon.CodeForbidden, "this client token has made all the generations it allows (max_generations); get a new one")
	case "token_spend_exhausted":
		return tryon.Errorf(tryon.CodeForbidden, "this generation would take the client token over its spending cap (max_spend_micros)")
	}
	return nil
}
