package postgres

import (
	"context"
	"errors"
	"strings"
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

// minRevokePrefix is the shortest prefix RevokeKey takes: "tryon_" and a
// little more, so that a slip of the finger names no key by accident.
const minRevokePrefix = 8

// RevokeKey revokes exactly one key, named by its id, by the whole key (its
// digest), or by any prefix of it that names no other key: the 17
// characters listings show, fewer, or more. An ambiguous prefix revokes
// nothing and says which keys it matches. Revoking twice is harmless and
// keeps the first time.
func (s *Store) RevokeKey(ctx context.Context, ref string) (*tryon.APIKey, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	match, arg := "k.prefix <> '' AND (starts_with(k.prefix, $1) OR starts_with($1, k.prefix))", any(ref)
	if id, err := uuid.Parse(ref); err == nil {
		match, arg = "k.id = $1", id
	} else if key, err := apikey.Parse(ref); err == nil {
		digest := key.Digest()
		match, arg = "k.digest = $1", digest[:]
	} else if len(ref) < minRevokePrefix {
		return nil, tryon.Errorf(tryon.CodeInvalidRequest, "give the key id, the key, or at least %d characters of it", minRevokePrefix)
	}
	var out *tryon.APIKey
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT k.id FROM api_keys k WHERE `+match+` ORDER BY k.created_at FOR UPDATE`, arg)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		switch len(ids) {
		case 0:
			return tryon.ErrNotFound
		case 1:
		default:
			names := make([]string, len(ids))
			for i, id := range ids {
				names[i] = id.String()
			}
			return tryon.Errorf(tryon.CodeInvalidRequest, "%q matches %d keys (%s): revoke one by its id or give more of the key",
				ref, len(ids), strings.Join(names, ", "))
		}
		var k tryon.APIKey
		if err := tx.QueryRow(ctx, `UPDATE api_keys k SET revoked_at = coalesce(revoked_at, now())
			WHERE k.id = $1 RETURNING `+keyColumns, ids[0]).Scan(keyDest(&k)...); err != nil {
			return err
		}
		out = &k
		return nil
	})
	var refused *tryon.Error
	if errors.As(err, &refused) {
		return nil, refused
	}
	if err != nil {
		return nil, translate(err, "revoke key")
	}
	return out, nil
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
	var defaultService *string
	err := s.pool.QueryRow(ctx, `
		SELECT `+keyColumns+`, c.id, c.name, c.status, c.requests_per_minute, c.max_concurrent, c.default_service
		FROM api_keys k LEFT JOIN clients c ON c.id = k.client_id
		WHERE k.digest = $1`, digest[:]).Scan(append(keyDest(&p.Key), &cid, &name, &status, &rpm, &maxc, &defaultService)...)
	if err != nil {
		return nil, translate(err, "find key")
	}
	if cid != nil {
		p.Client = &tryon.Client{ID: *cid, Name: *name, Status: tryon.ClientStatus(*status),
			RequestsPerMinute: *rpm, MaxConcurrent: *maxc, DefaultService: tryon.Service(deref(defaultService))}
	}
	return &p, nil
}
