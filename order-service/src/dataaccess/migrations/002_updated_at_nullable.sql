-- order-service schema, version 2: "order".customers.updated_at is the event's occurredAt;
-- events written with the seed's original schema (id 1) carry none, so it may be NULL
-- (rather than 1970-01-01). Deterministic either way, so a rebuild still matches the live table.
ALTER TABLE "order".customers ALTER COLUMN updated_at DROP NOT NULL;
ALTER TABLE "order".customers ALTER COLUMN updated_at DROP DEFAULT;
