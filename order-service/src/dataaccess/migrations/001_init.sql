-- order-service schema, version 1: the customer read model, the projection's stored
-- offsets, and the orders (docs/design.md §5, §8). Never dropped on start: the read
-- model and the offsets it was built from survive every restart together.
CREATE SCHEMA IF NOT EXISTS "order";

DO $$ BEGIN
  CREATE TYPE "order".order_status AS ENUM ('PENDING','PAID','APPROVED','CANCELLED','CANCELLING');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

-- The read model: a projection of the customer topic.
CREATE TABLE IF NOT EXISTS "order".customers (
  id         uuid PRIMARY KEY,
  username   character varying NOT NULL,
  first_name character varying NOT NULL,
  last_name  character varying NOT NULL,
  version    bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The next offset to read per topic partition, written in the same transaction as the rows.
CREATE TABLE IF NOT EXISTS "order".projection_offsets (
  topic       character varying NOT NULL,
  partition   integer NOT NULL,
  next_offset bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
);

CREATE TABLE IF NOT EXISTS "order".orders (
  id               uuid PRIMARY KEY,
  customer_id      uuid NOT NULL,
  restaurant_id    uuid NOT NULL,
  tracking_id      uuid NOT NULL UNIQUE,
  price            numeric(10,2) NOT NULL,
  order_status     "order".order_status NOT NULL,
  failure_messages character varying,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS "order".order_items (
  id         bigint NOT NULL,
  order_id   uuid NOT NULL REFERENCES "order".orders(id) ON DELETE CASCADE,
  product_id uuid NOT NULL,
  price      numeric(10,2) NOT NULL,
  quantity   integer NOT NULL,
  sub_total  numeric(10,2) NOT NULL,
  PRIMARY KEY (id, order_id)
);

CREATE TABLE IF NOT EXISTS "order".order_address (
  id          uuid NOT NULL,
  order_id    uuid NOT NULL UNIQUE REFERENCES "order".orders(id) ON DELETE CASCADE,
  street      character varying(50) NOT NULL,
  postal_code character varying(10) NOT NULL,
  city        character varying(50) NOT NULL,
  PRIMARY KEY (id, order_id)
);
