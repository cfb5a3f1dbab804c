/**
 * Rewrites of one list by several processes at once (`custodian worker`s sharing the folder): no
 * process loses another's change, a live lock holder makes the others wait a bounded time, and a lock
 * left by a killed process does not block the next writer.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectorError, createRuntimeConnector, type RefResult, silentLogger } from '@custodian/core';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import csv from '../src/index.js';
import type { WriterSpec } from './support/list-writer.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const writerScript = join(here, 'support/list-writer.ts');

const HEADER = ['id', 'email', 'first_name', 'last_name', 'company', 'notes', 'opted_out'];
const ROWS = 240;
const WRITERS = 6;

function row(i: number): string[] {
  const id = `r-${String(i).padStart(3, '0')}`;
  return [
    id,
    `person.${i}@example.test`,
    'Ann',
    `Doe, "${i}"`,
    `Acme ${i % 7}`,
    i % 5 === 0 ? 'call back\nlater' : '',
    'false',
  ];
}

function csvText(rows: string[][]): string {
  const cell = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return `${[HEADER, ...rows].map((r) => r.map(cell).join(',')).join('\n')}\n`;
}

function readRows(path: string): Map<string, Record<string, string>> {
  const records = parse(readFileSync(path, 'utf8'), { columns: true }) as Record<string, string>[];
  return new Map(records.map((r) => [r.id!, r]));
}

interface Writer {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  /** Resolves with the first stdout line that satisfies `test`. */
  line(test: (line: string) => boolean): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

const started: Writer[] = [];

function startWriter(spec: WriterSpec): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', writerScript, JSON.stringify(spec)], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { test: (l: string) => boolean; resolve: (l: string) => void }[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    buffered += String(d);
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((w) => w.test(line))) w.resolve(line);
    }
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, stderr })),
  );
  const writer: Writer = {
    child,
    lines,
    exit,
    line: (test) =>
      new Promise((res, rej) => {
        const seen = lines.find(test);
        if (seen !== undefined) return res(seen);
        waiters.push({ test, resolve: res });
        void exit.then(({ code, signal, stderr }) =>
          rej(new Error(`writer exited (${code ?? signal}) before the expected line; stderr: ${stderr}`)),
        );
      }),
  };
  started.push(writer);
  return writer;
}

/** Start writers, wait until every one has loaded, then release them together. */
async function startTogether(specs: WriterSpec[]): Promise<Writer[]> {
  const writers = specs.map(startWriter);
  await Promise.all(writers.map((w) => w.line((l) => l === 'ready')));
  for (const w of writers) w.child.stdin.end('go\n');
  return writers;
}

let dir: string;
let path: string;
function freshList(): void {
  dir = mkdtempSync(join(tmpdir(), 'csv-lock-'));
  path = join(dir, 'contacts.csv');
  writeFileSync(path, csvText(Array.from({ length: ROWS }, (_, i) => row(i))));
}

afterEach(async () => {
  for (const w of started.splice(0)) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await w.exit;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('CSV list rewrites across processes', () => {
  it(`${WRITERS} processes erasing and updating different rows of one list at once lose nothing`, async () => {
    freshList();
    const before = readRows(path);
    // Rows 0..191 are spread over the writers (row i to writer i % WRITERS), alternately erased and
    // updated; rows 192.. are nobody's and must stay as they were.
    const touched = 192;
    const specs: WriterSpec[] = Array.from({ length: WRITERS }, () => ({
      mode: 'mutate',
      dir,
      list: 'contacts',
      erase: [],
      update: [],
    }));
    const erased = new Set<string>();
    const updated = new Map<string, string>();
    for (let i = 0; i < touched; i++) {
      const [id, , , , company] = row(i) as [string, string, string, string, string];
      const spec = specs[i % WRITERS]!;
      if (Math.floor(i / WRITERS) % 2 === 0) {
        spec.erase!.push(id);
        erased.add(id);
      } else {
        spec.update!.push({ id, company: `writer ${i % WRITERS}`, expectedCompany: company });
        updated.set(id, `writer ${i % WRITERS}`);
      }
    }

    const writers = await startTogether(specs);
    const exits = await Promise.all(writers.map((w) => w.exit));
    for (const e of exits) expect(e, e.stderr).toMatchObject({ code: 0 });
    const results = writers.flatMap((w) => JSON.parse(w.lines.at(-1)!) as RefResult[]);
    expect(results).toHaveLength(touched);
    expect(results.filter((r) => r.outcome !== 'done')).toEqual([]);

    const after = readRows(path);
    expect(after.size).toBe(ROWS - erased.size);
    for (const id of erased) expect(after.has(id), `${id} erased`).toBe(false);
    for (const [id, original] of before) {
      if (erased.has(id)) continue;
      const expected = updated.has(id) ? { ...original, company: updated.get(id) } : original;
      expect(after.get(id), id).toEqual(expected);
    }
    // Nothing left behind: no temporary files, no lock.
    expect(readdirSync(dir)).toEqual(['contacts.csv']);
  }, 180_000);

  it('a live lock holder makes a writer wait a bounded time, then fail with a coded error and write nothing', async () => {
    freshList();
    const original = readFileSync(path, 'utf8');
    const [holder] = await startTogether([{ mode: 'hold', dir, list: 'contacts' }]);
    await holder!.line((l) => l === 'locked');

    const rc = await createRuntimeConnector(csv, {
      system: 'lists',
      options: { dir, lock: { waitMs: 500 } },
      logger: silentLogger,
    });
    const failure = await rc.erase([{ system: 'lists', object: 'contacts', id: 'r-001' }], { permanent: true }).then(
      () => null,
      (err: unknown) => err,
    );
    await rc.close();

    expect(failure).toBeInstanceOf(ConnectorError);
    const err = failure as ConnectorError;
    expect(err.code).toBe('CUSTODIAN_ERR_CSV_LIST_LOCKED');
    // Transient: the request engine parks the request (resumable) instead of failing the batch.
    expect(err.kind).toBe('transient');
    expect(err.message).toContain('"contacts"');
    expect(err.details).toMatchObject({ list: 'contacts', system: 'lists', operation: 'erase' });
    expect(JSON.stringify({ message: err.message, json: err.toJSON() })).not.toMatch(/@example\.test|Doe/);
    expect(readFileSync(path, 'utf8')).toBe(original);
  }, 120_000);

  it('a lock left by a SIGKILLed process is taken over once stale, and the next writer completes', async () => {
    freshList();
    const [holder] = await startTogether([{ mode: 'hold', dir, list: 'contacts', lock: { staleMs: 2000 } }]);
    await holder!.line((l) => l === 'locked');
    holder!.child.kill('SIGKILL');
    expect((await holder!.exit).signal).toBe('SIGKILL');
    // The killed holder could not release its lock.
    expect(existsSync(`${path}.lock`)).toBe(true);

    const [writer] = await startTogether([
      { mode: 'mutate', dir, list: 'contacts', lock: { staleMs: 2000, waitMs: 60_000 }, erase: ['r-002'] },
    ]);
    const exit = await writer!.exit;
    expect(exit, exit.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(writer!.lines.at(-1)!)).toEqual([
      { ref: { system: 'lists', object: 'contacts', id: 'r-002' }, outcome: 'done' },
    ]);
    const after = readRows(path);
    expect(after.has('r-002')).toBe(false);
    expect(after.size).toBe(ROWS - 1);
    expect(existsSync(`${path}.lock`)).toBe(false);
  }, 120_000);
});
