package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// AssetPathPrefix is where the API serves stored outputs.
const AssetPathPrefix = "/assets/"

// Assets stores generation outputs in Postgres and serves them from
// GET /assets/{token}: the default storage, needing no other service. It
// implements tryon.Storage.
type Assets struct{ Store *Store }

// Put stores data under a new unguessable token (128 random bits) and returns
// its path, which the HTTP layer makes absolute. The name only contributes
// its extension, so a browser saving the file gets a sensible name.
func (a Assets) Put(ctx context.Context, name, contentType string, data []byte) (string, error) {
	path, staged, err := a.Stage(name, contentType, data)
	if err != nil {
		return "", err
	}
	ctx, cancel := a.Store.op(ctx)
	defer cancel()
	if _, err := a.Store.pool.Exec(ctx, insertAsset, staged.Token, staged.ContentType, staged.Data); err != nil {
		return "", translate(err, "store asset")
	}
	return path, nil
}

const insertAsset = `INSERT INTO assets (token, content_type, data) VALUES ($1, $2, $3)`

// Stage names an output's token and path without writing it: the
// generation's finishing transaction writes it (FinishGeneration), with the
// success it belongs to, in the same round trip and commit.
func (a Assets) Stage(name, contentType string, data []byte) (string, *tryon.StagedOutput, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	path := AssetPathPrefix + token
	if i := strings.LastIndexByte(name, '.'); i >= 0 && !strings.ContainsAny(name[i:], "/?#") {
		path += name[i:]
	}
	return path, &tryon.StagedOutput{Token: token, ContentType: contentType, Data: data}, nil
}

// FindAsset returns a stored output by token; a trailing extension is
// ignored. A deleted output is tryon.ErrGone, an unknown token
// tryon.ErrNotFound.
func (s *Store) FindAsset(ctx context.Context, token string) (*tryon.Asset, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	if i := strings.IndexByte(token, '.'); i >= 0 {
		token = token[:i]
	}
	if len(token) != 22 {
		return nil, tryon.ErrNotFound
	}
	a := &tryon.Asset{Token: token}
	// One round trip for both answers: the bytes, or the tombstone of an
	// output deleted by retention or erasure (410, not 404).
	var contentType *string
	var erased bool
	err := s.pool.QueryRow(ctx, `
		SELECT a.content_type, a.data, EXISTS (SELECT 1 FROM erased_assets e WHERE e.token = $1)
		FROM (SELECT) q LEFT JOIN assets a ON a.token = $1`, token).Scan(&contentType, &a.Data, &erased)
	switch {
	case err != nil:
		return nil, translate(err, "find asset")
	case contentType != nil:
		a.ContentType = *contentType
		return a, nil
	case erased:
		return nil, tryon.ErrGone
	}
	return nil, tryon.ErrNotFound
}
