-- 002_outbox_position.sql — customer-service schema, version 2: the relay keeps ONE position
-- row instead of marking every outbox row published (an UPDATE per row wrote each event a
-- second time: a new heap tuple, two index entries and vacuum work later).
--
-- customer.outbox_relay: every outbox row with id <= upto is on the topic (or never will
-- be: an id whose transaction rolled back), and so is every row with id in (upto, top]
-- outside `gaps`; rows in the gaps or above top are not published yet. A gap is an id the
-- relay has not seen committed: a transaction still in flight, or one that rolled back; the
-- relay proves the latter by waiting until every transaction that could hold it has ended
-- (customer-service/src/messaging/outbox_relay_pos.c). offsets (of `topic`): per partition,
-- the offset after the last record the relay saw delivered when it stored the row — a new
-- leader's takeover scan starts there. Written once per batch at most (HOT: no index changes),
-- with synchronous_commit off: a position lost in a crash is found again on the topic.
CREATE TABLE IF NOT EXISTS customer.outbox_relay (
    one         boolean        NOT NULL DEFAULT true CHECK (one),
    upto        bigint         NOT NULL,
    top         bigint         NOT NULL,
    gaps        int8multirange NOT NULL DEFAULT '{}',
    topic       text,
    offsets     bigint[],
    updated_at  timestamptz    NOT NULL DEFAULT now(),
    CONSTRAINT outbox_relay_pkey PRIMARY KEY (one),
    CONSTRAINT outbox_relay_order CHECK (upto <= top)
) WITH (fillfactor = 50);

-- The position the marks of version 1 describe: up to the lowest unpublished id, then the
-- published ids up to the highest one; every other id in between is a gap (an unpublished
-- row, a transaction in flight, or an id never committed).
INSERT INTO customer.outbox_relay (upto, top, gaps)
SELECT p.upto, p.top,
       coalesce((SELECT range_agg(int8range(g, g, '[]')) FROM generate_series(p.upto + 1, p.top) g
                 WHERE NOT EXISTS (SELECT 1 FROM customer.outbox o WHERE o.id = g AND o.published_at IS NOT NULL)),
                '{}')
FROM (SELECT u.upto, greatest(u.upto, coalesce((SELECT max(id) FROM customer.outbox WHERE published_at IS NOT NULL), 0)) AS top
      FROM (SELECT coalesce((SELECT min(id) - 1 FROM customer.outbox WHERE published_at IS NULL),
                            (SELECT max(id) FROM customer.outbox), 0) AS upto) u) p
ON CONFLICT (one) DO NOTHING;

DROP INDEX IF EXISTS customer.outbox_unpublished;
DROP INDEX IF EXISTS customer.outbox_published_at;
ALTER TABLE customer.outbox DROP COLUMN IF EXISTS published_at;

-- A transaction takes its transaction id BEFORE its outbox id: so once every transaction
-- older than an id the relay took itself has ended, a gap below it is known to stay empty.
-- (The write path's statements write the customer row first anyway; this holds for any
-- other writer of the outbox too.)
CREATE OR REPLACE FUNCTION customer.outbox_next_id() RETURNS bigint
    LANGUAGE sql VOLATILE AS
$$ SELECT CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('customer.outbox_id_seq') END $$;
ALTER TABLE customer.outbox ALTER COLUMN id SET DEFAULT customer.outbox_next_id();
-- and ids are handed out in the order they are asked for (no per-session cache): a gap below
-- an id the relay saw committed was taken before it, so by a transaction older than the probe.
ALTER SEQUENCE customer.outbox_id_seq CACHE 1;

-- The rows not published yet, as the stored position says (it trails the relay's own by up
-- to 100 ms while rows flow): for operators, tests and the backlog gauge.
CREATE OR REPLACE VIEW customer.outbox_pending AS
SELECT o.* FROM customer.outbox o JOIN customer.outbox_relay r ON o.id > r.upto AND (o.id > r.top OR r.gaps @> o.id);
