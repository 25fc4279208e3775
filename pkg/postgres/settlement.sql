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
