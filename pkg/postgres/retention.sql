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
