package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/tryonhq/tryon/pkg/apikey"
	"github.com/tryonhq/tryon/pkg/metrics"
	"github.com/tryonhq/tryon/pkg/pgtest"
	"github.com/tryonhq/tryon/pkg/postgres"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// seedTenants creates n tenants with a live key each.
func seedTenants(tb testing.TB, s *postgres.Store, n int) []postgres.SeedTenant {
	tb.Helper()
	ctx := context.Background()
	out := make([]postgres.SeedTenant, n)
	for i := range out {
		c, err := s.CreateClient(ctx, postgres.NewClient{Name: fmt.Sprintf("seeded-%02d-%s", i, uuid.NewString()[:8])})
		if err != nil {
			tb.Fatal(err)
		}
		k, err := apikey.New(tryon.KeyLive)
		if err != nil {
			tb.Fatal(err)
		}
		key, err := s.CreateKey(ctx, &c.ID, k, "seed", nil)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = postgres.SeedTenant{ClientID: c.ID, KeyID: key.ID}
	}
	return out
}

// seeded returns a store holding count seeded generations over a year for
// ten tenants, the first with a tenth of them, analysed like a database
// autovacuum keeps.
func seeded(tb testing.TB, count int64) (*postgres.Store, []postgres.SeedTenant, time.Time) {
	tb.Helper()
	ctx := context.Background()
	s := pgtest.NewStore(tb)
	tenants := seedTenants(tb, s, 10)
	now := time.Now().UTC()
	// Two calls, as `tryon bench metrics` makes them, to check that adding
	// to existing rollups works.
	for i, part := range [][2]int64{{0, count / 4}, {count / 4, count - count/4}} {
		err := s.SeedGenerations(ctx, postgres.Seed{Tenants: tenants, BigEvery: 10, First: part[0], Count: part[1],
			Days: 365, Now: now, Processing: 3 * i, Chunk: count / 3}, nil)
		if err != nil {
			tb.Fatal(err)
		}
	}
	for _, table := range []string{"generations", "usage_hourly", "usage_daily", "latency_hourly", "latency_daily",
		"platform_latency_hourly", "platform_latency_daily"} {
		if _, err := s.Pool().Exec(ctx, "VACUUM ANALYZE "+table); err != nil {
			tb.Fatal(err)
		}
	}
	return s, tenants, now
}

func window(tb testing.TB, query string, now time.Time) metrics.Window {
	tb.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		tb.Fatal(err)
	}
	w, err := metrics.ParseWindow(q, now)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// The seeder's rollups are what tryon_record_rollups makes of the same
// generations, and a metrics read of them equals a direct count.
func TestSeededRollupsAgreeWithGenerations(t *testing.T) {
	s, tenants, now := seeded(t, 6000)
	ctx := context.Background()
	var gens, processing, big int64
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'processing'),
		count(*) FILTER (WHERE client_id = $1 AND status <> 'processing') FROM generations`, tenants[0].ClientID).
		Scan(&gens, &processing, &big); err != nil {
		t.Fatal(err)
	}
	if gens != 6003 || processing != 3 || big != 600 {
		t.Fatalf("seeded %d generations, %d processing, %d for the big tenant; want 6003, 3, 600", gens, processing, big)
	}
	// Rebuild the rollups from the generations with the schema's own
	// function, in a transaction rolled back afterwards, and compare.
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	tables := []string{"usage_hourly", "usage_daily", "latency_hourly", "latency_daily", "platform_latency_hourly", "platform_latency_daily"}
	for _, table := range tables {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TEMP TABLE seeded_%[1]s AS SELECT * FROM %[1]s; DELETE FROM %[1]s`, table)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Exec(ctx, `SELECT tryon_record_rollups(g) FROM generations g WHERE g.status <> 'processing'`); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		// A key's counts may be spread over shards: compare their sums.
		key, sums := rollupKeys[table], "sum(count)"
		if strings.HasPrefix(table, "usage_") {
			sums = "sum(generations), sum(succeeded), sum(failed), sum(cost_micros), sum(latency_count), sum(latency_sum_ms)"
		}
		folded := func(t string) string { return fmt.Sprintf(`SELECT %s, %s FROM %s GROUP BY %s`, key, sums, t, key) }
		var diff int64
		if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM (
			(%[1]s EXCEPT ALL %[2]s)
			UNION ALL
			(%[2]s EXCEPT ALL %[1]s)) d`, folded("seeded_"+table), folded(table))).Scan(&diff); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if diff != 0 {
			t.Errorf("%s: %d rows differ between the seeder and tryon_record_rollups", table, diff)
		}
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	w := window(t, "from="+now.AddDate(0, 0, -90).Format(time.DateOnly), now)
	read, err := s.ReadMetrics(ctx, tenants[0].Principal(), tenants[0].ClientID, w)
	if err != nil {
		t.Fatal(err)
	}
	var want metrics.Counts
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'),
		count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'processing'), coalesce(sum(cost_micros), 0)
		FROM generations WHERE client_id = $1 AND mode = 'live' AND created_at >= $2 AND created_at < $3`,
		tenants[0].ClientID, w.From, w.To).Scan(&want.Generations, &want.Succeeded, &want.Failed, &want.Processing, &want.CostMicros); err != nil {
		t.Fatal(err)
	}
	got := read.Value.Live
	got.LatencyCount, got.LatencySumMS = 0, 0
	if got != want || want.Processing != 3 || want.Generations < 50 {
		t.Fatalf("read %+v, counted %+v", got, want)
	}
}

// tryon_latency_bucket keeps the stated precision for every latency up to
// a million milliseconds (about 17 minutes), and agrees with metrics.BucketOf.
func TestLatencyBucketPrecisionInSQL(t *testing.T) {
	s := pgtest.NewStore(t)
	ctx := context.Background()
	var worst float64
	if err := s.Pool().QueryRow(ctx, `
		SELECT max(abs(2 ^ ((tryon_latency_bucket(ms) + 0.5) / 8.0::float8) - ms) / ms)
		FROM generate_series(1::bigint, 1000000::bigint) AS ms`).Scan(&worst); err != nil {
		t.Fatal(err)
	}
	if worst > metrics.Precision+1e-12 {
		t.Fatalf("worst relative error %.6f, more than the stated %.6f", worst, metrics.Precision)
	}
	if worst < metrics.Precision-1e-4 {
		t.Fatalf("worst relative error %.6f: the stated %.6f is not tight", worst, metrics.Precision)
	}
	rows, err := s.Pool().Query(ctx, `SELECT ms, tryon_latency_bucket(ms) FROM generate_series(0::bigint, 200000::bigint) AS ms`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var ms int64
		var b int
		if err := rows.Scan(&ms, &b); err != nil {
			t.Fatal(err)
		}
		if got := metrics.BucketOf(ms); got != b {
			t.Fatalf("%d ms: BucketOf %d, tryon_latency_bucket %d", ms, got, b)
		}
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
}

// rollupKeys are the rollup tables' keys, less the shard.
var rollupKeys = map[string]string{
	"usage_hourly": "client_id, hour, service, mode", "usage_daily": "client_id, day, service, mode",
	"latency_hourly": "client_id, mode, hour, bucket", "latency_daily": "client_id, mode, day, bucket",
	"platform_latency_hourly": "hour, mode, bucket", "platform_latency_daily": "day, mode, bucket",
}

// rollupTables are the tables a metrics read must reach through an index.
var rollupTables = map[string]bool{"generations": true, "usage_hourly": true, "usage_daily": true,
	"latency_hourly": true, "latency_daily": true, "platform_latency_hourly": true, "platform_latency_daily": true}

// seqScans returns the tables of rollupTables that a JSON plan reads with
// a sequential scan.
func seqScans(plan any) []string {
	var found []string
	switch v := plan.(type) {
	case map[string]any:
		if v["Node Type"] == "Seq Scan" {
			if rel, _ := v["Relation Name"].(string); rollupTables[rel] {
				found = append(found, rel)
			}
		}
		for _, child := range v {
			found = append(found, seqScans(child)...)
		}
	case []any:
		for _, child := range v {
			found = append(found, seqScans(child)...)
		}
	}
	return found
}

// Every metrics query reaches generations and the rollups through an
// index, on a database big enough for the planner to care (20,000
// generations over a year), so that a lost or unusable index fails here
// rather than in production. The windows are the usual ones: up to a year
// for a tenant, up to the default 30 days for the platform, whose longer
// windows read a good share of all the rollups, where a sequential scan
// is the right plan.
func TestMetricsQueriesUseIndexes(t *testing.T) {
	s, tenants, now := seeded(t, 20_000)
	ctx := context.Background()
	offDay := now.Truncate(time.Hour).Add(-30 * time.Hour)
	if offDay.Hour() == 0 {
		offDay = offDay.Add(time.Hour)
	}
	windows := map[string]string{
		"30DaysByDay":   "",
		"7DaysByHour":   "bucket=hour&from=" + now.AddDate(0, 0, -6).Format(time.DateOnly),
		"30HoursByHour": "bucket=hour&from=" + offDay.Format(time.RFC3339),
		"AQuarterByDay": "from=" + now.AddDate(0, 0, -90).Format(time.DateOnly),
		"LastYearByDay": "from=" + now.AddDate(-1, 0, 1).Format(time.DateOnly),
	}
	explain := func(t *testing.T, clientID uuid.UUID, w metrics.Window) map[string][]string {
		t.Helper()
		out := map[string][]string{}
		for _, q := range postgres.MetricsQueries(tenants[0].Principal(), clientID, w) {
			var raw []byte
			if err := s.Pool().QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+q.SQL, q.Args...).Scan(&raw); err != nil {
				t.Fatalf("%s: %v", q.Name, err)
			}
			var plan any
			if err := json.Unmarshal(raw, &plan); err != nil {
				t.Fatal(err)
			}
			if scans := seqScans(plan); len(scans) > 0 {
				out[q.Name] = append(scans, string(raw))
			}
		}
		return out
	}
	for name, query := range windows {
		w := window(t, query, now)
		for _, scope := range []struct {
			name   string
			client uuid.UUID
		}{{"Tenant", tenants[0].ClientID}, {"SmallTenant", tenants[5].ClientID}, {"Platform", uuid.Nil}} {
			if scope.client == uuid.Nil && (name == "AQuarterByDay" || name == "LastYearByDay") {
				// A quarter of every tenant's rollups is a quarter of the
				// table, which the planner rightly reads whole at this size.
				continue
			}
			t.Run(scope.name+"/"+name, func(t *testing.T) {
				if scans := explain(t, scope.client, w); len(scans) > 0 {
					t.Fatalf("sequential scans: %v", scans)
				}
			})
		}
	}
	// The check itself can fail: with index scans forbidden, it sees the
	// sequential scans.
	t.Run("DetectsSequentialScans", func(t *testing.T) {
		conn, err := s.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_, _ = conn.Exec(ctx, "RESET enable_indexscan; RESET enable_indexonlyscan; RESET enable_bitmapscan")
		}()
		w := window(t, "", now)
		var all []string
		for _, q := range postgres.MetricsQueries(tenants[0].Principal(), tenants[0].ClientID, w) {
			var raw []byte
			if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) "+q.SQL, q.Args...).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			var plan any
			if err := json.Unmarshal(raw, &plan); err != nil {
				t.Fatal(err)
			}
			all = append(all, seqScans(plan)...)
		}
		got := strings.Join(all, ",")
		for _, table := range []string{"usage_daily", "latency_daily", "generations"} {
			if !strings.Contains(got, table) {
				t.Fatalf("without indexes the check saw only %q, not %s", got, table)
			}
		}
	})
}

func TestUUIDWindowBoundsFollowCreationTime(t *testing.T) {
	// A generation's UUIDv7 and its creation time agree to the millisecond,
	// which the platform's recent list relies on.
	s, _, _ := seeded(t, 2000)
	var bad int64
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM generations
		WHERE ('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint <> floor(extract(epoch FROM created_at) * 1000)::bigint`).
		Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("%d seeded ids do not carry their creation time", bad)
	}
}
