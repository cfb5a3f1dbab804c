import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testConnector } from '@custodian/testkit';
import csv from '../src/index.js';

const rows = Array.from(
  { length: 2500 },
  (_, i) => `c-${i},person.${i}@example.test,+4930${String(1_000_000 + i)},Ann,Doe${i},Acme,,false,consent,2026-01-01`,
);

testConnector({
  connector: csv,
  async fixture() {
    const dir = mkdtempSync(join(tmpdir(), 'csv-conformance-'));
    writeFileSync(
      join(dir, 'contacts.csv'),
      `id,email,phone,first_name,last_name,company,notes,opted_out,legal_basis,last_activity\n${rows.join('\n')}\n`,
    );
    return {
      options: { dir, pageSize: 500 },
      secrets: ['person.0@example.test'],
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  // Local files: reading a page is one parse of the file, so no vendor calls at all.
  callsPerPage: 0,
  skip: { faults: 'local files: there is no HTTP transport to inject vendor faults into' },
});
