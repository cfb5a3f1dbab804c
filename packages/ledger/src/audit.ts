/**
 * The audit log: append-only (a database trigger refuses UPDATE, DELETE and TRUNCATE) and hash-chained:
 * each row holds sha256(previous hash + canonical JSON of the row), so any edit breaks every later hash.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, AuditInput, AuditVerifyResult } from '@custodian/core';
import type { Db, Queryable } from './db.js';

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with sorted keys at every level, so jsonb's own key order never changes a hash. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export function auditHash(
  prevHash: string,
  e: { seq: number; at: string; actor: string; action: string; data: unknown },
): string {
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalJson({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, data: e.data }))
    .digest('hex');
}

interface AuditRow {
  seq: string | number;
  at: string;
  actor: string;
  action: string;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

function toEvent(r: AuditRow): AuditEvent {
  return {
    seq: Number(r.seq),
    at: r.at,
    actor: r.actor,
    action: r.action,
    data: r.data,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export async function appendAudit(
  db: Db,
  schema: string,
  events: AuditInput[],
  now: () => Date,
): Promise<AuditEvent[]> {
  if (events.length === 0) return [];
  return db.transaction(async (tx: Queryable) => {
    // One writer at a time per tenant, across processes, so the chain never forks.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`custodian-audit:${schema}`]);
    const [head] = await tx.query<{ seq: string | number; hash: string }>(
      'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    let seq = head ? Number(head.seq) : 0;
    let prev = head?.hash ?? GENESIS_HASH;
    const at = now().toISOString();
    const rows: AuditEvent[] = events.map((e) => {
      seq += 1;
      // Round-trip through JSON so what is hashed is exactly what jsonb stores.
      const data = JSON.parse(JSON.stringify(e.data ?? {})) as Record<string, unknown>;
      const hash = auditHash(prev, { seq, at, actor: e.actor, action: e.action, data });
      const row = { seq, at, actor: e.actor, action: e.action, data, prevHash: prev, hash };
      prev = hash;
      return row;
    });
    await tx.query(
      `INSERT INTO audit_log (seq, at, actor, action, data, prev_hash, hash)
       SELECT x.seq, x.at, x.actor, x.action, x.data, x.prev, x.hash
       FROM jsonb_to_recordset($1::jsonb) AS x(seq bigint, at text, actor text, action text, data jsonb, prev text, hash text)`,
      [
        JSON.stringify(
          rows.map((r) => ({
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            data: r.data,
            prev: r.prevHash,
            hash: r.hash,
          })),
        ),
      ],
    );
    return rows;
  });
}

export async function auditHead(db: Queryable): Promise<{ seq: number; hash: string }> {
  const [head] = await db.query<{ seq: string | number; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  return head ? { seq: Number(head.seq), hash: head.hash } : { seq: 0, hash: GENESIS_HASH };
}

export async function listAudit(
  db: Queryable,
  options: { fromSeq?: number; limit?: number } = {},
): Promise<AuditEvent[]> {
  const rows = await db.query<AuditRow>('SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2', [
    options.fromSeq ?? 1,
    options.limit ?? 1000,
  ]);
  return rows.map(toEvent);
}

export async function verifyAudit(db: Queryable): Promise<AuditVerifyResult> {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  for (;;) {
    const batch = await db.query<AuditRow>('SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT 5000', [
      expectedSeq,
    ]);
    for (const r of batch) {
      const e = toEvent(r);
      if (e.seq !== expectedSeq || e.prevHash !== prev || auditHash(prev, e) !== e.hash) {
        return {
          ok: false,
          count: (await auditHead(db)).seq,
          headHash: (await auditHead(db)).hash,
          brokenAt: expectedSeq,
        };
      }
      prev = e.hash;
      expectedSeq++;
      count++;
    }
    if (batch.length < 5000) break;
  }
  return { ok: true, count, headHash: prev };
}
