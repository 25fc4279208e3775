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
