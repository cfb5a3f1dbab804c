/**
 * Crash safety of erasure across the sandbox CRMs: the CLI, a real child process, kills itself with SIGKILL
 * at every step boundary, after the first chunk of each vendor's deletes, and as each vendor's read-back
 * starts (its own lane has erased, the others may be anywhere). It erases three people as one batch in
 * chunks of two refs; `custodian requests resume` finishes the batch. Every case runs on a fresh sandbox
 * seeded like the uninterrupted run it is compared with, and starts from the same synced ledger: the same
 * certificates, every record deleted by its vendor exactly once (the sandbox request log counts the
 * deletes a vendor really performed, per record id), and `where` finds no live record.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Certificate, refKey } from '@custodian/core';
import { SANDBOX_SYSTEM_NAMES, type Sandbox, type SeedPerson, startSandbox, type VendorName } from '@custodian/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cli,
  quickstartWorkspace,
  resumeOpen,
  runKilledAt,
  type Workspace,
  withLedger,
  writeSandboxConfig,
} from './helpers.js';
import { REQUEST_VENDORS, successfulDeleteCalls } from './requests-vendors.js';

const VENDORS = REQUEST_VENDORS;
const WORLD = { people: 30, seed: 8, vendors: VENDORS };
/** Chunks of two refs, one chunk at a time per system: each vendor's deletes take several chunks, in order. */
const CHUNK_SIZE = 2;
const BATCH = 3;

type CertSystem = Certificate['systems'][number];
interface Outcome {
  /** Certificate counts per request, keyed by the refs the request located (the same person in every run). */
  certificates: Map<string, CertSystem[]>;
  /** Per vendor, the record ids it deleted (sorted); each must have been deleted exactly once. */
  deleted: Record<VendorName, string[]>;
  /**
   * Per vendor, successful delete calls. A resent delete of a record already gone is refused per id by the
   * vendor, except HubSpot's archive (204 whatever the id): calls show a resend that per-id counts cannot.
   */
  deleteCalls: Record<VendorName, number>;
  /** Records `where` lists for the batch: every one marked deleted. */
  whereRecords: number;
}

const json = <T>(s: string): T => JSON.parse(s) as T;
let people: SeedPerson[];
/** A ledger folder synced from a sandbox seeded like every case's, copied into each case's workspace. */
let syncedLedger: string;
let baseline: Outcome;

function eraseArgs(): string[] {
  return ['erase', ...people.map((p) => p.email), '--each', '--json'];
}

/** A workspace whose config holds the sandbox's CRMs, with small chunks so execute takes several. */
function sandboxWorkspace(sandbox: Sandbox): Workspace {
  const ws = quickstartWorkspace();
  writeSandboxConfig(ws, sandbox, { sections: `requests:\n  chunkSize: ${CHUNK_SIZE}\n  concurrency: 1\n` });
  return ws;
}

/** What a finished batch left: certificates from the ledger, deletes from the request log, and `where`. */
async function outcome(ws: Workspace, sandbox: Sandbox): Promise<Outcome> {
  const certificates = await withLedger(ws, async (ledger) => {
    const out = new Map<string, CertSystem[]>();
    const rows = await ledger.listRequests({});
    expect(rows).toHaveLength(BATCH);
    for (const row of rows) {
      expect([row.state, row.error]).toEqual(['completed', null]);
      const located = (await ledger.listTasks(row.id, 'locate')).map((t) => refKey(t.ref)).sort();
      out.set(located.join(' '), (row.result.certificate as Certificate).systems);
    }
    return out;
  });
  const deleted = {} as Record<VendorName, string[]>;
  const deleteCalls = {} as Record<VendorName, number>;
  for (const vendor of VENDORS) {
    const counts = sandbox.log.deletions(vendor);
    for (const [id, n] of counts) expect(n, `${vendor} record ${id} deleted ${n} times`).toBe(1);
    deleted[vendor] = [...counts.keys()].sort();
    deleteCalls[vendor] = successfulDeleteCalls(sandbox.log, vendor);
  }
  const where = await cli(ws, ['where', ...people.map((p) => p.email), '--json']);
  expect(where.code, where.stderr).toBe(0);
  const records = json<{ records: { deletedAt: string | null }[] }>(where.stdout).records;
  expect(records.filter((r) => r.deletedAt === null)).toEqual([]);
  expect(json<{ ok: boolean }>((await cli(ws, ['audit', 'verify', '--json'])).stdout).ok).toBe(true);
  return { certificates, deleted, deleteCalls, whereRecords: records.length };
}

/**
 * Certificate counts where a ref of another system than `exact` counts as erased either way: done in the
 * killed run, or found already gone on resume (its chunk was in flight at the kill: done at the vendor, not
 * yet in the ledger).
 */
function erasedEitherWay(systems: CertSystem[], exact: string) {
  return systems.map(({ done, alreadyGone, ...rest }) =>
    rest.system === exact ? { ...rest, done, alreadyGone } : { ...rest, erased: done + alreadyGone },
  );
}

beforeAll(async () => {
  const sandbox = await startSandbox(WORLD);
  try {
    people = [];
    for (let i = 0; i < WORLD.people && people.length < BATCH; i++) {
      const p = sandbox.world.person(i);
      if (VENDORS.every((v) => p.systems.includes(v)) && p.duplicatedIn.length === 0) people.push(p);
    }
    expect(people).toHaveLength(BATCH);
    const ws = sandboxWorkspace(sandbox);
    const synced = await cli(ws, ['sync']);
    expect(synced.code, synced.stderr).toBe(0);
    syncedLedger = join(mkdtempSync(join(tmpdir(), 'custodian-e2e-ledger-')), 'ledger');
    cpSync(join(ws.dir, 'ledger'), syncedLedger, { recursive: true });

    // The uninterrupted run every crash is compared with.
    sandbox.log.reset();
    const res = await cli(ws, eraseArgs());
    expect(res.code, res.stderr).toBe(0);
    baseline = await outcome(ws, sandbox);
    expect(baseline.certificates.size).toBe(BATCH);
    expect(baseline.whereRecords).toBeGreaterThan(0);
    for (const vendor of VENDORS) expect(baseline.deleted[vendor].length, vendor).toBeGreaterThan(CHUNK_SIZE);
    for (const systems of baseline.certificates.values())
      for (const s of systems) {
        expect(s.found, s.system).toBeGreaterThan(0);
        expect([s.done, s.failed, s.verified], s.system).toEqual([s.found, 0, s.found]);
      }
    rmSync(ws.dir, { recursive: true, force: true });
  } finally {
    await sandbox.stop();
  }
}, 120_000);

afterAll(() => {
  if (syncedLedger) rmSync(join(syncedLedger, '..'), { recursive: true, force: true });
});

describe('crash safety of erasure across the sandbox CRMs (SIGKILL, then `requests resume`)', () => {
  const boundaries = ['plan', 'execute', 'purge', 'verify', 'tombstone', 'certificate'];
  const midBatch = VENDORS.map((v) => `execute:${SANDBOX_SYSTEM_NAMES[v]}`);
  // Each system reads back as soon as its own lane has erased (and purged), while others may still be erasing.
  const midLane = VENDORS.map((v) => `read-back:${SANDBOX_SYSTEM_NAMES[v]}`);

  it.each([...boundaries, ...midBatch, ...midLane])(
    'killed at %s: the batch completes with the certificates of an uninterrupted run, each record deleted once',
    async (point) => {
      const sandbox = await startSandbox(WORLD);
      const ws = sandboxWorkspace(sandbox);
      try {
        cpSync(syncedLedger, join(ws.dir, 'ledger'), { recursive: true });
        await runKilledAt(ws, eraseArgs(), point);

        // The kill came where it was meant to: before any delete, in the middle of one vendor's, or after all.
        const deletedSoFar = (v: VendorName) => [...sandbox.log.deletions(v).keys()].sort();
        const killedVendor = VENDORS.find((v) => point === `execute:${SANDBOX_SYSTEM_NAMES[v]}`);
        const readingBack = VENDORS.find((v) => point === `read-back:${SANDBOX_SYSTEM_NAMES[v]}`);
        if (killedVendor) {
          expect(deletedSoFar(killedVendor).length).toBeGreaterThan(0);
          expect(deletedSoFar(killedVendor).length).toBeLessThanOrEqual(CHUNK_SIZE);
        } else if (readingBack) {
          // Its lane has erased everything; the other lanes may be anywhere.
          expect(deletedSoFar(readingBack)).toEqual(baseline.deleted[readingBack]);
          for (const v of VENDORS) expect(baseline.deleted[v], v).toEqual(expect.arrayContaining(deletedSoFar(v)));
        } else if (point === 'purge') {
          // The first lane to empty its recycle bin has erased everything; the others may still be erasing
          // (HubSpot, which has no bin, first redacts the records the people share with others).
          expect(VENDORS.some((v) => deletedSoFar(v).length === baseline.deleted[v].length)).toBe(true);
          for (const v of VENDORS) expect(baseline.deleted[v], v).toEqual(expect.arrayContaining(deletedSoFar(v)));
        } else {
          const before = point === 'plan' || point === 'execute';
          for (const v of VENDORS) expect(deletedSoFar(v), v).toEqual(before ? [] : baseline.deleted[v]);
        }

        const { open, resumed } = await resumeOpen(ws);
        expect(open).toHaveLength(BATCH);
        expect(resumed.map((r) => [r.state, r.error])).toEqual(open.map(() => ['completed', null]));

        const after = await outcome(ws, sandbox);
        expect(after.deleted).toEqual(baseline.deleted);
        // Nothing resent, but what was in flight at the kill in the other vendors (mid-batch only).
        const inFlight = killedVendor ?? readingBack;
        const midLanes = inFlight !== undefined || point === 'purge';
        for (const v of VENDORS)
          if (midLanes && v !== inFlight)
            expect(after.deleteCalls[v], v).toBeGreaterThanOrEqual(baseline.deleteCalls[v]);
          else expect(after.deleteCalls[v], v).toBe(baseline.deleteCalls[v]);
        expect(after.whereRecords).toBe(baseline.whereRecords);
        expect([...after.certificates.keys()].sort()).toEqual([...baseline.certificates.keys()].sort());
        for (const [located, systems] of baseline.certificates) {
          const got = after.certificates.get(located)!;
          // The killed vendor's first chunk is booked and its next one not sent: resume deletes only the rest.
          // At a step boundary nothing is in flight.
          if (midLanes) {
            const exact = inFlight ? SANDBOX_SYSTEM_NAMES[inFlight] : '';
            expect(erasedEitherWay(got, exact)).toEqual(erasedEitherWay(systems, exact));
          } else expect(got).toEqual(systems);
        }
      } finally {
        await sandbox.stop();
        rmSync(ws.dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});
