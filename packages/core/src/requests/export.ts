/**
 * Access and portability export: the person's records, fetched live, written where the user asked
 * (JSON per system, one CSV of every record, and a summary of purposes, legal bases and copies).
 * Nothing of it is kept in the ledger; the export itself is recorded as a copy in the duplication register.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { RequestRow } from '../ledger.js';
import type { CrmRecord, Duplication } from '../types.js';

export interface ExportSystemInfo {
  name: string;
  purposes: string[];
  legalBasis: string | null;
}

export interface ExportWritten {
  dir: string;
  files: string[];
  records: number;
}

export async function writeExport(
  outDir: string,
  row: RequestRow,
  records: Record<string, CrmRecord[]>,
  duplications: Duplication[],
  systems: ExportSystemInfo[],
): Promise<ExportWritten> {
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const files: string[] = [];
  const write = async (name: string, body: string) => {
    await writeFile(join(outDir, name), body, { mode: 0o600 });
    files.push(name);
  };
  let total = 0;
  const csvRows: string[][] = [['system', 'object', 'id', 'field', 'value']];
  for (const [system, list] of Object.entries(records)) {
    total += list.length;
    const doc = list.map((r) => ({
      ref: r.ref,
      createdAt: r.createdAt ?? null,
      updatedAt: r.updatedAt ?? null,
      lastActivityAt: r.lastActivityAt ?? null,
      consent: r.consent ?? null,
      fields: r.fields,
    }));
    await write(`${system}.json`, `${JSON.stringify({ system, records: doc }, null, 2)}\n`);
    for (const r of list) {
      for (const [field, value] of Object.entries(r.fields)) {
        if (value === null || value === undefined || value === '') continue;
        csvRows.push([
          system,
          r.ref.object,
          r.ref.id,
          field,
          typeof value === 'string' ? value : JSON.stringify(value),
        ]);
      }
    }
  }
  await write('records.csv', stringify(csvRows));
  const summary = {
    requestId: row.id,
    generatedAt: new Date().toISOString(),
    systems: systems
      .filter((s) => records[s.name])
      .map((s) => ({
        system: s.name,
        purposes: s.purposes,
        legalBasis: s.legalBasis,
        records: records[s.name]?.length ?? 0,
      })),
    copies: duplications.map((d) => ({
      source: `${d.source.system}:${d.source.object}:${d.source.id}`,
      copy: `${d.copy.system}:${d.copy.object}:${d.copy.id}`,
      fields: d.fields,
      purpose: d.purpose,
      legalBasis: d.legalBasis,
      origin: d.origin,
      since: d.firstSeen,
      status: d.status,
    })),
  };
  await write('summary.json', `${JSON.stringify(summary, null, 2)}\n`);
  return { dir: outDir, files, records: total };
}
