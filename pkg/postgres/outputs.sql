-- Several outputs per generation (num_outputs 1 to 4 on POST /generate).
-- num_outputs is how many were asked for: price_micros reserves the price
-- per output times it, and tryon_finish bills the price per output times
-- the outputs that came back. outputs lists every stored output as
-- {url, content_type, width, height, bytes}, the first also in the
-- output_* columns for existing readers; '[]' until success.
ALTER TABLE generations ADD COLUMN IF NOT EXISTS outputs jsonb NOT NULL DEFAULT '[]';
ALTER TABLE generations ADD COLUMN IF NOT EXISTS num_outputs smallint NOT NULL DEFAULT 1
    CHECK (num_outputs BETWEEN 1 AND 4);
