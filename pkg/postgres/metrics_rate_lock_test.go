package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
)

// A metrics read counts against its key's rate limit in the same implicit
// transaction as its reads. Counting locks the key's rate_counters row until
// that transaction ends, so it must come after the reads: otherwise one
// key's metrics reads run one at a time. The test stops a read in the middle
// (a lock on the rollups it reads) and checks that meanwhile the key's rate
// row is free.
func TestMetricsReadDoesNotLockTheRateRowWhileReading(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	tenant := seedTenants(t, s, 1)[0]
	// One connection, so that the warm-up below leaves the statements
	// described on the connection the read uses: the read then sends them
	// at once instead of describing them first.
	pool, err := postgres.OpenPool(s.Pool().Config().ConnString(), postgres.PoolOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reader := postgres.NewStore(pool)
	w := window(t, "", time.Now())
	if _, err := reader.ReadMetrics(ctx, tenant.Principal(), tenant.ClientID, w); err != nil {
		t.Fatal(err)
	}

	block, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer block.Rollback(ctx)
	if _, err := block.Exec(ctx, `LOCK TABLE usage_daily IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := reader.ReadMetrics(ctx, tenant.Principal(), tenant.ClientID, w)
		done <- err
	}()
	// Wait until the read waits on the lock: it is then in the middle of its
	// batch.
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var waiting bool
		if err := s.Pool().QueryRow(waitCtx, `SELECT EXISTS (SELECT FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%usage_daily%' AND pid <> pg_backend_pid())`).Scan(&waiting); err != nil {
			t.Fatalf("waiting for the read to block: %v", err)
		}
		if waiting {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the read finished despite the lock: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}

	probe, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, lockErr := probe.Exec(ctx, `SELECT FROM rate_counters WHERE key_id = $1 FOR UPDATE NOWAIT`, tenant.KeyID)
	_ = probe.Rollback(ctx)
	if err := block.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("read: %v", err)
	}
	if lockErr != nil {
		t.Fatalf("the key's rate row is locked while the read is still reading: %v", lockErr)
	}
}
