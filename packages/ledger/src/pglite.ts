/**
 * Starting embedded PGlite within a bounded memory budget. PGlite is PostgreSQL compiled to WASM: its heap
 * only grows, and it starts at the module's 128 MB minimum.
 * - PostgreSQL's shared buffers live in that heap; the 128 MB default would push it past 250 MB, so they are
 *   cut to 32 MB (the ledger's page commits touch index pages of the current page's keys, not the whole table).
 * - A new folder needs initdb, which PGlite runs as a second WASM instance of ~400 MB that V8 never hands back
 *   to the OS. It runs in a short-lived child process instead, so a first sync does not carry it to the end.
 * - PGlite itself runs on a worker thread (pglite-worker.mjs), so the engine's work and the database's overlap.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { arrayLiteral, type Db, oneAtATime, type Queryable } from './db.js';

export const PGLITE_SHARED_BUFFERS = '32MB';

/** Runs initdb for `dir` in a child process (see above); a folder that already holds a cluster is left alone. */
async function initFolder(dir: string): Promise<void> {
  if (existsSync(join(dir, 'PG_VERSION'))) return;
  const pglite = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  const script = `const { PGlite } = await import(${JSON.stringify(pglite)});
const db = await PGlite.create(${JSON.stringify(dir)});
await db.close();`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 120_000 });
}

interface Reply {
  id: number;
  rows?: unknown[];
  error?: { message: string } & Record<string, unknown>;
}

/** PostgreSQL's error fields (code, detail, constraint...) on an Error again, as PGlite would have thrown it. */
function toError(error: NonNullable<Reply['error']>): Error {
  return Object.assign(new Error(error.message), error);
}

/**
 * Opens PGlite in a folder (created if needed) or, without one, in memory (tests), on a worker thread. In
 * memory the data files themselves live in the JS heap, so a small buffer cache would save nothing and cost
 * copies: defaults there.
 *
 * One connection: a statement sent outside a transaction waits until the open transaction ends, as it would
 * with PGlite on this thread.
 */
export async function openPgliteDb(dir: string | null, onClose: () => Promise<void>): Promise<Db> {
  if (dir) await initFolder(dir);
  // pglite-worker.mjs sits next to this module, in the sources and in the built bundle alike.
  const worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), {
    workerData: { dir, settings: dir ? { shared_buffers: PGLITE_SHARED_BUFFERS } : {} },
    execArgv: [],
    // The thread's own JS is PGlite's glue and the messages of one statement at a time: a small young
    // generation keeps its garbage from growing the process (its database memory is WASM, outside this).
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
  const waiting = new Map<number, { resolve: (rows: unknown[]) => void; reject: (err: Error) => void }>();
  let failure: Error | null = null;
  const failAll = (err: Error) => {
    failure ??= err;
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  // The thread keeps the process alive only while a statement is waiting for its answer, as a socket would.
  worker.on('message', (reply: Reply) => {
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (waiting.size === 0) worker.unref();
    if (reply.error) w.reject(toError(reply.error));
    else w.resolve(reply.rows ?? []);
  });
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the embedded ledger's thread stopped (exit code ${code})`)));
  let nextId = 1;
  const call = (op: string, sql?: string, params?: unknown[]) =>
    new Promise<unknown[]>((resolve, reject) => {
      if (failure) return reject(failure);
      const id = nextId++;
      if (waiting.size === 0) worker.ref();
      waiting.set(id, { resolve, reject });
      worker.postMessage({ id, op, sql, params });
    });
  try {
    await new Promise<unknown[]>((resolve, reject) => waiting.set(0, { resolve, reject }));
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  const direct: Queryable = {
    query: async <T>(sql: string, params: unknown[] = []) =>
      (await call(
        'query',
        sql,
        params.map((p) => (Array.isArray(p) ? arrayLiteral(p) : p)),
      )) as T[],
    exec: async (sql: string) => {
      await call('exec', sql);
    },
  };
  const exclusive = oneAtATime();
  return {
    backend: 'pglite',
    query: (sql, params) => exclusive(() => direct.query(sql, params)),
    exec: (sql) => exclusive(() => direct.exec(sql)),
    transaction: (fn) =>
      exclusive(async () => {
        await direct.exec('BEGIN');
        try {
          const result = await fn(direct);
          await direct.exec('COMMIT');
          return result;
        } catch (err) {
          await direct.exec('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }),
    async close() {
      try {
        await exclusive(() => call('close'));
      } finally {
        await worker.terminate();
        await onClose();
      }
    },
  };
}
