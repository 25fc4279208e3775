-- Tryon database schema: the single source of truth.
--
-- Idempotent: `tryon migrate` (or `psql -f schema.sql`) applies it to a new or
-- an existing database, any number of times. Tables are created IF NOT EXISTS,
-- later additions are ALTER ... ADD COLUMN IF NOT EXISTS, and functions are
-- CREATE OR REPLACE. Apply it over a direct (not pooled) connection.
--
-- Money is integer micro-dollars (bigint, 1 USD = 1,000,000), never floats.
-- Every table that belongs to a tenant carries client_id with a foreign key,
-- and every query the code runs has an index (named after the query).
--
-- The multi-step operations that must be atomic and cheap (admitting a
-- generation, finishing one, reading one) are PL/pgSQL functions, so each is
-- one round trip and one transaction, and no connection is held while a
-- provider works.

SET client_min_messages = warning;

-- Tenants ---------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS clients (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- Per-service price overrides in micro-dollars, e.g. {"banana": 40000};
    -- a service missing here costs the configured default.
    prices              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(prices) = 'object'),
    -- Prepaid balance; NULL for a postpaid tenant, who is never refused for money.
    balance_micros      bigint CHECK (balance_micros >= 0),
    requests_per_minute integer NOT NULL DEFAULT 60 CHECK (requests_per_minute BETWEEN 1 AND 1000000),
    max_concurrent      integer NOT NULL DEFAULT 4 CHECK (max_concurrent BETWEEN 1 AND 10000),
    webhook_url         text,
    webhook_secret      text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS clients_name_key ON clients (name);

-- Every change to a tenant's money, prices or limits, with the reason given.
CREATE TABLE IF NOT EXISTS client_ledger (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id      uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    kind           text NOT NULL CHECK (kind IN ('credit', 'price', 'limits', 'status', 'webhook', 'create')),
    amount_micros  bigint NOT NULL DEFAULT 0,
    balance_after  bigint,
    details        jsonb NOT NULL DEFAULT '{}',
    reason         text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS client_ledger_by_client ON client_ledger (client_id, id);

-- API keys --------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS api_keys (
    id           uuid PRIMARY KEY,
    client_id    uuid REFERENCES clients (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('live', 'test', 'admin')),
    name         text NOT NULL DEFAULT '',
    -- SHA-256 of the whole key; the key itself is never stored.
    digest       bytea NOT NULL CHECK (length(digest) = 32),
    prefix       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    CHECK ((kind = 'admin') = (client_id IS NULL))
);

CREATE UNIQUE INDEX IF NOT EXISTS api_keys_by_digest ON api_keys (digest);
CREATE INDEX IF NOT EXISTS api_keys_by_client ON api_keys (client_id, created_at);

-- Per-key rate limit state: the generic cell rate algorithm, one row per
-- key. tat is the "theoretical arrival time": a key whose limit is N per
-- minute may be at most a minute ahead of the clock, each request moving it
-- a 1/N minute on. Unlike fixed clock-minute windows it never lets 2N
-- requests through around a minute's turn, and its answers do not depend on
-- where in the minute a burst falls. UNLOGGED because losing it in a crash
-- only forgives a minute.
CREATE UNLOGGED TABLE IF NOT EXISTS rate_counters (
    key_id     uuid PRIMARY KEY REFERENCES api_keys (id) ON DELETE CASCADE,
    tat        timestamptz NOT NULL,
    -- When api_keys.last_used_at was last written for this key.
    touched_at timestamptz NOT NULL
);

-- Generations -----------------------------------------------------------------

CREATE TABLE IF NOT EXISTS generations (
    id                  uuid PRIMARY KEY, -- UUIDv7: sorts by creation time
    client_id           uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    key_id              uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    status              text NOT NULL CHECK (status IN ('processing', 'succeeded', 'failed')),
    mode                text NOT NULL CHECK (mode IN ('live', 'test')),
    service             text NOT NULL,
    provider            text NOT NULL,
    model               text NOT NULL,
    prompt              text NOT NULL,
    width               integer NOT NULL,
    height              integer NOT NULL,
    duration_seconds    integer,
    metadata            jsonb NOT NULL DEFAULT '{}',
    idempotency_key     text,
    -- price_micros is reserved while processing (live mode) and is what
    -- success costs; cost_micros is what was billed: price on live success, else 0.
    price_micros        bigint NOT NULL DEFAULT 0 CHECK (price_micros >= 0),
    cost_micros         bigint NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
    output_url          text,
    output_content_type text,
    output_width        integer,
    output_height       integer,
    output_bytes        bigint,
    error_code          text,
    error_message       text,
    retry_after_ms      bigint,
    -- The provider's long-running operation (video), polled by later requests.
    operation           text,
    -- Who may poll the operation now: a lease, so that two readers never
    -- download, store or charge the same output twice.
    poll_lease_until    timestamptz,
    latency_ms          bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    -- A processing generation past its deadline is failed by whoever reads it.
    deadline            timestamptz NOT NULL,
    completed_at        timestamptz,
    CHECK ((status = 'processing') = (completed_at IS NULL))
);

-- GET /generations and the metrics' "recent": newest first per tenant.
CREATE INDEX IF NOT EXISTS generations_by_client_created ON generations (client_id, created_at DESC, id DESC);
-- Admission (in-flight count and reservations), expiry, and the cron sweep
-- (oldest first) only ever look at the few generations still processing.
CREATE INDEX IF NOT EXISTS generations_processing_by_client ON generations (client_id, deadline) INCLUDE (price_micros, mode)
    WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS generations_processing_by_created ON generations (created_at)
    WHERE status = 'processing';

-- One usage record per billed generation, written in the transaction that marks
-- it succeeded; the primary key makes a second charge impossible.
CREATE TABLE IF NOT EXISTS usage_records (
    generation_id uuid PRIMARY KEY REFERENCES generations (id) ON DELETE CASCADE,
    client_id     uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    service       text NOT NULL,
    amount_micros bigint NOT NULL CHECK (amount_micros >= 0),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS usage_records_by_client ON usage_records (client_id, created_at);

-- A prepaid tenant's charges not yet taken off its balance, summed in up to
-- 16 shards (the finishing backend's pid modulo 16). Settlement adds to a
-- shard instead of updating the tenant's row: that update would hold the
-- row locked until its commit reached disk, so one tenant's finishes and
-- admissions would queue behind each other's WAL flushes; on a shard, only
-- two finishes of the same backend slot can meet. A shard is updated in
-- place (a HOT update: no index entry), so reading a tenant's unsettled
-- total stays a look at 16 rows however many charges it holds; one row per
-- charge, deleted when folded, left the index full of dead entries that
-- every admission walked until vacuum came. Every reader subtracts the
-- shards (tryon_unsettled), so the balance shown is always exact; changes
-- of the balance made by hand or by a top-up fold them into the row
-- (tryon_settle) first.
CREATE TABLE IF NOT EXISTS unsettled_shards (
    client_id     uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    shard         smallint NOT NULL,
    amount_micros bigint NOT NULL CHECK (amount_micros >= 0),
    PRIMARY KEY (client_id, shard)
);

-- One row per charge, the shards' predecessor: written by deployments from
-- before the shards, and still summed and folded with them, so that a
-- deployment running the old code while the schema is upgraded loses no
-- charge. New code writes none.
CREATE TABLE IF NOT EXISTS unsettled_charges (
    generation_id uuid PRIMARY KEY REFERENCES generations (id) ON DELETE CASCADE,
    client_id     uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    amount_micros bigint NOT NULL CHECK (amount_micros > 0)
);

CREATE INDEX IF NOT EXISTS unsettled_charges_by_client ON unsettled_charges (client_id) INCLUDE (amount_micros);

-- Idempotency-Key claims, scoped to the tenant and the mode (a test key and
-- a live key never share one, so staging traffic cannot replay fake outputs
-- to production), valid for 24 hours.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    client_id     uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    mode          text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test')),
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    -- Deferred: the claim is taken before the generation row is inserted, in
    -- the same transaction.
    generation_id uuid NOT NULL REFERENCES generations (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, mode, key)
);

-- Databases made before claims had a mode: add it, with the primary key
-- over it. Only then: the catalog is checked first, so applying the schema
-- to an up-to-date database takes no lock on the table. Existing claims
-- were made by either mode; calling them live at worst lets a test key's
-- claim of the last 24 hours be claimed again by a test request.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = current_schema() AND table_name = 'idempotency_keys' AND column_name = 'mode') THEN
        ALTER TABLE idempotency_keys
            ADD COLUMN mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test')),
            DROP CONSTRAINT idempotency_keys_pkey,
            ADD PRIMARY KEY (client_id, mode, key);
    END IF;
END
$$;

CREATE INDEX IF NOT EXISTS idempotency_keys_by_created ON idempotency_keys (created_at);

-- Output storage (the default; Vercel Blob in production) ----------------------

CREATE TABLE IF NOT EXISTS assets (
    token        text PRIMARY KEY, -- at least 128 random bits
    content_type text NOT NULL,
    data         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- Outputs are PNG, JPEG, WebP or MP4, compressed already: storing them out
-- of line without trying pglz on every one saves its CPU, for nothing lost.
ALTER TABLE assets ALTER COLUMN data SET STORAGE EXTERNAL;

-- Usage rollups for metrics ----------------------------------------------------
--
-- Written in the transaction that finalises a generation, keyed by the hour
-- (and day) the generation was created, so metrics never scan generations.
-- Latency is kept as a histogram with logarithmic buckets (see
-- tryon_latency_bucket) for percentiles: one row per non-empty bucket.
--
-- Each key is split over up to 16 rows (shard, the writing backend's pid
-- modulo 16): a finish holds its rollup rows locked until its commit has
-- reached disk, so with one row per key one busy tenant's finishes (and,
-- on the platform rows, everyone's) would queue behind each other's WAL
-- flushes instead of sharing them. Readers sum over the shards anyway.

CREATE TABLE IF NOT EXISTS usage_hourly (
    client_id      uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    hour           timestamptz NOT NULL,
    service        text NOT NULL,
    mode           text NOT NULL,
    generations    bigint NOT NULL DEFAULT 0,
    succeeded      bigint NOT NULL DEFAULT 0,
    failed         bigint NOT NULL DEFAULT 0,
    cost_micros    bigint NOT NULL DEFAULT 0,
    latency_count  bigint NOT NULL DEFAULT 0,
    latency_sum_ms bigint NOT NULL DEFAULT 0,
    shard          smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, hour, service, mode, shard)
);

CREATE TABLE IF NOT EXISTS usage_daily (
    client_id      uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    day            date NOT NULL,
    service        text NOT NULL,
    mode           text NOT NULL,
    generations    bigint NOT NULL DEFAULT 0,
    succeeded      bigint NOT NULL DEFAULT 0,
    failed         bigint NOT NULL DEFAULT 0,
    cost_micros    bigint NOT NULL DEFAULT 0,
    latency_count  bigint NOT NULL DEFAULT 0,
    latency_sum_ms bigint NOT NULL DEFAULT 0,
    shard          smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, day, service, mode, shard)
);

-- The platform view reads every tenant's day rows for a window, all their
-- columns: covered, so that it reads no table pages for days autovacuum has
-- marked all-visible.
CREATE INDEX IF NOT EXISTS usage_daily_by_day_all ON usage_daily (day)
    INCLUDE (mode, client_id, service, generations, succeeded, failed, cost_micros, latency_count, latency_sum_ms);
-- The hourly platform view (at most 31 days) reads the hour's rows from the
-- table: no counter in this index, so that the most frequent rollup write,
-- usage_hourly's, can stay a HOT update.
CREATE INDEX IF NOT EXISTS usage_hourly_by_hour ON usage_hourly (hour);

CREATE TABLE IF NOT EXISTS latency_hourly (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    hour      timestamptz NOT NULL,
    mode      text NOT NULL,
    bucket    smallint NOT NULL,
    count     bigint NOT NULL,
    shard     smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, mode, hour, bucket, shard)
);

CREATE TABLE IF NOT EXISTS latency_daily (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    day       date NOT NULL,
    mode      text NOT NULL,
    bucket    smallint NOT NULL,
    count     bigint NOT NULL,
    shard     smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (client_id, mode, day, bucket, shard)
);

-- The platform's histogram: every tenant's latencies together, written
-- with the tenant's own rows (tryon_record_rollups). Summing the tenants'
-- histograms instead would read a row per tenant, day and bucket, about
-- 150,000 for a month of 100 tenants; these hold a few thousand. A row is
-- shared by every tenant's successes of its hour and bucket: each finish
-- holds its lock for one short transaction, and there are dozens of
-- buckets to spread them.
CREATE TABLE IF NOT EXISTS platform_latency_hourly (
    hour   timestamptz NOT NULL,
    mode   text NOT NULL,
    bucket smallint NOT NULL,
    count  bigint NOT NULL,
    shard  smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, mode, bucket, shard)
);

CREATE TABLE IF NOT EXISTS platform_latency_daily (
    day    date NOT NULL,
    mode   text NOT NULL,
    bucket smallint NOT NULL,
    count  bigint NOT NULL,
    shard  smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, mode, bucket, shard)
);

-- Databases made before the rollups had shards: add the column, with the
-- primary key over it, checking the catalog first so that applying the
-- schema to an up-to-date database takes no lock. Existing rows become
-- shard 0.
DO $$
DECLARE
    t   text;
    key text;
BEGIN
    FOR t, key IN VALUES ('usage_hourly', 'client_id, hour, service, mode'), ('usage_daily', 'client_id, day, service, mode'),
                         ('latency_hourly', 'client_id, mode, hour, bucket'), ('latency_daily', 'client_id, mode, day, bucket'),
                         ('platform_latency_hourly', 'hour, mode, bucket'), ('platform_latency_daily', 'day, mode, bucket')
    LOOP
        IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                       WHERE table_schema = current_schema() AND table_name = t AND column_name = 'shard') THEN
            EXECUTE format('ALTER TABLE %I ADD COLUMN shard smallint NOT NULL DEFAULT 0, DROP CONSTRAINT %I, ADD PRIMARY KEY (%s, shard)',
                           t, t || '_pkey', key);
        END IF;
    END LOOP;
END
$$;

-- Webhooks ---------------------------------------------------------------------

-- One delivery per finished generation for a tenant with a webhook URL. The
-- id is the webhook-id header, the same on every retry.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id              uuid PRIMARY KEY,
    client_id       uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    generation_id   uuid NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    event           text NOT NULL,
    url             text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (generation_id, event)
);

CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_client ON webhook_deliveries (client_id, created_at);
