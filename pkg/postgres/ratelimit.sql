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
