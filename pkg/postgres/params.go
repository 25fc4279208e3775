package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// RecordParams records the try-on and output parameters of a generation
// just admitted. It runs apart from admission so that admission stays the
// same for every request; only requests with parameters pay its round trip.
func (s *Store) RecordParams(ctx context.Context, id uuid.UUID, p *tryon.Params) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `UPDATE generations SET params = $2 WHERE id = $1`, id, p)
	return translate(err, "record params")
}

// SetDefaultService sets the service a tenant's requests get when they
// name none; "" restores banana.
func (s *Store) SetDefaultService(ctx context.Context, clientID uuid.UUID, svc tryon.Service) error {
	ctx, cancel := s.op(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `UPDATE clients SET default_service = nullif($2, ''), updated_at = now() WHERE id = $1`,
		clientID, string(svc))
	if err != nil {
		return translate(err, "set default service")
	}
	if tag.RowsAffected() == 0 {
		return tryon.ErrNotFound
	}
	return nil
}
