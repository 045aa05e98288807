-- tests/faults/audit.sql — the fault suite's record of the projection's commits, kept by the
-- database itself (triggers), independent of order-service's code. lib.sh (audit_install)
-- runs it in a trio's database once order-service has created its schema; event_check.py
-- reads it back at the end of the scenario.
--
-- faults_audit.changes gets one row per row change of "order".customers (the read model) and
-- of "order".projection_offsets (the stored positions), written in the changing transaction:
-- a batch that rolls back, or whose asynchronous commit a crash or failover loses, leaves no
-- row; one that commits leaves all of its rows, with its transaction id. `seq` orders them
-- (a sequence's values never go back below those of a commit that survived), and `at` is the
-- clock for a human reading a failure. op: I, U, D; T = a TRUNCATE (never expected);
-- B = the tables' content when the triggers were installed (the baseline).
\set ON_ERROR_STOP on
CREATE SCHEMA faults_audit;
CREATE TABLE faults_audit.changes (
  seq     bigserial PRIMARY KEY,
  txid    bigint NOT NULL DEFAULT txid_current(),
  at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  tbl     text NOT NULL,
  op      char(1) NOT NULL,
  old_row jsonb,
  new_row jsonb
);

CREATE FUNCTION faults_audit.record_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO faults_audit.changes (tbl, op, old_row, new_row)
  VALUES (TG_TABLE_NAME, left(TG_OP, 1),
          CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END,
          CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END);
  RETURN NULL;
END $$;

CREATE FUNCTION faults_audit.record_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO faults_audit.changes (tbl, op) VALUES (TG_TABLE_NAME, 'T');
  RETURN NULL;
END $$;

-- triggers and baseline in one transaction that excludes the projection's writes: nothing
-- commits between the baseline and the first recorded change
BEGIN;
LOCK "order".customers, "order".projection_offsets IN SHARE ROW EXCLUSIVE MODE;
CREATE TRIGGER faults_audit_row AFTER INSERT OR UPDATE OR DELETE ON "order".customers
  FOR EACH ROW EXECUTE FUNCTION faults_audit.record_row();
CREATE TRIGGER faults_audit_row AFTER INSERT OR UPDATE OR DELETE ON "order".projection_offsets
  FOR EACH ROW EXECUTE FUNCTION faults_audit.record_row();
CREATE TRIGGER faults_audit_truncate AFTER TRUNCATE ON "order".customers
  FOR EACH STATEMENT EXECUTE FUNCTION faults_audit.record_truncate();
CREATE TRIGGER faults_audit_truncate AFTER TRUNCATE ON "order".projection_offsets
  FOR EACH STATEMENT EXECUTE FUNCTION faults_audit.record_truncate();
INSERT INTO faults_audit.changes (tbl, op, new_row)
  SELECT 'customers', 'B', to_jsonb(c) FROM "order".customers c;
INSERT INTO faults_audit.changes (tbl, op, new_row)
  SELECT 'projection_offsets', 'B', to_jsonb(o) FROM "order".projection_offsets o;
COMMIT;
