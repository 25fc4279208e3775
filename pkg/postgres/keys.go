package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/tryon"
)

const keyColumns = `k.id, k.client_id, k.kind, k.name, k.prefix, k.created_at, k.last_used_at, k.expires_at, k.revoked_at`

func keyDest(k *tryon.APIKey) []any {
	return []any{&k.ID, &k.ClientID, &k.Kind, &k.Name, &k.Prefix, &k.CreatedAt, &k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt}
}

// CreateKey stores a new key's digest for a tenant (clientID nil for an admin
// key). The caller shows key.Secret once; it is never stored.
func (s *Store) CreateKey(ctx context.Context, clientID *uuid.UUID, key apikey.Key, name string, expiresAt *time.Time) (*tryon.APIKey, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	digest := key.Digest()
	var k tryon.APIKey
	err = s.pool.QueryRow(ctx, `
		INSERT INTO api_keys AS k (id, client_id, kind, name, digest, prefix, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		RETURNING `+keyColumns, id, clientID, key.Kind, name, digest[:], key.Prefix(), expiresAt).Scan(keyDest(&k)...)
	if err != nil {
		return nil, translate(err, "create key")
	}
	return &k, nil
}

// ListKeys returns a tenant's keys (or the admin keys, for uuid.Nil), oldest first.
func (s *Store) ListKeys(ctx context.Context, clientID uuid.UUID) ([]tryon.APIKey, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var rows pgx.Rows
	var err error
	if clientID == uuid.Nil {
		rows, err = s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys k WHERE client_id IS NULL ORDER BY created_at`)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys k WHERE client_id = $1 ORDER BY created_at`, clientID)
	}
	if err != nil {
		return nil, translate(err, "list keys")
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tryon.APIKey, error) {
		var k tryon.APIKey
		return k, r.Scan(keyDest(&k)...)
	})
	return keys, translate(err, "list keys")
}

// RevokeKey revokes a key by id, or by its shown prefix. Revoking twice is
// harmless and keeps the first time.
func (s *Store) RevokeKey(ctx context.Context, idOrPrefix string) (*tryon.APIKey, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	id, _ := uuid.Parse(idOrPrefix)
	rows, err := s.pool.Query(ctx, `
		UPDATE api_keys k SET revoked_at = coalesce(revoked_at, now())
		WHERE k.id = $1 OR k.prefix = $2
		RETURNING `+keyColumns, id, idOrPrefix)
	if err != nil {
		return nil, translate(err, "revoke key")
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tryon.APIKey, error) {
		var k tryon.APIKey
		return k, r.Scan(keyDest(&k)...)
	})
	if err != nil {
		return nil, translate(err, "revoke key")
	}
	if len(keys) == 0 {
		return nil, tryon.ErrNotFound
	}
	return &keys[0], nil
}

// FindPrincipal returns the key with this digest and its tenant, whether or
// not it is usable: the caller decides about revoked, expired and suspended.
func (s *Store) FindPrincipal(ctx context.Context, digest [32]byte) (*tryon.Principal, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var p tryon.Principal
	var cid *uuid.UUID
	var name, status *string
	var rpm, maxc *int
	err := s.pool.QueryRow(ctx, `
		SELECT `+keyColumns+`, c.id, c.name, c.status, c.requests_per_minute, c.max_concurrent
		FROM api_keys k LEFT JOIN clients c ON c.id = k.client_id
		WHERE k.digest = $1`, digest[:]).Scan(append(keyDest(&p.Key), &cid, &name, &status, &rpm, &maxc)...)
	if err != nil {
		return nil, translate(err, "find key")
	}
	if cid != nil {
		p.Client = &tryon.Client{ID: *cid, Name: *name, Status: tryon.ClientStatus(*status),
			RequestsPerMinute: *rpm, MaxConcurrent: *maxc}
	}
	return &p, nil
}
