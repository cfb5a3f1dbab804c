/**
 * Read-back of a CSV list after erasure: a row the identities still match that the request holds no ref of
 * (added after locate, or missed by it) is reported under its own ref, never by its values.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntimeConnector, silentLogger } from '@custodian/core';
import { afterEach, expect, it } from 'vitest';
import csv from '../src/index.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('verify reports a row still found by identity under its own ref, next to the erased ref it was given', async () => {
  dir = mkdtempSync(join(tmpdir(), 'csv-verify-'));
  writeFileSync(
    join(dir, 'contacts.csv'),
    'id,email,company\nr-1,ana@example.test,Acme\nr-2,ben@example.test,Beta\nr-3,ana@example.test,Acme again\n',
  );
  const rc = await createRuntimeConnector(csv, { system: 'lists', options: { dir }, logger: silentLogger });
  const ref = (id: string) => ({ system: 'lists', object: 'contacts', id });
  expect(await rc.erase([ref('r-1')], { permanent: true })).toEqual([{ ref: ref('r-1'), outcome: 'done' }]);
  const ana = [{ kind: 'email' as const, value: 'ana@example.test' }];
  const res = await rc.verifyErased([ref('r-1')], ana);
  expect(res).toEqual([
    { ref: ref('r-1'), outcome: 'done' },
    { ref: ref('r-3'), outcome: 'failed', reason: 'person still found by identity' },
  ]);
  expect(await rc.verifyErased([], ana)).toEqual([res[1]]);
  expect(JSON.stringify(res)).not.toContain('ana@');
  expect(await rc.verifyErased([], [{ kind: 'email', value: 'cy@example.test' }])).toEqual([]);
  await rc.close();
});
