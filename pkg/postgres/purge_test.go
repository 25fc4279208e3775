package postgres_test

import (
	"context"
	"testing"

	"github.com/tryonhq/tryon/pkg/pgtest"
)

// The sweep's housekeeping forgets end users' rate counters once they are
// idle: one row per end user ever seen would otherwise grow without end.
// A counter whose time is past limits nothing, so forgetting it changes no
// answer.
func TestPurgeForgetsIdleEndUserRateCounters(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	tenant := seedTenants(t, s, 1)[0]
	if _, err := s.Pool().Exec(ctx, `INSERT INTO end_user_rate_counters (client_id, end_user, tat) VALUES
		($1, 'idle', now() - interval '2 hours'), ($1, 'active', now() + interval '10 seconds')`, tenant.ClientID); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeExpired(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := s.Pool().Query(ctx, `SELECT end_user FROM end_user_rate_counters WHERE client_id = $1`, tenant.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		left = append(left, u)
	}
	if len(left) != 1 || left[0] != "active" {
		t.Errorf("end users left %v, want [active]", left)
	}
}
