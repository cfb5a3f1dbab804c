/**
 * Schema migrations, numbered and applied in order inside one transaction each. On PostgreSQL an
 * advisory lock makes many workers starting at once migrate exactly once. Every table lives in the
 * tenant's own schema, so one server holds many tenants without mixing them.
 */
import { CustodianError } from '@custodian/core';
import type { Db } from './db.js';

const MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE systems (
  name text PRIMARY KEY,
  connector text NOT NULL,
  purposes text[] NOT NULL DEFAULT '{}',
  legal_basis text,
  paused_until timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE checkpoints (
  system text NOT NULL,
  stream text NOT NULL,
  checkpoint jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (system, stream)
);
-- The record index: refs, field names and keyed fingerprints; never values.
CREATE TABLE records (
  system text NOT NULL,
  object text NOT NULL,
  record_id text NOT NULL,
  kind text NOT NULL,
  field_names jsonb NOT NULL,
  updated_at text,
  last_activity_at text,
  marketing_opt_out boolean,
  legal_basis text,
  archived boolean NOT NULL DEFAULT false,
  fingerprint text NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  deleted_at timestamptz,
  PRIMARY KEY (system, object, record_id)
);
CREATE TABLE record_subjects (
  system text NOT NULL,
  object text NOT NULL,
  record_id text NOT NULL,
  subject_key text NOT NULL,
  kind text NOT NULL,
  ordinal int NOT NULL,
  PRIMARY KEY (system, object, record_id, subject_key)
);
CREATE INDEX record_subjects_key ON record_subjects (subject_key);
CREATE TABLE record_links (
  system text NOT NULL,
  object text NOT NULL,
  record_id text NOT NULL,
  link_system text NOT NULL,
  link_object text NOT NULL,
  link_id text NOT NULL,
  PRIMARY KEY (system, object, record_id, link_system, link_object, link_id)
);
CREATE INDEX record_links_target ON record_links (link_system, link_object, link_id);
CREATE TABLE duplications (
  subject_key text NOT NULL,
  source_system text NOT NULL,
  source_object text NOT NULL,
  source_id text NOT NULL,
  copy_system text NOT NULL,
  copy_object text NOT NULL,
  copy_id text NOT NULL,
  fields jsonb NOT NULL,
  purpose text,
  legal_basis text,
  origin text NOT NULL,
  note text,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  status text NOT NULL,
  PRIMARY KEY (subject_key, copy_system, copy_object, copy_id, origin)
);
CREATE INDEX duplications_copy ON duplications (copy_system, copy_object, copy_id);
CREATE TABLE violations (
  system text NOT NULL,
  object text NOT NULL,
  record_id text NOT NULL,
  policy text NOT NULL,
  rule text NOT NULL,
  field text NOT NULL DEFAULT '',
  severity text NOT NULL,
  evidence text NOT NULL,
  subject_key text,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  last_run text NOT NULL,
  status text NOT NULL,
  PRIMARY KEY (system, object, record_id, policy, rule, field)
);
CREATE INDEX violations_status ON violations (status, system, object);
CREATE TABLE tombstones (
  subject_key text PRIMARY KEY,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE runs (
  id text PRIMARY KEY,
  kind text NOT NULL,
  system text,
  status text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  stats jsonb NOT NULL DEFAULT '{}',
  error text
);
CREATE TABLE requests (
  id text PRIMARY KEY,
  kind text NOT NULL,
  jurisdiction text NOT NULL,
  state text NOT NULL,
  subject_keys text[] NOT NULL,
  received_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  extended_due_at timestamptz,
  dry_run boolean NOT NULL,
  params jsonb NOT NULL,
  result jsonb NOT NULL,
  error text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE request_tasks (
  request_id text NOT NULL REFERENCES requests (id),
  step text NOT NULL,
  system text NOT NULL,
  object text NOT NULL,
  record_id text NOT NULL,
  action text NOT NULL,
  state text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  reason text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id, step, system, object, record_id)
);
CREATE TABLE audit_log (
  seq bigint PRIMARY KEY,
  at text NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  data jsonb NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
-- Append-only, enforced by the database rather than by convention.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END
$fn$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
`,
  },
  {
    // Sync throughput: record_subjects was keyed by the (system, object, record_id) text triple plus the
    // subject key, and indexed by subject key in a btree, so every new record paid for two wide random-key
    // btree inserts. Records get a numeric surrogate id; subject rows hang off it by (rid, ordinal), and the
    // subject-key index becomes a hash index (equality is the only lookup; it stores a 4-byte hash, not the
    // 64-character key, and an insert needs no key comparisons).
    version: 2,
    sql: `
ALTER TABLE records ADD COLUMN rid bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE records ALTER COLUMN rid DROP IDENTITY;
CREATE UNIQUE INDEX records_rid ON records (rid);
-- New records take ids in blocks of 1,024, one nextval per page: a per-row identity needs RETURNING to learn
-- the ids, and sending those rows back costs more than the insert itself.
CREATE SEQUENCE record_rid_blocks INCREMENT BY 1024;
SELECT setval('record_rid_blocks', coalesce(max(rid), 0) + 1, false) FROM records;
CREATE TABLE record_subject_keys (
  rid bigint NOT NULL,
  ordinal int NOT NULL,
  subject_key text NOT NULL,
  kind text NOT NULL,
  PRIMARY KEY (rid, ordinal)
);
INSERT INTO record_subject_keys (rid, ordinal, subject_key, kind)
  SELECT r.rid, row_number() OVER (PARTITION BY r.rid ORDER BY rs.ordinal, rs.subject_key) - 1, rs.subject_key, rs.kind
  FROM record_subjects rs JOIN records r USING (system, object, record_id);
DROP TABLE record_subjects;
ALTER TABLE record_subject_keys RENAME TO record_subjects;
ALTER INDEX record_subject_keys_pkey RENAME TO record_subjects_pkey;
CREATE INDEX record_subjects_key ON record_subjects USING hash (subject_key);
`,
  },
];

export const LATEST_VERSION = MIGRATIONS.at(-1)!.version;

/** Applies the migrations not yet applied, up to `upTo` (the latest by default; tests pass an older one). */
export async function migrate(db: Db, schema: string, upTo = LATEST_VERSION): Promise<void> {
  try {
    await db.transaction(async (tx) => {
      if (db.backend === 'postgres')
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`custodian-migrate:${schema}`]);
      await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET LOCAL search_path TO "${schema}";`);
      await tx.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set(
        (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) => Number(r.version)),
      );
      for (const m of MIGRATIONS) {
        if (done.has(m.version) || m.version > upTo) continue;
        await tx.exec(m.sql);
        await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.version]);
      }
    });
  } catch (cause) {
    throw new CustodianError('CUSTODIAN_ERR_LEDGER_MIGRATION', `Migrating the ledger schema "${schema}" failed.`, {
      cause,
    });
  }
}
