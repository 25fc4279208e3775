-- tryon_latency_bucket maps a latency to its histogram bucket: bucket b holds
-- latencies in [2^(b/8), 2^((b+1)/8)) milliseconds, so reporting a bucket's
-- geometric middle is within ±4.4% of any latency in it. Bucket 0 holds
-- everything under 1 ms.
CREATE OR REPLACE FUNCTION tryon_latency_bucket(ms bigint) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN ms < 1 THEN 0
                ELSE least(floor(ln(ms::float8) / ln(2::float8) * 8)::int, 32000)::smallint END
$$;

-- tryon_record_rollups adds a finished generation to the metrics rollups:
-- the tenant's usage by hour and day, and for a success its latency in the
-- tenant's and the platform's histograms, by hour and day.
CREATE OR REPLACE FUNCTION tryon_record_rollups(g generations) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ok     integer := (g.status = 'succeeded')::integer;
    v_hour timestamptz := date_trunc('hour', g.created_at, 'UTC');
    v_day  date := (g.created_at AT TIME ZONE 'UTC')::date;
    -- See the rollup tables: concurrent finishes on different backends
    -- update different rows of the same key.
    s      smallint := pg_backend_pid() % 16;
    b      smallint;
BEGIN
    INSERT INTO usage_hourly AS u (client_id, hour, service, mode, shard, generations, succeeded, failed,
                                   cost_micros, latency_count, latency_sum_ms)
    VALUES (g.client_id, v_hour, g.service, g.mode, s, 1, ok, 1 - ok, g.cost_micros, ok, ok * g.latency_ms)
    ON CONFLICT (client_id, hour, service, mode, shard) DO UPDATE SET
        generations = u.generations + 1, succeeded = u.succeeded + ok, failed = u.failed + 1 - ok,
        cost_micros = u.cost_micros + g.cost_micros, latency_count = u.latency_count + ok,
        latency_sum_ms = u.latency_sum_ms + ok * g.latency_ms;
    INSERT INTO usage_daily AS u (client_id, day, service, mode, shard, generations, succeeded, failed,
                                  cost_micros, latency_count, latency_sum_ms)
    VALUES (g.client_id, v_day, g.service, g.mode, s, 1, ok, 1 - ok, g.cost_micros, ok, ok * g.latency_ms)
    ON CONFLICT (client_id, day, service, mode, shard) DO UPDATE SET
        generations = u.generations + 1, succeeded = u.succeeded + ok, failed = u.failed + 1 - ok,
        cost_micros = u.cost_micros + g.cost_micros, latency_count = u.latency_count + ok,
        latency_sum_ms = u.latency_sum_ms + ok * g.latency_ms;
    -- Latency is measured on successes: the time a tenant waits for a result.
    IF ok = 1 THEN
        b := tryon_latency_bucket(g.latency_ms);
        INSERT INTO latency_hourly AS l (client_id, hour, mode, bucket, shard, count)
        VALUES (g.client_id, v_hour, g.mode, b, s, 1)
        ON CONFLICT (client_id, mode, hour, bucket, shard) DO UPDATE SET count = l.count + 1;
        INSERT INTO latency_daily AS l (client_id, day, mode, bucket, shard, count)
        VALUES (g.client_id, v_day, g.mode, b, s, 1)
        ON CONFLICT (client_id, mode, day, bucket, shard) DO UPDATE SET count = l.count + 1;
        INSERT INTO platform_latency_hourly AS l (hour, mode, bucket, shard, count)
        VALUES (v_hour, g.mode, b, s, 1)
        ON CONFLICT (hour, mode, bucket, shard) DO UPDATE SET count = l.count + 1;
        INSERT INTO platform_latency_daily AS l (day, mode, bucket, shard, count)
        VALUES (v_day, g.mode, b, s, 1)
        ON CONFLICT (day, mode, bucket, shard) DO UPDATE SET count = l.count + 1;
    END IF;
END
$$;
