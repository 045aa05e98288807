-- 003_outbox_traceparent.sql — the W3C trace context (traceparent) of the request that wrote
-- the outbox row, NULL when it was not traced: the relay continues that trace when it
-- publishes the row (a PRODUCER span, and the record's `traceparent` header).
ALTER TABLE customer.outbox ADD COLUMN IF NOT EXISTS traceparent text;
