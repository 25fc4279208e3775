-- tryon_in_flight returns how many of a tenant's generations hold a
-- concurrency slot and how much money they reserve. A generation past its
-- deadline holds nothing, even before anyone marks it failed, so a slot or a
-- reservation held by a killed process frees itself.
CREATE OR REPLACE FUNCTION tryon_in_flight(p_client uuid, OUT slots integer, OUT reserved_micros bigint,
                                           OUT next_free timestamptz)
LANGUAGE sql STABLE AS $$
    SELECT count(*)::integer,
           coalesce(sum(price_micros) FILTER (WHERE mode = 'live'), 0)::bigint,
           min(deadline)
    FROM generations
    WHERE client_id = p_client AND status = 'processing' AND deadline > now()
$$;

-- tryon_credits_remaining is a prepaid tenant's balance not reserved by
-- generations in flight: what X-Credits-Remaining reports. NULL for a
-- postpaid tenant, for whom nothing is summed.
CREATE OR REPLACE FUNCTION tryon_credits_remaining(p_client uuid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT c.balance_micros - (SELECT f.reserved_micros FROM tryon_in_flight(c.id) f)
    FROM clients c WHERE c.id = p_client AND c.balance_micros IS NOT NULL
$$;
