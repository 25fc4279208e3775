package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// Credits returns a tenant's unreserved prepaid balance, nil for postpaid.
func (s *Store) Credits(ctx context.Context, clientID uuid.UUID) (*tryon.Micros, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var credits *int64
	err := s.pool.QueryRow(ctx, `
SELECT tryon_credits_remaining($1)`, clientID).Scan(&credits)
	if err != nil || credits == nil {
		return nil, translate(err, "credits")
	}
	m := tryon.Micros(*credits)
	return &m, nil
}
