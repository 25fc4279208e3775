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
