/**
 * The list lock when its holder stalls past `staleMs` and another process takes the lock over: the
 * stalled cycle must not publish its rewrite over the new holder's work.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { listPath, readList, writeList } from '../src/files.js';
import { CsvListLockedError, withListLock } from '../src/lock.js';
import { CsvOptionsSchema } from '../src/options.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('a cycle whose lock was taken over mid-way refuses to publish and leaves the list and the new lock alone', async () => {
  dir = mkdtempSync(join(tmpdir(), 'csv-lock-lost-'));
  const text = 'id,email,company\nr-1,person.1@example.test,Acme\nr-2,person.2@example.test,Beta\n';
  writeFileSync(join(dir, 'contacts.csv'), text);
  const options = CsvOptionsSchema.parse({ dir, lock: { staleMs: 2000 } });
  const path = listPath(options, 'contacts');
  const where = { system: 'lists', operation: 'erase', list: 'contacts' };

  const outcome = await withListLock(options, path, where, async (assertHeld) => {
    const list = await readList(options, 'contacts');
    // What another process does when this one looks dead: remove the stale lock and take it.
    rmSync(`${path}.lock`, { recursive: true });
    mkdirSync(`${path}.lock`);
    // The holder notices at its next refresh (every staleMs / 2, at least 1 s); allow a loaded machine.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
      try {
        assertHeld();
      } catch {
        break;
      }
    }
    await writeList(options, list, [list.rows[1]!], assertHeld);
  }).then(
    () => null,
    (err: unknown) => err,
  );

  expect(outcome).toBeInstanceOf(CsvListLockedError);
  const err = outcome as CsvListLockedError;
  expect(err.code).toBe('CUSTODIAN_ERR_CSV_LIST_LOCKED');
  expect(err.message).toMatch(/lost the lock on list "contacts".*nothing was written/);
  expect(err.message).not.toContain('@');
  expect(readFileSync(path, 'utf8')).toBe(text);
  // The new holder's lock stays; no temporary file is left behind.
  expect(existsSync(`${path}.lock`)).toBe(true);
  expect(readdirSync(dir).sort()).toEqual(['contacts.csv', 'contacts.csv.lock']);
}, 60_000);
