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
