package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// ClaimPoll takes a long job's poll lease for lease, when it is processing,
// due and nobody else holds it, and returns the generation as it stands,
// in one round trip. A waiting POST claims it before each poll, as readers
// and the sweep do, so a finished video is downloaded and stored once.
func (s *Store) ClaimPoll(ctx context.Context, id uuid.UUID, lease time.Duration) (bool, *tryon.Generation, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	var claimed bool
	row := s.pool.QueryRow(ctx, `
		WITH claim AS (
			UPDATE generations SET poll_lease_until = now() + $2 * interval '1 millisecond'
			WHERE id = $1 AND status = 'processing' AND operation IS NOT NULL AND deadline > now()
			  AND (poll_lease_until IS NULL OR poll_lease_until <= now())
			RETURNING id)
		SELECT EXISTS (SELECT 1 FROM claim), `+generationColumns+` FROM generations g WHERE g.id = $1`,
		id, lease.Milliseconds())
	g, err := scanGeneration(claimedRow{row, &claimed})
	if err != nil {
		return false, nil, translate(err, "claim poll")
	}
	return claimed, g, nil
}

// claimedRow scans a leading boolean before the generation's columns.
type claimedRow struct {
	row interface{ Scan(...any) error }
	b   *bool
}

func (r claimedRow) Scan(dest ...any) error {
	return r.row.Scan(append([]any{r.b}, dest...)...)
}
