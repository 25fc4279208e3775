// Benchmark seeding: synthetic finished generations for `tryon bench
// metrics`, the metrics tests and the shared side-by-side benchmark script.
// Nothing in the API calls it.
//
// It stays in package postgres, rather than a package of its own, because it
// must write the rollups exactly as tryon_record_rollups (rollups.sql) would,
// in the same tables, and the benchmark script outside this repository builds
// a seeder against postgres.OpenPool, PoolOptions, NewStore,
// Store.FindClientByName, Store.SeedGenerations, Seed and SeedTenant: those
// names are a contract with it. It adds no route and no query to a request's path.

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// SeedTenant is a tenant that seeded generations belong to, with the key
// they are recorded under.
type SeedTenant struct {
	ClientID uuid.UUID
	KeyID    uuid.UUID
}

// Seed describes synthetic finished generations, for `tryon bench metrics`
// and the metrics tests: realistic enough for the planner and the
// rollups to look as they would in production, made fast enough to reach
// ten million rows in minutes.
//
// Generation i (counting from 0 over every call, so that seeding 0 to
// 10,000 and then 10,000 to 100,000 spreads them as one call would) goes to
// Tenants[0] when i is a multiple of BigEvery, else to one of the others in
// turn. It is created at a uniformly random time in the Days before Now;
// 80% are live, 20% test; 70% banana, 20% banana-pro, 10% veo3; 5% fail;
// latencies are lognormal around 8 s (σ = 0.6), as image models answer;
// live successes cost the default prices.
type Seed struct {
	Tenants  []SeedTenant
	BigEvery int
	// First and Count select generations [First, First+Count) of the
	// sequence.
	First, Count int64
	Days         int
	Now          time.Time
	// Processing adds as many generations still processing, for
	// Tenants[0], created in the last hour: they are not in the rollups.
	Processing int
	// Chunk is how many generations one statement writes (default 250,000).
	Chunk int64
}

// SeedGenerations writes the generations of seed straight into the
// database, with generate_series, and adds them to the rollups with one
// INSERT ... SELECT ... GROUP BY per rollup table in the same statement,
// so the rollups agree with the generations exactly as tryon_record_rollups
// would have made them. progress, when not nil, is told how many are done
// after each statement. It is a tool for benchmarks and tests; nothing in
// the API calls it.
func (s *Store) SeedGenerations(ctx context.Context, seed Seed, progress func(done int64)) error {
	if len(seed.Tenants) == 0 || seed.BigEvery < 1 || seed.Days < 1 {
		return fmt.Errorf("seed generations: need tenants, BigEvery ≥ 1 and Days ≥ 1")
	}
	clients := make([]uuid.UUID, len(seed.Tenants))
	keys := make([]uuid.UUID, len(seed.Tenants))
	for i, t := range seed.Tenants {
		clients[i], keys[i] = t.ClientID, t.KeyID
	}
	chunk := seed.Chunk
	if chunk <= 0 {
		chunk = 250_000
	}
	for first := seed.First; first < seed.First+seed.Count; first += chunk {
		last := min(first+chunk, seed.First+seed.Count) - 1
		if _, err := s.pool.Exec(ctx, seedSQL, first, last, clients, keys, seed.BigEvery, seed.Now, seed.Days); err != nil {
			return translate(err, "seed generations")
		}
		if progress != nil {
			progress(last + 1 - seed.First)
		}
	}
	if seed.Processing > 0 {
		if _, err := s.pool.Exec(ctx, seedProcessingSQL, clients[0], keys[0], seed.Processing, seed.Now); err != nil {
			return translate(err, "seed generations")
		}
	}
	return nil
}

// seedSQL writes generations $1 to $2 (see Seed) and adds them to the six
// rollup tables. Ids are UUIDv7 made from the creation time, as the API's
// are, so that they sort by it.
const seedSQL = `
WITH src AS (
	SELECT i,
	       CASE WHEN i % $5 = 0 OR cardinality($3::uuid[]) = 1 THEN 1
	            ELSE 2 + (i % (cardinality($3::uuid[]) - 1))::int END AS k,
	       $6::timestamptz - random() * ($7 * interval '1 day') AS ts,
	       CASE WHEN random() < 0.8 THEN 'live' ELSE 'test' END AS mode,
	       (ARRAY['banana', 'banana', 'banana', 'banana', 'banana', 'banana', 'banana',
	              'banana-pro', 'banana-pro', 'veo3'])[1 + floor(random() * 10)::int] AS service,
	       random() < 0.05 AS failed,
	       -- Box-Muller: a standard normal from two uniforms.
	       greatest(1, round(exp(ln(8000) + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))::bigint AS latency,
	       md5(random()::text) AS r
	FROM generate_series($1::bigint, $2::bigint) AS i
	ORDER BY ts
), priced AS (
	SELECT src.*, CASE WHEN mode = 'test' THEN 0 WHEN service = 'banana' THEN 40000
	                   WHEN service = 'banana-pro' THEN 150000 ELSE 1200000 END AS price
	FROM src
), ins AS (
	INSERT INTO generations (id, client_id, key_id, status, mode, service, provider, model, prompt, width, height,
	                         price_micros, cost_micros, output_url, output_content_type, output_width, output_height,
	                         output_bytes, error_code, error_message, latency_ms, created_at, deadline, completed_at)
	SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || substr(r, 1, 3) || '8'
	        || substr(r, 4, 15))::uuid,
	       ($3::uuid[])[k], ($4::uuid[])[k], CASE WHEN failed THEN 'failed' ELSE 'succeeded' END, mode, service,
	       'fake', 'fake-' || service, 'a seeded generation', 1024, 1024,
	       price, CASE WHEN failed THEN 0 ELSE price END,
	       CASE WHEN NOT failed THEN '/assets/seeded' END,
	       CASE WHEN failed THEN NULL WHEN service = 'veo3' THEN 'video/mp4' ELSE 'image/png' END,
	       CASE WHEN NOT failed THEN 1024 END, CASE WHEN NOT failed THEN 1024 END,
	       CASE WHEN NOT failed THEN 250000 END,
	       CASE WHEN failed THEN 'upstream_error' END, CASE WHEN failed THEN 'the provider failed' END,
	       latency, ts, ts + interval '5 minutes', ts + latency * interval '1 millisecond'
	FROM priced
	RETURNING client_id, created_at, service, mode, status, cost_micros, latency_ms
	-- The rollups go to shard 0, one row per key: readers sum the shards
	-- of a key, however many it has.
), usage_h AS (
	INSERT INTO usage_hourly AS u (client_id, hour, service, mode, generations, succeeded, failed, cost_micros,
	                               latency_count, latency_sum_ms)
	SELECT client_id, date_trunc('hour', created_at, 'UTC'), service, mode, count(*),
	       count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'), sum(cost_micros),
	       count(*) FILTER (WHERE status = 'succeeded'), coalesce(sum(latency_ms) FILTER (WHERE status = 'succeeded'), 0)
	FROM ins GROUP BY 1, 2, 3, 4
	ON CONFLICT (client_id, hour, service, mode, shard) DO UPDATE SET
		generations = u.generations + excluded.generations, succeeded = u.succeeded + excluded.succeeded,
		failed = u.failed + excluded.failed, cost_micros = u.cost_micros + excluded.cost_micros,
		latency_count = u.latency_count + excluded.latency_count, latency_sum_ms = u.latency_sum_ms + excluded.latency_sum_ms
), usage_d AS (
	INSERT INTO usage_daily AS u (client_id, day, service, mode, generations, succeeded, failed, cost_micros,
	                              latency_count, latency_sum_ms)
	SELECT client_id, (created_at AT TIME ZONE 'UTC')::date, service, mode, count(*),
	       count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'), sum(cost_micros),
	       count(*) FILTER (WHERE status = 'succeeded'), coalesce(sum(latency_ms) FILTER (WHERE status = 'succeeded'), 0)
	FROM ins GROUP BY 1, 2, 3, 4
	ON CONFLICT (client_id, day, service, mode, shard) DO UPDATE SET
		generations = u.generations + excluded.generations, succeeded = u.succeeded + excluded.succeeded,
		failed = u.failed + excluded.failed, cost_micros = u.cost_micros + excluded.cost_micros,
		latency_count = u.latency_count + excluded.latency_count, latency_sum_ms = u.latency_sum_ms + excluded.latency_sum_ms
), latency_h AS (
	INSERT INTO latency_hourly AS l (client_id, hour, mode, bucket, count)
	SELECT client_id, date_trunc('hour', created_at, 'UTC'), mode, tryon_latency_bucket(latency_ms), count(*)
	FROM ins WHERE status = 'succeeded' GROUP BY 1, 2, 3, 4
	ON CONFLICT (client_id, mode, hour, bucket, shard) DO UPDATE SET count = l.count + excluded.count
), latency_d AS (
	INSERT INTO latency_daily AS l (client_id, day, mode, bucket, count)
	SELECT client_id, (created_at AT TIME ZONE 'UTC')::date, mode, tryon_latency_bucket(latency_ms), count(*)
	FROM ins WHERE status = 'succeeded' GROUP BY 1, 2, 3, 4
	ON CONFLICT (client_id, mode, day, bucket, shard) DO UPDATE SET count = l.count + excluded.count
), platform_h AS (
	INSERT INTO platform_latency_hourly AS l (hour, mode, bucket, count)
	SELECT date_trunc('hour', created_at, 'UTC'), mode, tryon_latency_bucket(latency_ms), count(*)
	FROM ins WHERE status = 'succeeded' GROUP BY 1, 2, 3
	ON CONFLICT (hour, mode, bucket, shard) DO UPDATE SET count = l.count + excluded.count
), platform_d AS (
	INSERT INTO platform_latency_daily AS l (day, mode, bucket, count)
	SELECT (created_at AT TIME ZONE 'UTC')::date, mode, tryon_latency_bucket(latency_ms), count(*)
	FROM ins WHERE status = 'succeeded' GROUP BY 1, 2, 3
	ON CONFLICT (day, mode, bucket, shard) DO UPDATE SET count = l.count + excluded.count
)
SELECT count(*) FROM ins`

// seedProcessingSQL adds $3 live banana generations still processing for
// one tenant, created in the hour before $4, with a day to go.
const seedProcessingSQL = `
INSERT INTO generations (id, client_id, key_id, status, mode, service, provider, model, prompt, width, height,
                         price_micros, created_at, deadline)
SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '7' || substr(r, 1, 3) || '8'
        || substr(r, 4, 15))::uuid,
       $1, $2, 'processing', 'live', 'banana', 'fake', 'fake-banana', 'a seeded generation', 1024, 1024,
       40000, ts, $4::timestamptz + interval '1 day'
FROM (SELECT $4::timestamptz - random() * interval '1 hour' AS ts, md5(random()::text) AS r
      FROM generate_series(1, $3::int)) AS s`
