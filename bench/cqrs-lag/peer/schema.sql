-- bench/cqrs-lag/peer/schema.sql — the Debezium peer's tables, added by peer.sh (dbz_schema)
-- to a database whose customer.* schema customer-service has migrated. Bench only.
--
-- The outbox in the shape Debezium's outbox EventRouter expects by default (id,
-- aggregatetype, aggregateid, type, payload). customer-service writes customer.customers
-- (and its own customer.outbox row) in one transaction; the trigger below adds this row to
-- the same transaction, so a customer committed is an event committed, as in our outbox.
-- payload: the customer as JSON (the fields our Avro event carries; the id is the key);
-- NULL for a delete, which the EventRouter turns into a tombstone.
CREATE TABLE customer.dbz_outbox (
    id            uuid         NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    aggregatetype varchar(255) NOT NULL,
    aggregateid   varchar(255) NOT NULL,
    type          varchar(255) NOT NULL,
    payload       jsonb
);

CREATE FUNCTION customer.dbz_outbox_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO customer.dbz_outbox (aggregatetype, aggregateid, type, payload)
        VALUES ('customer', OLD.id::text, 'DELETED', NULL);
    ELSE
        INSERT INTO customer.dbz_outbox (aggregatetype, aggregateid, type, payload)
        VALUES ('customer', NEW.id::text, CASE TG_OP WHEN 'INSERT' THEN 'CREATED' ELSE 'UPDATED' END,
                jsonb_build_object('username', NEW.username, 'first_name', NEW.first_name,
                                   'last_name', NEW.last_name, 'version', NEW.version));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER dbz_outbox_write AFTER INSERT OR UPDATE OR DELETE ON customer.customers
    FOR EACH ROW EXECUTE FUNCTION customer.dbz_outbox_write();

-- pgoutput streams the tables of a publication: the outbox only.
CREATE PUBLICATION dbz_outbox FOR TABLE customer.dbz_outbox;

-- The read model the JDBC sink upserts (primary key = customer id), with the columns
-- order-service's "order".customers has and os_lagbench polls (id, version).
CREATE SCHEMA "order";
CREATE TABLE "order".customers (
    id         uuid         NOT NULL PRIMARY KEY,
    username   varchar(400) NOT NULL,
    first_name varchar(400) NOT NULL,
    last_name  varchar(400) NOT NULL,
    version    bigint       NOT NULL
);
