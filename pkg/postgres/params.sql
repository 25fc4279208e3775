-- The try-on and output parameters a generation asked for (task, garment
-- categories and photo types, seed, output format and quality), as the API
-- shows them; NULL when it asked for none. Never an image: input photos are
-- not stored. Written once, right after admission, by RecordParams.
ALTER TABLE generations ADD COLUMN IF NOT EXISTS params jsonb
    CHECK (params IS NULL OR jsonb_typeof(params) = 'object');

-- A tenant's default service: the service of its requests that name none
-- (NULL: banana). Set with `tryon client set-default-service`.
ALTER TABLE clients ADD COLUMN IF NOT EXISTS default_service text
    CHECK (default_service IS NULL OR default_service <> '');
