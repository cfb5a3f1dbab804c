/**
 * Upgrading a ledger folder written by an older schema: migration 2 moves record_subjects onto the records'
 * numeric id and must keep every record, its subjects in order, and what the ledger answers about them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LATEST_VERSION, openLedger, schemaFor } from '../src/index.js';
import { migrate } from '../src/migrations.js';
import { openPgliteDb } from '../src/pglite.js';

const dir = mkdtempSync(join(tmpdir(), 'custodian-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ledger migrations', () => {
  it('upgrades a version-1 ledger folder: records keep their subjects (in order) and their duplications', async () => {
    const folder = join(dir, 'ledger');
    const schema = schemaFor('default');
    const v1 = await openPgliteDb(folder, async () => {});
    await migrate(v1, schema, 1);
    await v1.exec(`SET search_path TO "${schema}";
      INSERT INTO records (system, object, record_id, kind, field_names, fingerprint, first_seen, last_seen) VALUES
        ('hub', 'contacts', 'h1', 'person', '["email"]', 'fp-h1', '2026-01-01', '2026-01-01'),
        ('sf', 'contacts', 's1', 'person', '["email","phone"]', 'fp-s1', '2026-01-02', '2026-01-02');
      INSERT INTO record_subjects (system, object, record_id, subject_key, kind, ordinal) VALUES
        ('hub', 'contacts', 'h1', 'key-ann', 'email', 0),
        ('sf', 'contacts', 's1', 'key-phone', 'phone', 1),
        ('sf', 'contacts', 's1', 'key-ann', 'email', 0);`);
    expect(await v1.query('SELECT max(version) AS v FROM schema_migrations')).toEqual([{ v: 1 }]);
    await v1.close();

    const ledger = await openLedger({ dir: folder });
    try {
      const [row] = await ledger
        .recordsByRef([{ system: 'sf', object: 'contacts', id: 's1' }])
        .then((rows) => rows.map((r) => ({ ref: r.ref, subjects: r.subjects, fingerprint: r.fingerprint })));
      expect(row).toEqual({
        ref: { system: 'sf', object: 'contacts', id: 's1' },
        subjects: [
          { key: 'key-ann', kind: 'email' },
          { key: 'key-phone', kind: 'phone' },
        ],
        fingerprint: 'fp-s1',
      });
      expect((await ledger.recordsBySubject(['key-ann'])).map((r) => r.ref.id)).toEqual(['h1', 's1']);
      // Re-reading an unchanged record after the upgrade is "unchanged", and the two copies are linked.
      const runId = await ledger.startRun({ kind: 'sync', system: 'sf' });
      const committed = await ledger.commitPage({
        runId,
        system: 'sf',
        stream: 'contacts',
        records: [
          {
            ref: { system: 'sf', object: 'contacts', id: 's1' },
            kind: 'person',
            subjects: [
              { key: 'key-ann', kind: 'email' },
              { key: 'key-phone', kind: 'phone' },
            ],
            fieldNames: ['email', 'phone'],
            links: [],
            updatedAt: null,
            lastActivityAt: null,
            marketingOptOut: null,
            legalBasis: null,
            archived: false,
            fingerprint: 'fp-s1',
          },
        ],
        deleted: [],
        violations: [],
        checkpoint: { page: 1 },
        at: '2026-02-01T00:00:00.000Z',
      });
      expect(committed).toMatchObject({ inserted: 0, updated: 0, unchanged: 1, duplicationsAdded: 1 });
      const [dup] = await ledger.duplicationsBySubject(['key-ann']);
      expect(dup).toMatchObject({
        source: { system: 'hub', object: 'contacts', id: 'h1' },
        copy: { system: 'sf', object: 'contacts', id: 's1' },
      });
    } finally {
      await ledger.close();
    }
    const after = await openPgliteDb(folder, async () => {});
    expect(await after.query(`SELECT max(version) AS v FROM "${schema}".schema_migrations`)).toEqual([
      { v: LATEST_VERSION },
    ]);
    await after.close();
  }, 120_000);
});
