-- tryon_expire fails the processing generations past their deadline: of one
-- generation (p_id), of one tenant (p_client), or of everyone (both NULL),
-- at most p_limit of them, oldest first, with the timeout's code and
-- message. It returns the ids it finished.
CREATE OR REPLACE FUNCTION tryon_expire(p_id uuid, p_client uuid, p_limit integer, p_webhook_lease_ms bigint,
                                        p_timeout_code text, p_timeout_message text)
RETURNS TABLE (id uuid, delivery_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    f record;
BEGIN
    FOR r IN
        SELECT g.id FROM generations g
        WHERE g.status = 'processing' AND g.deadline <= now()
          AND (p_id IS NULL OR g.id = p_id) AND (p_client IS NULL OR g.client_id = p_client)
        ORDER BY g.created_at
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    LOOP
        SELECT * INTO f FROM tryon_finish(r.id, false, NULL, NULL, NULL, NULL, NULL, p_timeout_code,
                                          p_timeout_message, NULL, p_webhook_lease_ms,
                                          p_timeout_code, p_timeout_message, '[]');
        IF f.finished THEN
            id := r.id;
            delivery_id := f.delivery_id;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
