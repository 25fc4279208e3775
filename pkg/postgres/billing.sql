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
