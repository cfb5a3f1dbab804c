/**
 * One separate process writing to a CSV list, for the cross-process tests: the real connector through
 * the core runtime, as a `custodian worker` runs it.
 *
 * argv[2] is a JSON `WriterSpec`. The process prints `ready` once loaded and waits for `go` on stdin,
 * so that every writer starts at the same moment. `mutate` erases and updates its rows one call each
 * (one read-modify-write cycle per call), prints the results as one JSON line and exits; `hold` takes
 * the list's lock, prints `locked` and keeps it until it is killed.
 */
import { createInterface } from 'node:readline';
import { createRuntimeConnector, type RefResult, silentLogger } from '@custodian/core';
import { listPath } from '../../src/files.js';
import csv, { type CsvOptions, CsvOptionsSchema } from '../../src/index.js';
import { withListLock } from '../../src/lock.js';

export interface WriterSpec {
  mode: 'mutate' | 'hold';
  dir: string;
  list: string;
  lock?: { waitMs?: number; staleMs?: number };
  /** mutate: row ids to erase, and row ids whose `company` becomes `company` (expected: `expectedCompany`). */
  erase?: string[];
  update?: { id: string; company: string; expectedCompany: string }[];
}

const spec = JSON.parse(process.argv[2] ?? '{}') as WriterSpec;
const options = { dir: spec.dir, lock: spec.lock ?? {} };

const go = new Promise<void>((resolve) => {
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    if (line.trim() !== 'go') return;
    // Stop reading stdin, or it keeps the process alive after its work is done.
    input.close();
    process.stdin.destroy();
    resolve();
  });
});

if (spec.mode === 'hold') {
  const parsed: CsvOptions = CsvOptionsSchema.parse(options);
  process.stdout.write('ready\n');
  await go;
  await withListLock(
    parsed,
    listPath(parsed, spec.list),
    { system: 'holder', operation: 'hold', list: spec.list },
    () => {
      process.stdout.write('locked\n');
      return new Promise<never>(() => setInterval(() => undefined, 60_000));
    },
  );
} else {
  const rc = await createRuntimeConnector(csv, { system: 'lists', options, logger: silentLogger });
  process.stdout.write('ready\n');
  await go;
  const results: RefResult[] = [];
  const erase = [...(spec.erase ?? [])];
  const update = [...(spec.update ?? [])];
  // Alternate erase and update calls so every kind of rewrite meets the other writers' rewrites.
  while (erase.length > 0 || update.length > 0) {
    const id = erase.shift();
    if (id) results.push(...(await rc.erase([{ system: 'lists', object: spec.list, id }], { permanent: true })));
    const change = update.shift();
    if (change)
      results.push(
        ...(await rc.update([
          {
            ref: { system: 'lists', object: spec.list, id: change.id },
            set: { company: change.company },
            expected: { company: change.expectedCompany },
          },
        ])),
      );
  }
  await rc.close();
  process.stdout.write(`${JSON.stringify(results)}\n`);
}
