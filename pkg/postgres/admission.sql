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
