-- order-service schema, version 3: what the operations API (order-service/README.md
-- "Operations") keeps next to the read model.
--
-- The stored position's epoch: bumped by every move an operator makes (replay from a point),
-- never by the projection's own commits. A projection batch stores its offsets only while the
-- epoch is the one it read its position under ("order".projection_epoch_check raises
-- otherwise and the batch rolls back), so a replica's batch in flight cannot overwrite a
-- position an operator has just moved; every replica sees the new epoch at its next check
-- and re-reads its position without calling it a loss.
ALTER TABLE "order".projection_offsets ADD COLUMN IF NOT EXISTS epoch bigint NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION "order".projection_epoch_check(stored integer, expected integer)
    RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    IF stored <> expected THEN
        RAISE EXCEPTION 'the stored position of the projection was moved by an operator (a replay) while this batch was applied'
            USING ERRCODE = 'CQ409';
    END IF;
    RETURN stored;
END
$$;

-- Every move of the stored position: what it was, what it became, and the request.
CREATE TABLE IF NOT EXISTS "order".projection_moves (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  topic       character varying NOT NULL,
  partition   integer NOT NULL,
  from_offset bigint,            -- NULL: nothing was stored
  to_offset   bigint NOT NULL,
  epoch       bigint NOT NULL,
  request     text NOT NULL      -- e.g. "timestamp 2026-03-01T10:00:00.000Z"
);

-- The dead-letter records handled by a redrive, one row each, written in the transaction
-- that applied (or decided to skip) the record: a record with a row is never redriven again.
CREATE TABLE IF NOT EXISTS "order".dlq_redrives (
  dlq_topic   character varying NOT NULL,
  partition   integer NOT NULL,
  "offset"    bigint NOT NULL,
  customer_id uuid,
  version     bigint,            -- the record's version (NULL: a tombstone)
  outcome     character varying NOT NULL,  -- applied, skipped-newer, skipped-deleted, ...
  detail      text NOT NULL DEFAULT '',
  at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dlq_topic, partition, "offset")
);
