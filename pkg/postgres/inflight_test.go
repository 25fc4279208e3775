package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/tryonhq/tryon/pkg/pgtest"
)

// TestInFlightCountSkipsFinishedGenerations: a finished generation leaves a
// stale entry in the partial indexes on processing generations until
// vacuum, which on a big generations table comes rarely. Admission counts a
// tenant's generations in flight on every request, so the count must mark
// the stale entries it passes as dead (an index scan does; a bitmap or
// sequential scan, which the planner prefers once statistics show a tenant
// with many generations processing, does not), and the next count must
// pass over them (in this test a tenth of them stay unmarked, and are read
// again: still far from all). The test gives one tenant 20,000 generations in flight,
// lets the planner see them, finishes all but ten, and counts three times
// on a fresh connection, reading how many rows and index entries each
// count took from the server's own counters for the transaction.
func TestInFlightCountSkipsFinishedGenerations(t *testing.T) {
	ctx := context.Background()
	s := pgtest.NewStore(t)
	c, key := tenant(t, s, nil)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := s.Pool().Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	// Vacuum would clear the stale entries before the counts: not on a
	// big table under load, and not here.
	exec(`ALTER TABLE generations SET (autovacuum_enabled = false)`)
	exec(`INSERT INTO generations (id, client_id, key_id, status, mode, service, provider, model, prompt, width, height, price_micros, deadline)
		SELECT gen_random_uuid(), $1, $2, 'processing', 'live', 'banana', 'fake', 'fake', 'p', 1, 1, 1, now() + interval '1 hour'
		FROM generate_series(1, 20000)`, c.ID, key.ID)
	exec(`ANALYZE generations`)
	exec(`UPDATE generations SET status = 'succeeded', completed_at = now(), cost_micros = 0
		WHERE client_id = $1 AND id NOT IN (SELECT id FROM generations WHERE client_id = $1 ORDER BY id LIMIT 10)`, c.ID)

	conn, err := pgx.Connect(ctx, s.Pool().Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	// read is what this transaction has read of generations so far: rows
	// returned by scans of the table and by scans of its indexes.
	read := func() int64 {
		t.Helper()
		var n int64
		if err := tx.QueryRow(ctx, `SELECT pg_stat_get_xact_tuples_returned('generations'::regclass)
				+ (SELECT sum(pg_stat_get_xact_tuples_returned(indexrelid)) FROM pg_index WHERE indrelid = 'generations'::regclass)::bigint`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	count := func() (slots int, cost int64) {
		t.Helper()
		before := read()
		if err := tx.QueryRow(ctx, `SELECT slots FROM tryon_in_flight($1)`, c.ID).Scan(&slots); err != nil {
			t.Fatal(err)
		}
		return slots, read() - before
	}
	var first int64
	for i := range 3 {
		slots, cost := count()
		if slots != 10 {
			t.Fatalf("count %d: %d in flight, want 10", i+1, slots)
		}
		t.Logf("count %d read %d rows and index entries", i+1, cost)
		if i == 0 {
			first = cost
		} else if cost*5 > first {
			t.Fatalf("count %d read %d rows and index entries, the first %d: the finished generations' entries were not marked dead", i+1, cost, first)
		}
	}
}
