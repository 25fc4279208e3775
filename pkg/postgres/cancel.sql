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
