-- 001_customer_schema.sql — customer-service's schema: the write model and the
-- transactional outbox. Applied once by pgx_migrate (common/pg/pgx.h); never drops anything.
CREATE SCHEMA IF NOT EXISTS customer;

-- The write model. Names are 1..100 characters (up to 400 bytes of UTF-8); the domain
-- layer enforces the character rules, the database the uniqueness.
CREATE TABLE IF NOT EXISTS customer.customers (
    id          uuid         NOT NULL,
    username    varchar(400) NOT NULL,
    first_name  varchar(400) NOT NULL,
    last_name   varchar(400) NOT NULL,
    version     bigint       NOT NULL CHECK (version >= 1),
    created_at  timestamptz  NOT NULL DEFAULT now(),
    updated_at  timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT customers_pkey PRIMARY KEY (id),
    CONSTRAINT customers_username_key UNIQUE (username)
);

-- The outbox: one row per event, written in the same transaction as the customer row.
-- payload = Confluent-framed Avro CustomerAvroModel; NULL = tombstone (customer deleted).
-- The relay publishes unpublished rows in id order (per key that is commit order: writers
-- of one customer serialise on its row lock before inserting here), sets published_at
-- after the broker acknowledged, and deletes published rows after the retention.
CREATE TABLE IF NOT EXISTS customer.outbox (
    id            bigserial   NOT NULL,
    aggregate_id  uuid        NOT NULL,
    version       bigint      NOT NULL,
    event_type    text        NOT NULL CHECK (event_type IN ('CREATED', 'UPDATED', 'DELETED')),
    payload       bytea,
    occurred_at   timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    CONSTRAINT outbox_pkey PRIMARY KEY (id)
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON customer.outbox (id) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_published_at ON customer.outbox (published_at)
    WHERE published_at IS NOT NULL;

-- Wake the relay (LISTEN customer_outbox) when outbox rows commit.
CREATE OR REPLACE FUNCTION customer.outbox_notify() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('customer_outbox', '');
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS outbox_notify ON customer.outbox;
CREATE TRIGGER outbox_notify AFTER INSERT ON customer.outbox
    FOR EACH STATEMENT EXECUTE FUNCTION customer.outbox_notify();
