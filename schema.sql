-- Assembled from pkg/postgres/*.sql; edit the parts there (see SchemaParts).

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

-- outputs.sql -----------------------------------------------------------------

-- Several outputs per generation (num_outputs 1 to 4 on POST /generate).
-- num_outputs is how many were asked for: price_micros reserves the price
-- per output times it, and tryon_finish bills the price per output times
-- the outputs that came back. outputs lists every stored output as
-- {url, content_type, width, height, bytes}, the first also in the
-- output_* columns for existing readers; '[]' until success.
ALTER TABLE generations ADD COLUMN IF NOT EXISTS outputs jsonb NOT NULL DEFAULT '[]';
ALTER TABLE generations ADD COLUMN IF NOT EXISTS num_outputs smallint NOT NULL DEFAULT 1
    CHECK (num_outputs BETWEEN 1 AND 4);

-- ratelimit.sql ---------------------------------------------------------------

-- tryon_hit_rate counts one request against a key's limit of p_limit
-- requests per minute (see rate_counters). A refused request costs nothing:
-- it does not move the key's state. It returns whether the request is
-- refused, how many more the key may make at once, when its full quota is
-- back, and (when refused) how long until the next request is allowed. It
-- writes api_keys.last_used_at at most once a minute per key, so a busy key
-- costs no extra write per request.
CREATE OR REPLACE FUNCTION tryon_hit_rate(p_key uuid, p_limit integer,
    OUT limited boolean, OUT remaining integer, OUT reset_at timestamptz, OUT retry_after_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    -- Whole microseconds, so that N steps never add up to more than the
    -- minute and exactly N requests fit in it.
    period_us constant bigint := 60000000;
    step_us   bigint := period_us / greatest(p_limit, 1);
    ahead_us  bigint;
    st        rate_counters%ROWTYPE;
BEGIN
    -- The key's row exists but for its first request (or after the sweep
    -- forgot an idle key): look it up first, and insert only when missing.
    SELECT * INTO st FROM rate_counters WHERE key_id = p_key FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO rate_counters (key_id, tat, touched_at) VALUES (p_key, now(), now() - interval '1 minute')
        ON CONFLICT (key_id) DO NOTHING;
        SELECT * INTO st FROM rate_counters WHERE key_id = p_key FOR UPDATE;
    END IF;
    ahead_us := greatest(0, floor(extract(epoch FROM st.tat - now()) * 1000000))::bigint;
    limited := ahead_us > period_us - step_us;
    IF limited THEN
        retry_after_ms := ceil((ahead_us - (period_us - step_us)) / 1000.0);
    ELSE
        ahead_us := ahead_us + step_us;
        UPDATE rate_counters
        SET tat = now() + ahead_us * interval '1 microsecond',
            touched_at = CASE WHEN touched_at <= now() - interval '1 minute' THEN now() ELSE touched_at END
        WHERE key_id = p_key;
        IF st.touched_at <= now() - interval '1 minute' THEN
            UPDATE api_keys SET last_used_at = now() WHERE id = p_key;
        END IF;
    END IF;
    remaining := greatest(0, (period_us - ahead_us) / step_us);
    reset_at := now() + ahead_us * interval '1 microsecond';
END
$$;

-- credits.sql -----------------------------------------------------------------

-- tryon_in_flight returns how many of a tenant's generations hold a
-- concurrency slot and how much money they reserve. A generation past its
-- deadline holds nothing, even before anyone marks it failed, so a slot or a
-- reservation held by a killed process frees itself.
--
-- These three are PL/pgSQL, not SQL functions, although each is one query:
-- a SQL function that is not inlined (one returning a row rather than a
-- set, or with a subquery) is parsed and planned again on every call,
-- which cost admission and settlement a tenth of the server's CPU, while
-- PL/pgSQL keeps each query's plan for the session. STABLE, they read with
-- their caller's snapshot, so a caller combining them in one statement
-- still sees one moment.
--
-- tryon_in_flight runs on every admission, and its plan must not depend on
-- the statistics of the moment: a finished generation leaves a stale entry
-- in the partial indexes on processing generations until vacuum, which on a
-- big generations table comes rarely. An index scan marks the stale
-- entries it passes as dead, so the next count skips them; a bitmap or
-- sequential scan marks none, and each admission would read all of them
-- (or the whole table). The planner picks one of those when statistics
-- show a tenant with many generations processing, so they are off here.
CREATE OR REPLACE FUNCTION tryon_in_flight(p_client uuid, OUT slots integer, OUT reserved_micros bigint,
                                           OUT next_free timestamptz)
LANGUAGE plpgsql STABLE
SET enable_bitmapscan = off
SET enable_seqscan = off
AS $$
BEGIN
    SELECT count(*)::integer,
           coalesce(sum(g.price_micros) FILTER (WHERE g.mode = 'live'), 0)::bigint,
           min(g.deadline)
    INTO slots, reserved_micros, next_free
    FROM generations g
    WHERE g.client_id = p_client AND g.status = 'processing' AND g.deadline > now();
END
$$;

-- tryon_unsettled is what a tenant's balance_micros does not show yet: its
-- charges in unsettled_shards (and in unsettled_charges, left by an older
-- deployment). The balance is balance_micros less this, read in the same
-- statement.
CREATE OR REPLACE FUNCTION tryon_unsettled(p_client uuid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(sum(amount_micros), 0) FROM unsettled_shards WHERE client_id = p_client)::bigint
         + (SELECT coalesce(sum(amount_micros), 0) FROM unsettled_charges WHERE client_id = p_client)::bigint;
END
$$;

-- tryon_settle folds a tenant's unsettled charges into its balance and
-- returns their sum, before a change of the balance that is recorded with
-- the balance after it (a credit, a top-up, a switch of billing). The
-- caller holds the tenant's row locked, so no two fold at once. Each shard
-- gives up exactly the amount folded from it, in the statement that reads
-- it: a finish adding to a shard meanwhile keeps its charge there, for the
-- next fold. A postpaid tenant's (left by a finish racing a switch to
-- postpaid, which settles nothing) are dropped: a postpaid tenant has no
-- balance to charge.
CREATE OR REPLACE FUNCTION tryon_settle(p_client uuid) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    total  bigint;
    legacy bigint;
BEGIN
    WITH folded AS (
        UPDATE unsettled_shards s SET amount_micros = s.amount_micros - o.amount_micros
        FROM (SELECT shard, amount_micros FROM unsettled_shards
              WHERE client_id = p_client AND amount_micros > 0) o
        WHERE s.client_id = p_client AND s.shard = o.shard
        RETURNING o.amount_micros)
    SELECT sum(amount_micros) INTO total FROM folded;
    WITH folded AS (DELETE FROM unsettled_charges WHERE client_id = p_client RETURNING amount_micros)
    SELECT sum(amount_micros) INTO legacy FROM folded;
    total := coalesce(total, 0) + coalesce(legacy, 0);
    IF total = 0 THEN
        RETURN 0;
    END IF;
    UPDATE clients SET balance_micros = balance_micros - total
    WHERE id = p_client AND balance_micros IS NOT NULL;
    RETURN total;
END
$$;

-- tryon_credits_remaining is a prepaid tenant's balance not reserved by
-- generations in flight: what X-Credits-Remaining reports. NULL for a
-- postpaid tenant, for whom nothing is summed.
CREATE OR REPLACE FUNCTION tryon_credits_remaining(p_client uuid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT c.balance_micros - tryon_unsettled(c.id) - (SELECT f.reserved_micros FROM tryon_in_flight(c.id) f)
            FROM clients c WHERE c.id = p_client AND c.balance_micros IS NOT NULL);
END
$$;

-- tryon_price is what a generation reserves, and succeeds for: the
-- tenant's price for the service (else the configured default) per output
-- asked for, in live mode; 0 in test mode. Admission, readmission and
-- client tokens' spend caps all price with it.
CREATE OR REPLACE FUNCTION tryon_price(p_prices jsonb, p_mode text, p_service text, p_default_price bigint, p_outputs integer)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_mode = 'live' THEN coalesce((p_prices ->> p_service)::bigint, p_default_price) * p_outputs ELSE 0 END
$$;

-- admission.sql ---------------------------------------------------------------

-- tryon_admit admits a generation in one transaction, checking in this order
-- and stopping at the first refusal:
--
--   1. the tenant is active (its row is locked, serialising its admissions,
--      so the limits below hold under any concurrency)       → suspended
--   2. the key is under its rate limit (tryon_hit_rate; skipped when the
--      precheck already counted the request)                 → rate_limited
--   3. the Idempotency-Key is free, or claimed by the same request
--      (replay: the first generation, in generation_id) or by
--      another one                                           → replay, idempotency_mismatch
--   4. the tenant is under its concurrency limit             → concurrency_limited
--   5. a prepaid balance, less what is reserved, covers the
--      price (the tenant's, else the default; 0 in test) per
--      output times the p_outputs outputs asked for         → insufficient_credits
--   6. the generation is inserted as processing with its
--      price reserved                                        → admitted
--
-- Nothing is written when it refuses, except the rate counter. The outcome
-- strings are pkg/tryon's Outcome constants (a test keeps them equal).
-- p_outputs came last, with no default: a database migrated from before it
-- keeps the 17-argument tryon_admit for the deployment still calling it,
-- and no call can be ambiguous between the two.
CREATE OR REPLACE FUNCTION tryon_admit(
    p_key uuid, p_client uuid, p_id uuid, p_mode text, p_service text, p_provider text, p_model text,
    p_prompt text, p_width integer, p_height integer, p_duration integer, p_metadata jsonb,
    p_idem_key text, p_idem_hash bytea, p_default_price bigint, p_lifetime_ms bigint, p_count_rate boolean,
    p_outputs integer,
    OUT outcome text, OUT rate_limited boolean, OUT rate_remaining integer, OUT rate_limit integer, OUT rate_reset timestamptz,
    OUT generation_id uuid, OUT price_micros bigint, OUT balance_micros bigint,
    OUT reserved_micros bigint, OUT retry_after_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c         clients%ROWTYPE;
    flight    record;
    claimed   boolean := false;
    prior     idempotency_keys%ROWTYPE;
BEGIN
    -- The commit is asynchronous: admission waits for no WAL flush, so one
    -- tenant's admissions, serialised by the lock below, do not queue
    -- behind each other's flushes. It loses nothing:
    --   * The WAL is sequential. Every later synchronous commit that depends
    --     on this admission (its finish, a long job's operation, a try-on's
    --     parameters) comes after it in the WAL, so flushing that commit
    --     makes the admission durable too. A crash can lose an admission
    --     only before any later flush (the WAL writer flushes within
    --     wal_writer_delay anyway).
    --   * Nothing answers a client with the generation's id before such a
    --     synchronous commit: the finished result, and a long job's 202
    --     after its operation is stored (SetOperation), are synchronous
    --     commits; webhooks are queued by the finish. A replay that finds
    --     the generation still processing without an operation answers 409
    --     with no id.
    --   * An admission that a crash did lose belongs to a request still
    --     running (or its instance remembering it, unfinished.go): finishing
    --     it, or storing its long job's operation, finds no row and runs
    --     tryon_readmit in the same transaction, which records it again as
    --     admitted, so the paid result is finished and charged exactly once.
    --     If the instance dies too, nothing was charged and no client was
    --     told the id (a listing may have shown it processing meanwhile).
    -- TestLostAdmissionIsReadmitted and TestDatabaseCrashRightAfterAdmission
    -- (pkg/generation) hold it to that.
    SET LOCAL synchronous_commit = off;
    -- FOR NO KEY UPDATE serialises admissions without blocking the KEY SHARE
    -- locks that foreign keys (usage_records, generations) take on the row:
    -- with FOR UPDATE, an admission queued between a finisher's usage insert
    -- and its balance update deadlocks with it.
    SELECT * INTO c FROM clients WHERE id = p_client FOR NO KEY UPDATE;
    IF NOT FOUND OR c.status <> 'active' THEN
        outcome := 'suspended';
        RETURN;
    END IF;

    rate_limit := c.requests_per_minute;
    -- A request that had to fetch its inputs was counted before fetching them.
    IF p_count_rate THEN
        SELECT h.limited, h.remaining, h.reset_at, h.retry_after_ms
        INTO rate_limited, rate_remaining, rate_reset, retry_after_ms
        FROM tryon_hit_rate(p_key, c.requests_per_minute) h;
        IF rate_limited THEN
            outcome := 'rate_limited';
            RETURN;
        END IF;
    END IF;

    IF p_idem_key IS NOT NULL THEN
        -- A key older than 24 hours is free to be claimed again.
        INSERT INTO idempotency_keys AS k (client_id, mode, key, request_hash, generation_id)
        VALUES (p_client, p_mode, p_idem_key, p_idem_hash, p_id)
        ON CONFLICT (client_id, mode, key) DO UPDATE
            SET request_hash = excluded.request_hash, generation_id = excluded.generation_id, created_at = now()
            WHERE k.created_at < now() - interval '24 hours'
        RETURNING true INTO claimed;
        IF NOT coalesce(claimed, false) THEN
            SELECT * INTO prior FROM idempotency_keys WHERE client_id = p_client AND mode = p_mode AND key = p_idem_key;
            generation_id := prior.generation_id;
            outcome := CASE WHEN prior.request_hash = p_idem_hash THEN 'replay' ELSE 'idempotency_mismatch' END;
            RETURN;
        END IF;
    END IF;

    -- Every output asked for is reserved; settlement bills those that came back.
    price_micros := tryon_price(c.prices, p_mode, p_service, p_default_price, p_outputs);
    -- One statement, so one snapshot: a generation finishing meanwhile is
    -- counted once, either in flight or as an unsettled charge.
    -- A postpaid tenant has no balance, and nothing unsettled to sum.
    SELECT f.slots, f.reserved_micros, f.next_free,
           CASE WHEN c.balance_micros IS NOT NULL THEN tryon_unsettled(p_client) END AS unsettled
    INTO flight FROM tryon_in_flight(p_client) f;
    reserved_micros := flight.reserved_micros;
    balance_micros := c.balance_micros - flight.unsettled;
    IF flight.slots >= c.max_concurrent THEN
        outcome := 'concurrency_limited';
        retry_after_ms := least(greatest(extract(epoch FROM flight.next_free - now()) * 1000, 1000), 10000);
    ELSIF balance_micros IS NOT NULL AND balance_micros - flight.reserved_micros < price_micros THEN
        outcome := 'insufficient_credits';
    END IF;
    IF outcome IS NOT NULL THEN
        IF claimed THEN
            -- A refused request leaves no idempotency record, so the tenant
            -- may retry it with the same key once the limit allows.
            DELETE FROM idempotency_keys WHERE client_id = p_client AND mode = p_mode AND key = p_idem_key;
        END IF;
        RETURN;
    END IF;

    INSERT INTO generations (id, client_id, key_id, status, mode, service, provider, model, prompt,
                             width, height, duration_seconds, metadata, idempotency_key, price_micros, deadline,
                             num_outputs)
    VALUES (p_id, p_client, p_key, 'processing', p_mode, p_service, p_provider, p_model, p_prompt,
            p_width, p_height, p_duration, p_metadata, p_idem_key, price_micros,
            now() + p_lifetime_ms * interval '1 millisecond', p_outputs);
    reserved_micros := reserved_micros + price_micros;
    generation_id := p_id;
    outcome := 'admitted';
END
$$;

-- tryon_readmit records again a generation whose admission a database crash
-- lost (tryon_admit commits asynchronously, see there): the request that
-- was admitted still runs and has its provider's result, paid for, to
-- finish. It is called, in the finishing transaction, only when the
-- generation's row is missing, and does nothing if the row exists. Same id,
-- key, mode, service, prompt and price as tryon_admit computed, created
-- when the id says (p_admitted_at) with the same deadline; the rate limit is
-- not counted again and no limit can refuse it: the work was admitted once.
-- Three things may differ from the lost admission:
--   * the Idempotency-Key is claimed again only if still free. A retry that
--     claimed it meanwhile (the claim was lost with the admission) keeps
--     it and is the request's generation from then on; this one is
--     recorded without the key and free of charge (price 0), so the tenant
--     still pays once for one idempotent request;
--   * a prepaid tenant is charged at most what its balance still covers
--     after the others' reservations: admissions made after the crash did
--     not see this one's reservation, and a balance is never overdrawn;
--   * the price is the tenant's price now, as tryon_admit computes it.
-- readmitted is false when the row was there.
CREATE OR REPLACE FUNCTION tryon_readmit(
    p_key uuid, p_client uuid, p_id uuid, p_mode text, p_service text, p_provider text, p_model text,
    p_prompt text, p_width integer, p_height integer, p_duration integer, p_metadata jsonb,
    p_idem_key text, p_idem_hash bytea, p_default_price bigint, p_lifetime_ms bigint,
    p_admitted_at timestamptz, p_end_user text, p_token_id text, p_outputs integer,
    OUT readmitted boolean)
LANGUAGE plpgsql AS $$
DECLARE
    c       clients%ROWTYPE;
    price   bigint;
    claimed boolean := false;
BEGIN
    readmitted := false;
    IF EXISTS (SELECT 1 FROM generations WHERE id = p_id) THEN
        RETURN; -- the usual case: costs one index probe, no lock
    END IF;
    -- Locked as tryon_admit locks it, so that the balance read below holds.
    SELECT * INTO c FROM clients WHERE id = p_client FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- Every output asked for is reserved, as tryon_admit reserves them.
    -- least() ignores the NULL of a postpaid tenant, who pays the price.
    price := greatest(0, least(tryon_price(c.prices, p_mode, p_service, p_default_price, p_outputs),
                               tryon_credits_remaining(p_client)));
    IF p_idem_key IS NOT NULL THEN
        INSERT INTO idempotency_keys AS k (client_id, mode, key, request_hash, generation_id, created_at)
        VALUES (p_client, p_mode, p_idem_key, p_idem_hash, p_id, p_admitted_at)
        ON CONFLICT (client_id, mode, key) DO UPDATE
            SET request_hash = excluded.request_hash, generation_id = excluded.generation_id, created_at = excluded.created_at
            WHERE k.created_at < now() - interval '24 hours'
        RETURNING true INTO claimed;
        IF NOT coalesce(claimed, false) THEN
            price := 0; -- a retry holds the key and is what the tenant pays for
        END IF;
    END IF;
    INSERT INTO generations (id, client_id, key_id, status, mode, service, provider, model, prompt,
                             width, height, duration_seconds, metadata, idempotency_key, price_micros,
                             created_at, deadline, end_user, token_id, num_outputs)
    VALUES (p_id, p_client, p_key, 'processing', p_mode, p_service, p_provider, p_model, p_prompt,
            p_width, p_height, p_duration, p_metadata, CASE WHEN coalesce(claimed, false) THEN p_idem_key END, price,
            p_admitted_at, p_admitted_at + p_lifetime_ms * interval '1 millisecond', p_end_user, p_token_id, p_outputs)
    ON CONFLICT (id) DO NOTHING;
    readmitted := FOUND;
END
$$;

-- rollups.sql -----------------------------------------------------------------

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

-- settlement.sql --------------------------------------------------------------

-- tryon_finish finalises a processing generation exactly once. Success needs
-- the generation to be within its deadline (past it, its reservation no longer
-- counts, so it is failed as timed out instead); on live success it writes the
-- usage record and settles the prepaid balance in the same transaction. It
-- also adds the generation to the rollups and, for a tenant with a webhook,
-- queues the delivery. finished is false when the generation was already
-- final (another request finished it first); the row is returned either way.
-- The timeout's code and message come from Go (tryon.TimedOut), its one
-- wording.
-- p_outputs lists every output stored ({url, content_type, width, height,
-- bytes}, the first being p_output_*): a success bills the price per output
-- (price_micros / num_outputs) for each, so a partial success pays only for
-- what came back. It came last, with no default, so that the 13-argument
-- tryon_finish stays for a deployment still calling it.
CREATE OR REPLACE FUNCTION tryon_finish(
    p_id uuid, p_succeeded boolean,
    p_output_url text, p_output_content_type text, p_output_width integer, p_output_height integer,
    p_output_bytes bigint, p_error_code text, p_error_message text, p_retry_after_ms bigint,
    p_webhook_lease_ms bigint, p_timeout_code text, p_timeout_message text, p_outputs jsonb,
    OUT finished boolean, OUT delivery_id uuid, OUT credits_remaining bigint)
LANGUAGE plpgsql AS $$
DECLARE
    g       generations%ROWTYPE;
    hook    text;
    balance bigint;
BEGIN
    -- "The deadline wins": a success counts only within the deadline. ok
    -- decides it once for the row, for every column that depends on it.
    UPDATE generations t SET
        (status, output_url, output_content_type, output_width, output_height, output_bytes,
         error_code, error_message, cost_micros, outputs) =
        (SELECT CASE WHEN ok THEN 'succeeded' ELSE 'failed' END,
                CASE WHEN ok THEN p_output_url END,
                CASE WHEN ok THEN p_output_content_type END,
                CASE WHEN ok THEN p_output_width END,
                CASE WHEN ok THEN p_output_height END,
                CASE WHEN ok THEN p_output_bytes END,
                CASE WHEN ok THEN NULL WHEN p_succeeded THEN p_timeout_code ELSE p_error_code END,
                CASE WHEN ok THEN NULL WHEN p_succeeded THEN p_timeout_message ELSE p_error_message END,
                CASE WHEN ok AND t.mode = 'live'
                     THEN t.price_micros / t.num_outputs * least(jsonb_array_length(p_outputs), t.num_outputs)
                     ELSE 0 END,
                CASE WHEN ok THEN p_outputs ELSE '[]' END
         FROM (SELECT p_succeeded AND t.deadline > now() AS ok) deadline_wins),
        retry_after_ms = CASE WHEN p_succeeded THEN NULL ELSE p_retry_after_ms END,
        latency_ms = floor(extract(epoch FROM clock_timestamp() - t.created_at) * 1000),
        completed_at = clock_timestamp(),
        poll_lease_until = NULL
    WHERE t.id = p_id AND t.status = 'processing'
    RETURNING t.* INTO g;
    finished := FOUND;
    IF NOT finished THEN
        RETURN;
    END IF;

    SELECT c.balance_micros, c.webhook_url INTO balance, hook FROM clients c WHERE c.id = g.client_id;
    IF g.cost_micros > 0 THEN
        INSERT INTO usage_records (generation_id, client_id, service, amount_micros)
        VALUES (g.id, g.client_id, g.service, g.cost_micros);
        IF balance IS NOT NULL THEN
            -- Not an update of the tenant's row, which would queue the
            -- tenant's other finishes and admissions behind this commit's
            -- WAL flush (see unsettled_shards).
            INSERT INTO unsettled_shards AS s (client_id, shard, amount_micros)
            VALUES (g.client_id, pg_backend_pid() % 16, g.cost_micros)
            ON CONFLICT (client_id, shard) DO UPDATE SET amount_micros = s.amount_micros + excluded.amount_micros;
        END IF;
    END IF;
    IF balance IS NOT NULL THEN
        SELECT balance - u, balance - u - f.reserved_micros INTO balance, credits_remaining
        FROM tryon_unsettled(g.client_id) u, tryon_in_flight(g.client_id) f;
        -- The reservation made at admission guarantees cover; a balance
        -- that cannot cover its charges is a broken invariant, refused as
        -- the balance's own check would refuse it.
        IF balance < 0 THEN
            RAISE EXCEPTION 'the balance of client % cannot cover its charges', g.client_id
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;

    PERFORM tryon_record_rollups(g);

    IF hook IS NOT NULL THEN
        -- The finishing request sends it at once; the lease keeps the cron
        -- sweep away meanwhile, and takes over if that request dies.
        INSERT INTO webhook_deliveries (id, client_id, generation_id, event, url, next_attempt_at)
        VALUES (gen_random_uuid(), g.client_id, g.id, 'generation.' || g.status, hook,
                now() + p_webhook_lease_ms * interval '1 millisecond')
        RETURNING id INTO delivery_id;
    END IF;
END
$$;

-- expiry.sql ------------------------------------------------------------------

-- tryon_expire fails the processing generations past their deadline: of one
-- generation (p_id), of one tenant (p_client), or of everyone (both NULL),
-- at most p_limit of them, oldest first, with the timeout's code and
-- message. It returns the ids it finished.
CREATE OR REPLACE FUNCTION tryon_expire(p_id uuid, p_client uuid, p_limit integer, p_webhook_lease_ms bigint,
                                        p_timeout_code text, p_timeout_message text)
RETURNS TABLE (id uuid, delivery_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    f record;
BEGIN
    FOR r IN
        SELECT g.id FROM generations g
        WHERE g.status = 'processing' AND g.deadline <= now()
          AND (p_id IS NULL OR g.id = p_id) AND (p_client IS NULL OR g.client_id = p_client)
        ORDER BY g.created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    LOOP
        SELECT * INTO f FROM tryon_finish(r.id, false, NULL, NULL, NULL, NULL, NULL, p_timeout_code,
                                          p_timeout_message, NULL, p_webhook_lease_ms,
                                          p_timeout_code, p_timeout_message, '[]');
        IF f.finished THEN
            id := r.id;
            delivery_id := f.delivery_id;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;

-- client_tokens.sql -----------------------------------------------------------

-- ============================================================================
-- Client tokens (JWTs a tenant gives its end users' browsers). Begin.
-- ============================================================================

-- A tenant's signing secrets, by version (a token's kid). Stored as they are:
-- HS256 verification needs the secret itself, a digest could not check a
-- signature. valid_until is NULL for the current secret; a rotation sets it
-- on the older ones to the end of their grace period.
CREATE TABLE IF NOT EXISTS client_token_secrets (
    client_id   uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    version     integer NOT NULL CHECK (version >= 1),
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    valid_until timestamptz,
    PRIMARY KEY (client_id, version)
);

-- The API key (one per tenant and mode, named "client tokens", whose secret
-- was never kept) that token requests act as: its rate limit is the tenant's
-- limit for all of its tokens together, generations record it, and revoking
-- it turns that mode's tokens off. end_user_requests_per_minute is the limit
-- of each end user on top of it.
CREATE TABLE IF NOT EXISTS client_token_keys (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    mode      text NOT NULL CHECK (mode IN ('live', 'test')),
    key_id    uuid NOT NULL UNIQUE REFERENCES api_keys (id) ON DELETE CASCADE,
    end_user_requests_per_minute integer NOT NULL DEFAULT 60 CHECK (end_user_requests_per_minute BETWEEN 1 AND 1000000),
    PRIMARY KEY (client_id, mode)
);

-- Who a generation was made for, and with which token (jti): a token reads
-- only its end user's generations, and its caps count its own.
ALTER TABLE generations ADD COLUMN IF NOT EXISTS end_user text;
ALTER TABLE generations ADD COLUMN IF NOT EXISTS token_id text;
CREATE INDEX IF NOT EXISTS generations_by_token ON generations (client_id, token_id)
    INCLUDE (status, price_micros, cost_micros, deadline) WHERE token_id IS NOT NULL;

-- Per end user rate state, the same cell rate algorithm as rate_counters.
CREATE UNLOGGED TABLE IF NOT EXISTS end_user_rate_counters (
    client_id uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    end_user  text NOT NULL,
    tat       timestamptz NOT NULL,
    PRIMARY KEY (client_id, end_user)
);

-- tryon_ensure_token_keys makes a tenant's two client-token keys when it has
-- none yet. The tenant row is locked, so two callers never make two.
CREATE OR REPLACE FUNCTION tryon_ensure_token_keys(p_client uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    m text;
    k uuid;
BEGIN
    PERFORM 1 FROM clients WHERE id = p_client FOR NO KEY UPDATE;
    FOREACH m IN ARRAY ARRAY['live', 'test'] LOOP
        IF NOT EXISTS (SELECT 1 FROM client_token_keys WHERE client_id = p_client AND mode = m) THEN
            k := gen_random_uuid();
            -- The digest of a random value nobody keeps: no key authenticates as it.
            INSERT INTO api_keys (id, client_id, kind, name, digest, prefix)
            VALUES (k, p_client, m, 'client tokens', sha256(convert_to(gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')),
                    'tryon_' || m || '_tokens');
            INSERT INTO client_token_keys (client_id, mode, key_id) VALUES (p_client, m, k);
        END IF;
    END LOOP;
END
$$;

-- tryon_rotate_token_secret makes p_secret the tenant's current signing
-- secret and gives every older one p_grace_ms more to live (never more than
-- it had). It returns the new version.
CREATE OR REPLACE FUNCTION tryon_rotate_token_secret(p_client uuid, p_secret text, p_grace_ms bigint)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v integer;
BEGIN
    PERFORM tryon_ensure_token_keys(p_client);
    UPDATE client_token_secrets
    SET valid_until = least(coalesce(valid_until, 'infinity'), now() + p_grace_ms * interval '1 millisecond')
    WHERE client_id = p_client;
    SELECT coalesce(max(version), 0) + 1 INTO v FROM client_token_secrets WHERE client_id = p_client;
    INSERT INTO client_token_secrets (client_id, version, secret) VALUES (p_client, v, p_secret);
    RETURN v;
END
$$;

-- tryon_current_token_secret returns the tenant's current signing secret,
-- making p_secret its first one when it has none (POST /tokens then works
-- for a tenant that never rotated).
CREATE OR REPLACE FUNCTION tryon_current_token_secret(p_client uuid, p_secret text,
    OUT version integer, OUT secret text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM clients WHERE id = p_client FOR NO KEY UPDATE;
    SELECT s.version, s.secret INTO version, secret FROM client_token_secrets s
    WHERE s.client_id = p_client AND s.valid_until IS NULL;
    IF NOT FOUND THEN
        version := tryon_rotate_token_secret(p_client, p_secret, 0);
        secret := p_secret;
    END IF;
END
$$;

-- tryon_hit_end_user_rate counts one request of an end user against their
-- limit (the algorithm of tryon_hit_rate; a refused request moves nothing).
CREATE OR REPLACE FUNCTION tryon_hit_end_user_rate(p_client uuid, p_end_user text, p_limit integer,
    OUT limited boolean, OUT retry_after_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    period_us constant bigint := 60000000;
    step_us   bigint := period_us / greatest(p_limit, 1);
    ahead_us  bigint;
    v_tat     timestamptz;
BEGIN
    INSERT INTO end_user_rate_counters (client_id, end_user, tat) VALUES (p_client, p_end_user, now())
    ON CONFLICT (client_id, end_user) DO NOTHING;
    SELECT tat INTO v_tat FROM end_user_rate_counters WHERE client_id = p_client AND end_user = p_end_user FOR UPDATE;
    ahead_us := greatest(0, floor(extract(epoch FROM v_tat - now()) * 1000000))::bigint;
    limited := ahead_us > period_us - step_us;
    IF limited THEN
        retry_after_ms := ceil((ahead_us - (period_us - step_us)) / 1000.0);
    ELSE
        UPDATE end_user_rate_counters SET tat = now() + (ahead_us + step_us) * interval '1 microsecond'
        WHERE client_id = p_client AND end_user = p_end_user;
    END IF;
END
$$;

-- tryon_admit_token admits a generation asked for with a client token: the
-- end user's rate limit, then the token's caps, then tryon_admit, and it
-- records the end user and the token on the generation. The tenant row is
-- locked first (as tryon_admit locks it), so the caps hold under any
-- concurrency: two requests of one token never both take its last
-- generation or its last micro-dollar. (The end user's rate counter row,
-- locked next, serialises one end user's requests too; the tenant lock is
-- what the caps rely on.) A generation counts against the caps
-- unless it failed; its price counts while it is reserved and once billed.
-- Outcomes beyond tryon_admit's: end_user_rate_limited,
-- token_generations_exhausted, token_spend_exhausted.
-- p_outputs (last, no default, as for tryon_admit) is the outputs asked
-- for: the spend cap counts the price of each.
CREATE OR REPLACE FUNCTION tryon_admit_token(
    p_end_user text, p_token_id text, p_max_generations bigint, p_max_spend_micros bigint,
    p_key uuid, p_client uuid, p_id uuid, p_mode text, p_service text, p_provider text, p_model text,
    p_prompt text, p_width integer, p_height integer, p_duration integer, p_metadata jsonb,
    p_idem_key text, p_idem_hash bytea, p_default_price bigint, p_lifetime_ms bigint, p_count_rate boolean,
    p_outputs integer,
    OUT outcome text, OUT rate_limited boolean, OUT rate_remaining integer, OUT rate_limit integer, OUT rate_reset timestamptz,
    OUT generation_id uuid, OUT price_micros bigint, OUT balance_micros bigint,
    OUT reserved_micros bigint, OUT retry_after_ms bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c       clients%ROWTYPE;
    per_min integer;
    used    record;
    price   bigint;
BEGIN
    SELECT * INTO c FROM clients WHERE id = p_client FOR NO KEY UPDATE;
    SELECT k.end_user_requests_per_minute INTO per_min FROM client_token_keys k WHERE k.key_id = p_key;
    SELECT h.limited, h.retry_after_ms INTO rate_limited, retry_after_ms
    FROM tryon_hit_end_user_rate(p_client, p_end_user, coalesce(per_min, 60)) h;
    IF rate_limited THEN
        outcome := 'end_user_rate_limited';
        rate_limited := false; -- the tenant's own limit was not what refused it
        RETURN;
    END IF;
    retry_after_ms := NULL;

    IF p_max_generations IS NOT NULL OR p_max_spend_micros IS NOT NULL THEN
        SELECT count(*) AS generations,
               coalesce(sum(CASE WHEN g.status = 'succeeded' THEN g.cost_micros
                                 WHEN g.status = 'processing' AND g.deadline > now() AND g.mode = 'live' THEN g.price_micros
                                 ELSE 0 END), 0) AS spent
        INTO used
        FROM generations g
        WHERE g.client_id = p_client AND g.token_id = p_token_id AND g.status <> 'failed'
          AND NOT (g.status = 'processing' AND g.deadline <= now());
        -- The price as tryon_admit computes it.
        price := tryon_price(c.prices, p_mode, p_service, p_default_price, p_outputs);
        IF p_max_generations IS NOT NULL AND used.generations >= p_max_generations THEN
            outcome := 'token_generations_exhausted';
            RETURN;
        END IF;
        IF p_max_spend_micros IS NOT NULL AND used.spent + price > p_max_spend_micros THEN
            outcome := 'token_spend_exhausted';
            RETURN;
        END IF;
    END IF;

    SELECT * INTO outcome, rate_limited, rate_remaining, rate_limit, rate_reset, generation_id,
        price_micros, balance_micros, reserved_micros, retry_after_ms
    FROM tryon_admit(p_key, p_client, p_id, p_mode, p_service, p_provider, p_model,
        p_prompt, p_width, p_height, p_duration, p_metadata, p_idem_key, p_idem_hash, p_default_price,
        p_lifetime_ms, p_count_rate, p_outputs);
    IF outcome = 'admitted' THEN
        UPDATE generations SET end_user = p_end_user, token_id = p_token_id WHERE id = p_id;
    ELSIF outcome = 'replay' AND NOT EXISTS (
        SELECT 1 FROM generations g WHERE g.id = tryon_admit_token.generation_id AND g.end_user = p_end_user) THEN
        -- Another end user's (or the tenant's own) Idempotency-Key: never
        -- show this end user that generation.
        outcome := 'idempotency_mismatch';
    END IF;
END
$$;

-- tryon_token_read counts a read by an end user against their limit and
-- says whether the generation is theirs.
CREATE OR REPLACE FUNCTION tryon_token_read(p_key uuid, p_client uuid, p_end_user text, p_id uuid,
    OUT limited boolean, OUT retry_after_ms bigint, OUT owned boolean)
LANGUAGE plpgsql AS $$
DECLARE
    per_min integer;
BEGIN
    SELECT k.end_user_requests_per_minute INTO per_min FROM client_token_keys k WHERE k.key_id = p_key;
    SELECT h.limited, h.retry_after_ms INTO limited, retry_after_ms
    FROM tryon_hit_end_user_rate(p_client, p_end_user, coalesce(per_min, 60)) h;
    owned := EXISTS (SELECT 1 FROM generations g WHERE g.id = p_id AND g.client_id = p_client AND g.end_user = p_end_user);
END
$$;

-- ============================================================================
-- Client tokens. End.
-- ============================================================================

-- billing.sql -----------------------------------------------------------------

-- Billing: statements, Stripe metering and top-ups. Statements read
-- usage_records and client_ledger as they are; Stripe's tables are new.

-- tryon_balance_at is a prepaid tenant's balance at a moment (NULL when the
-- tenant was postpaid then, or did not exist yet). Every ledger entry records
-- the balance just after it (balance_after), so the balance at a moment is the
-- last entry's before it, less the usage records charged between the two.
-- Statements use it for their opening and closing balances, so both follow
-- from the same rows the statement lists. (A charge settling in the very
-- transaction-instant of a ledger change may land on the wrong side of it.)
CREATE OR REPLACE FUNCTION tryon_balance_at(p_client uuid, p_at timestamptz) RETURNS bigint
LANGUAGE sql STABLE AS $$
    WITH anchor AS (
        SELECT l.balance_after, l.created_at FROM client_ledger l
        WHERE l.client_id = p_client AND l.created_at < p_at
        ORDER BY l.created_at DESC, l.id DESC LIMIT 1
    )
    SELECT a.balance_after
           - coalesce((SELECT sum(u.amount_micros) FROM usage_records u
                       WHERE u.client_id = p_client AND u.created_at > a.created_at AND u.created_at < p_at), 0)
    FROM anchor a
$$;

-- Each tenant billed through Stripe, and the Stripe customer it is billed as.
CREATE TABLE IF NOT EXISTS stripe_customers (
    client_id   uuid PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    customer_id text NOT NULL CHECK (customer_id ~ '^cus_[A-Za-z0-9]+$'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The outbox of Stripe Billing meter events: one row per usage record of a
-- tenant linked to a Stripe customer, written by a trigger on usage_records,
-- so it commits or rolls back with the charge itself. A trigger rather than a
-- line in the settlement function: whichever code path writes a usage record
-- (today tryon_finish) queues its event without knowing about Stripe, and the
-- settlement SQL stays about settling. A separate table rather than a column
-- on usage_records keeps the charge's row immutable and the delivery state
-- (attempts, backoff, errors) out of the billing record. The cron sweep
-- drains it; the generation id is the meter event's identifier, which Stripe
-- deduplicates, so a resend after a crash between sending and marking
-- counts once.
CREATE TABLE IF NOT EXISTS stripe_meter_events (
    generation_id   uuid PRIMARY KEY REFERENCES usage_records (generation_id) ON DELETE CASCADE,
    client_id       uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- The customer at the time of the charge: relinking never moves past usage.
    customer_id     text NOT NULL,
    value_micros    bigint NOT NULL CHECK (value_micros >= 0),
    occurred_at     timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    sent_at         timestamptz
);

CREATE INDEX IF NOT EXISTS stripe_meter_events_due ON stripe_meter_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS stripe_meter_events_unsent_by_client ON stripe_meter_events (client_id) WHERE status <> 'sent';

CREATE OR REPLACE FUNCTION tryon_queue_meter_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stripe_meter_events (generation_id, client_id, customer_id, value_micros, occurred_at)
    SELECT NEW.generation_id, NEW.client_id, s.customer_id, NEW.amount_micros, NEW.created_at
    FROM stripe_customers s WHERE s.client_id = NEW.client_id;
    RETURN NULL;
END
$$;

-- Created only when missing: the catalog is checked first, so applying the
-- schema again takes no lock on usage_records.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'usage_records_queue_meter_event'
                   AND tgrelid = 'usage_records'::regclass) THEN
        CREATE TRIGGER usage_records_queue_meter_event AFTER INSERT ON usage_records
            FOR EACH ROW EXECUTE FUNCTION tryon_queue_meter_event();
    END IF;
END
$$;

-- Stripe webhook events already handled, by Stripe's event id: a redelivered
-- event is acknowledged and does nothing.
CREATE TABLE IF NOT EXISTS stripe_events (
    id          text PRIMARY KEY,
    type        text NOT NULL,
    outcome     text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- Prepaid top-ups paid through Stripe Checkout, one per session, so that two
-- events about one payment credit it once.
CREATE TABLE IF NOT EXISTS stripe_topups (
    session_id     text PRIMARY KEY,
    client_id      uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    amount_micros  bigint NOT NULL CHECK (amount_micros > 0),
    event_id       text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);

-- Top-up Checkout sessions created under an Idempotency-Key: a retried
-- POST /billing/topup gets the session it already has, not a second one,
-- for 24 hours (Stripe keeps its own keys as long).
CREATE TABLE IF NOT EXISTS topup_checkouts (
    client_id       uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    session_id      text NOT NULL,
    url             text NOT NULL,
    amount_micros   bigint NOT NULL CHECK (amount_micros > 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, idempotency_key)
);

-- params.sql ------------------------------------------------------------------

-- The try-on and output parameters a generation asked for (task, garment
-- categories and photo types, seed, output format and quality), as the API
-- shows them; NULL when it asked for none. Never an image: input photos are
-- not stored. Written once, right after admission, by RecordParams.
ALTER TABLE generations ADD COLUMN IF NOT EXISTS params jsonb
    CHECK (params IS NULL OR jsonb_typeof(params) = 'object');

-- A tenant's default service: the service of its requests that name none
-- (NULL: banana). Set with `tryon client set-default-service`.
ALTER TABLE clients ADD COLUMN IF NOT EXISTS default_service text
    CHECK (default_service IS NULL OR default_service <> '');

-- cancel.sql ------------------------------------------------------------------

-- Canceling a generation (POST /generate/:id/cancel) ---------------------------

-- A generation may end canceled. The status check of tables.sql is widened
-- in place: swapped in one ALTER (so there is never a moment without it)
-- and NOT VALID, which takes its lock only for the swap; the check is then
-- validated under a lock that lets traffic flow. The catalog is checked
-- first, so an up-to-date database takes no lock at all.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conrelid = 'generations'::regclass AND conname = 'generations_status_check'
                     AND pg_get_constraintdef(oid) LIKE '%canceled%') THEN
        ALTER TABLE generations
            DROP CONSTRAINT IF EXISTS generations_status_check,
            ADD CONSTRAINT generations_status_check
                CHECK (status IN ('processing', 'succeeded', 'failed', 'canceled')) NOT VALID;
    END IF;
END
$$;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_constraint
               WHERE conrelid = 'generations'::regclass AND conname = 'generations_status_check'
                 AND NOT convalidated) THEN
        ALTER TABLE generations VALIDATE CONSTRAINT generations_status_check;
    END IF;
END
$$;

-- tryon_cancel cancels a tenant's processing generation (of one end user's,
-- for a client token: p_end_user) exactly once. Like tryon_finish it only
-- ever moves a row out of processing, so the two exclude each other on the
-- row's lock: whichever comes second finds it final and changes nothing, and
-- a generation is never both charged and canceled. Leaving processing is
-- what releases the reservation and the concurrency slot (tryon_in_flight
-- counts processing rows only); nothing is charged (cost 0, no usage
-- record). The generation counts in the rollups as failed: it ended
-- without an output. For a tenant with a webhook, generation.canceled is
-- queued, leased to the canceling request as tryon_finish does.
--
-- outcome: canceled (by this call), already_canceled, finished (it had
-- succeeded or failed), or NULL when no such generation is the caller's.
-- The strings are pkg/tryon's CancelOutcome constants.
CREATE OR REPLACE FUNCTION tryon_cancel(p_id uuid, p_client uuid, p_end_user text, p_webhook_lease_ms bigint,
                                        OUT outcome text, OUT delivery_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    g    generations%ROWTYPE;
    hook text;
BEGIN
    UPDATE generations t SET
        status = 'canceled', cost_micros = 0,
        output_url = NULL, output_content_type = NULL, output_width = NULL, output_height = NULL, output_bytes = NULL,
        error_code = NULL, error_message = NULL, retry_after_ms = NULL,
        latency_ms = floor(extract(epoch FROM clock_timestamp() - t.created_at) * 1000),
        completed_at = clock_timestamp(),
        poll_lease_until = NULL
    WHERE t.id = p_id AND t.client_id = p_client AND (p_end_user IS NULL OR t.end_user = p_end_user)
      AND t.status = 'processing'
    RETURNING t.* INTO g;
    IF FOUND THEN
        outcome := 'canceled';
        PERFORM tryon_record_rollups(g);
        SELECT c.webhook_url INTO hook FROM clients c WHERE c.id = g.client_id;
        IF hook IS NOT NULL THEN
            INSERT INTO webhook_deliveries (id, client_id, generation_id, event, url, next_attempt_at)
            VALUES (gen_random_uuid(), g.client_id, g.id, 'generation.canceled', hook,
                    now() + p_webhook_lease_ms * interval '1 millisecond')
            RETURNING id INTO delivery_id;
        END IF;
        RETURN;
    END IF;
    SELECT CASE WHEN t.status = 'canceled' THEN 'already_canceled' ELSE 'finished' END INTO outcome
    FROM generations t
    WHERE t.id = p_id AND t.client_id = p_client AND (p_end_user IS NULL OR t.end_user = p_end_user);
END
$$;

-- retention.sql ---------------------------------------------------------------

-- Retention and erasure of outputs (people's photos): a tenant's
-- retention_days, the tombstones that make an erased output's URL answer
-- 410 rather than 404, the outbox of Vercel Blob deletions, and the
-- functions that remove outputs. The database always learns first: a
-- generation's outputs are cleared, its Postgres bytes deleted and its Blob
-- URLs queued in one transaction; the Blob API is called afterwards, from
-- the queue, and a URL leaves the queue only once Blob confirmed the delete.
-- A crash in between leaves the URL queued, and deleting it again is
-- harmless, so the order is safe to retry.

-- How many days a succeeded generation's outputs are kept (from its
-- completion). Set with `tryon client set-retention`.
ALTER TABLE clients ADD COLUMN IF NOT EXISTS retention_days integer NOT NULL DEFAULT 30
    CHECK (retention_days BETWEEN 1 AND 3650);

-- When the outputs were deleted (retention or erasure), and when the
-- generation was erased (outputs, prompt, metadata and end user).
ALTER TABLE generations ADD COLUMN IF NOT EXISTS expired_at timestamptz;
ALTER TABLE generations ADD COLUMN IF NOT EXISTS erased_at timestamptz;

-- The sweep's scan: per tenant, succeeded generations still holding
-- outputs, oldest first.
CREATE INDEX IF NOT EXISTS generations_retained_by_client ON generations (client_id, completed_at)
    WHERE status = 'succeeded' AND expired_at IS NULL;

-- Tokens of deleted assets: GET /assets/:token answers 410 for these and
-- 404 for tokens never issued. No bytes, nothing personal.
CREATE TABLE IF NOT EXISTS erased_assets (
    token     text PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);

-- Vercel Blob URLs to delete: queued with the erasure, removed once Blob
-- confirmed. The lease (next_attempt_at) keeps two senders apart.
CREATE TABLE IF NOT EXISTS blob_deletions (
    url             text PRIMARY KEY,
    client_id       uuid NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS blob_deletions_due ON blob_deletions (next_attempt_at);
-- The generation a URL was an output of: DELETE /generate/:id sends its own
-- generation's deletes before answering, and leaves the rest of the queue
-- to the sweep. NULL for URLs queued before the column.
ALTER TABLE blob_deletions ADD COLUMN IF NOT EXISTS generation_id uuid;
CREATE INDEX IF NOT EXISTS blob_deletions_by_generation ON blob_deletions (generation_id);

-- tryon_remove_outputs deletes the outputs of generations the caller has
-- locked: Postgres bytes go at once (a tombstone kept per token), Blob URLs
-- are queued in blob_deletions, and the generation's output fields are
-- cleared. Outputs are read from output_url and from every outputs[].url.
CREATE OR REPLACE FUNCTION tryon_remove_outputs(p_ids uuid[])
RETURNS void
LANGUAGE sql
AS $$
    WITH urls AS (
        SELECT DISTINCT g.client_id, g.id AS generation_id, u.url
        FROM generations g
        CROSS JOIN LATERAL (
            SELECT g.output_url AS url
            UNION ALL
            SELECT o ->> 'url' FROM jsonb_array_elements(g.outputs) o
        ) u
        WHERE g.id = ANY (p_ids) AND u.url IS NOT NULL
    ), tokens AS (
        SELECT substring(url FROM '^/assets/([A-Za-z0-9_-]{22})') AS token FROM urls
    ), tombstones AS (
        INSERT INTO erased_assets (token)
        SELECT token FROM tokens WHERE token IS NOT NULL
        ON CONFLICT DO NOTHING
    ), bytes AS (
        -- = ANY (ARRAY(...)): a lookup by primary key per token, where
        -- IN (subquery) may be planned as a scan of every asset.
        DELETE FROM assets WHERE token = ANY (ARRAY(SELECT token FROM tokens WHERE token IS NOT NULL))
    ), blobs AS (
        INSERT INTO blob_deletions (url, client_id, generation_id)
        SELECT url, client_id, generation_id FROM urls WHERE url ~ '^https?://'
        ON CONFLICT DO NOTHING
    )
    UPDATE generations SET
        output_url = NULL, output_content_type = NULL, output_width = NULL,
        output_height = NULL, output_bytes = NULL, outputs = '[]',
        expired_at = CASE WHEN status = 'succeeded' THEN coalesce(expired_at, now()) END
    WHERE id = ANY (p_ids);
$$;

-- tryon_expire_outputs removes the outputs of up to p_limit succeeded
-- generations older than their tenant's retention, and says how many.
-- SKIP LOCKED: concurrent sweeps take disjoint generations, and a
-- generation being erased at this moment is left to its eraser. A
-- generation another sweep has just expired is re-checked once its lock is
-- free and no longer matches (expired_at is set), so each is removed once.
CREATE OR REPLACE FUNCTION tryon_expire_outputs(p_limit integer)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    ids uuid[];
BEGIN
    SELECT array_agg(due.id) INTO ids FROM (
        SELECT g.id
        FROM clients c
        CROSS JOIN LATERAL (
            SELECT g.id FROM generations g
            WHERE g.client_id = c.id AND g.status = 'succeeded' AND g.expired_at IS NULL
              AND g.completed_at < now() - c.retention_days * interval '1 day'
            ORDER BY g.completed_at
            LIMIT p_limit
            FOR UPDATE SKIP LOCKED
        ) g
        LIMIT p_limit
    ) due;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM tryon_remove_outputs(ids);
    RETURN cardinality(ids);
END
$$;

-- tryon_erase removes a tenant's generations' outputs and clears their
-- prompt, metadata and end user, marking them erased; billing records
-- (usage_records, unsettled charges, rollups, the ledger) hold no personal
-- data and stay. Generations still processing are left alone (the caller
-- says 409, or reports them). With p_hook_lease_ms set and a webhook
-- configured, a generation.deleted delivery is queued for each one erased,
-- leased to the caller that sends it at once.
CREATE OR REPLACE FUNCTION tryon_erase(p_client uuid, p_ids uuid[], p_hook_lease_ms bigint,
    OUT erased uuid[], OUT processing uuid[], OUT deliveries uuid[])
LANGUAGE plpgsql
AS $$
DECLARE
    hook text;
BEGIN
    -- Locked without SKIP LOCKED: an eraser waits for a finisher or a
    -- sweep to commit, then sees the generation as they left it.
    SELECT array_agg(id) FILTER (WHERE status <> 'processing' AND erased_at IS NULL),
           array_agg(id) FILTER (WHERE status = 'processing')
    INTO erased, processing
    FROM (SELECT id, status, erased_at FROM generations
          WHERE client_id = p_client AND id = ANY (p_ids)
          ORDER BY id
          FOR UPDATE) g;
    erased := coalesce(erased, '{}');
    processing := coalesce(processing, '{}');
    deliveries := '{}';
    IF cardinality(erased) = 0 THEN
        RETURN;
    END IF;
    PERFORM tryon_remove_outputs(erased);
    UPDATE generations SET prompt = '', metadata = '{}', end_user = NULL, erased_at = now()
    WHERE id = ANY (erased);
    IF p_hook_lease_ms IS NOT NULL THEN
        SELECT webhook_url INTO hook FROM clients WHERE id = p_client;
        IF hook IS NOT NULL THEN
            WITH queued AS (
                INSERT INTO webhook_deliveries (id, client_id, generation_id, event, url, next_attempt_at)
                SELECT gen_random_uuid(), p_client, e, 'generation.deleted', hook,
                       now() + p_hook_lease_ms * interval '1 millisecond'
                FROM unnest(erased) e
                ON CONFLICT (generation_id, event) DO NOTHING
                RETURNING id
            )
            SELECT array_agg(id) INTO deliveries FROM queued;
            deliveries := coalesce(deliveries, '{}');
        END IF;
    END IF;
END
$$;

-- generation_rows.sql ---------------------------------------------------------

-- The statements every POST /generate and GET /generate/:id makes, as
-- PL/pgSQL functions: PostgreSQL plans a statement sent by a client on every
-- call (the pooler forbids keeping prepared statements), and planning a
-- query on generations, with its partial indexes to prove, cost more than
-- running it. A function's queries are planned once per session; the call
-- itself is cheap to plan.

-- tryon_generation is one generation as the API shows it (scanGeneration's
-- columns, in its order, as generationColumns selects them for lists):
-- p_client scopes it to a tenant, NULL reads any. expires_at is when a
-- success's outputs are deleted, by the tenant's retention.
CREATE OR REPLACE FUNCTION tryon_generation(p_id uuid, p_client uuid)
RETURNS TABLE (id uuid, client_id uuid, key_id uuid, status text, mode text, service text, provider text,
               model text, prompt text, width integer, height integer, duration_seconds integer, metadata jsonb,
               idempotency_key text, price_micros bigint, cost_micros bigint, output_url text,
               output_content_type text, output_width integer, output_height integer, output_bytes bigint,
               error_code text, error_message text, retry_after_ms bigint, operation text, latency_ms bigint,
               created_at timestamptz, deadline timestamptz, completed_at timestamptz, params jsonb,
               num_outputs smallint, outputs jsonb, expired_at timestamptz, erased_at timestamptz,
               expires_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT g.id, g.client_id, g.key_id, g.status, g.mode, g.service, g.provider, g.model,
           g.prompt, g.width, g.height, coalesce(g.duration_seconds, 0), g.metadata, g.idempotency_key,
           g.price_micros, g.cost_micros, g.output_url, g.output_content_type, g.output_width,
           g.output_height, g.output_bytes, g.error_code, g.error_message, g.retry_after_ms,
           coalesce(g.operation, ''), g.latency_ms, g.created_at, g.deadline, g.completed_at,
           g.params, g.num_outputs, g.outputs, g.expired_at, g.erased_at,
           CASE WHEN g.status = 'succeeded' AND g.expired_at IS NULL
                THEN g.completed_at + c.retention_days * interval '1 day' END
    FROM generations g JOIN clients c ON c.id = g.client_id
    WHERE g.id = p_id AND (p_client IS NULL OR g.client_id = p_client);
END
$$;

-- tryon_refresh readies a generation for a read: if it is still processing
-- past its deadline it is failed as timed out (expired lists the webhook
-- deliveries that queued), and if it is a long job due for a poll
-- (p_poll_lease_ms > 0) this reader takes the poll lease (claimed). Most
-- reads are of finished generations: for them it is one index probe.
CREATE OR REPLACE FUNCTION tryon_refresh(p_id uuid, p_client uuid, p_poll_lease_ms bigint, p_webhook_lease_ms bigint,
                                         p_timeout_code text, p_timeout_message text,
                                         OUT expired uuid[], OUT claimed boolean)
LANGUAGE plpgsql AS $$
DECLARE
    g record;
BEGIN
    claimed := false;
    SELECT t.status, t.deadline, t.operation IS NOT NULL AS long_job INTO g
    FROM generations t WHERE t.id = p_id AND (p_client IS NULL OR t.client_id = p_client);
    IF NOT FOUND OR g.status <> 'processing' THEN
        RETURN;
    END IF;
    IF g.deadline <= now() THEN
        SELECT array_agg(e.delivery_id) FILTER (WHERE e.delivery_id IS NOT NULL) INTO expired
        FROM tryon_expire(p_id, p_client, 1, p_webhook_lease_ms, p_timeout_code, p_timeout_message) e;
        RETURN;
    END IF;
    IF p_poll_lease_ms > 0 AND g.long_job THEN
        UPDATE generations t SET poll_lease_until = now() + p_poll_lease_ms * interval '1 millisecond'
        WHERE t.id = p_id AND t.status = 'processing' AND t.operation IS NOT NULL AND t.deadline > now()
          AND (t.poll_lease_until IS NULL OR t.poll_lease_until <= now());
        claimed := FOUND;
    END IF;
END
$$;

-- tryon_store_outputs stores a success's staged outputs (assets kept in
-- PostgreSQL), in the transaction that finished it, and only if that
-- success was recorded: not turned into a timeout by the deadline, nor
-- finished first by someone else (p_first_url is its first output's URL).
-- It returns how many it stored.
CREATE OR REPLACE FUNCTION tryon_store_outputs(p_id uuid, p_first_url text, p_tokens text[], p_types text[],
                                               p_data bytea[])
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    stored integer := 0;
BEGIN
    IF EXISTS (SELECT 1 FROM generations WHERE id = p_id AND status = 'succeeded' AND output_url = p_first_url) THEN
        INSERT INTO assets (token, content_type, data)
        SELECT * FROM unnest(p_tokens, p_types, p_data);
        GET DIAGNOSTICS stored = ROW_COUNT;
    END IF;
    RETURN stored;
END
$$;
