/**
 * The embedded ledger's PostgreSQL (PGlite) on a thread of its own: PGlite runs synchronously on the thread
 * that calls it, so on the caller's thread the engine's own work (hashing, mapping, policies) and the
 * database's never overlap. Here they do: the sync prepares its next page while this thread commits the last.
 *
 * Plain JavaScript, so the thread starts without a TypeScript loader (tsx's would cost a loader thread of its
 * own). Statements run strictly in the order they arrive; the caller holds the transaction boundaries.
 * Messages in: { id, op: 'query' | 'exec' | 'close', sql, params }; out: { id, rows } or { id, error }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';

/** What the caller needs of an error to act on it (PostgreSQL's fields survive; a cloned Error keeps no code). */
function plainError(err) {
  const out = { message: err instanceof Error ? err.message : String(err) };
  for (const key of ['code', 'detail', 'hint', 'schema', 'table', 'column', 'constraint', 'position'])
    if (err && typeof err === 'object' && err[key] !== undefined) out[key] = err[key];
  return out;
}

async function start() {
  const { dir, settings } = workerData;
  if (!dir) return PGlite.create();
  const params = [...PGlite.defaultStartParams];
  for (const [name, value] of Object.entries(settings ?? {})) params.push('-c', `${name}=${value}`);
  return PGlite.create(dir, { startParams: params });
}

let db;
try {
  db = await start();
  parentPort.postMessage({ id: 0, rows: [] });
} catch (err) {
  parentPort.postMessage({ id: 0, error: plainError(err) });
}

async function handle({ id, op, sql, params }) {
  try {
    if (op === 'query') parentPort.postMessage({ id, rows: (await db.query(sql, params)).rows });
    else if (op === 'exec') {
      await db.exec(sql);
      parentPort.postMessage({ id, rows: [] });
    } else if (op === 'close') {
      await db.close();
      parentPort.postMessage({ id, rows: [] });
    }
  } catch (err) {
    parentPort.postMessage({ id, error: plainError(err) });
  }
}

let chain = Promise.resolve();
parentPort.on('message', (message) => {
  chain = chain.then(() => handle(message));
});
