/**
 * File access for CSV lists: listing, parsing with row-accurate errors, and atomic rewrites
 * (write a temporary file in the same folder, then rename) so a crash never leaves half a list.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CustodianError } from '@custodian/core';
import { CsvError, parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { CsvOptions } from './options.js';

export interface CsvRow {
  /** Stable row id: the mapped id column, else a digest of the row's content. */
  id: string;
  /** 1-based line number in the file (header is line 1). */
  line: number;
  values: Record<string, string>;
}

export interface CsvList {
  name: string;
  path: string;
  header: string[];
  rows: CsvRow[];
  mtimeMs: number;
  size: number;
}

export function listNames(options: CsvOptions): string[] {
  if (!existsSync(options.dir) || !statSync(options.dir).isDirectory()) {
    throw new CustodianError('CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID', `CSV folder not found: ${options.dir}`, {
      details: { path: 'options.dir' },
      hint: 'Point `options.dir` at the folder holding the CSV lists (relative paths resolve from the config file).',
    });
  }
  const names = readdirSync(options.dir)
    .filter((f) => f.endsWith(options.extension) && !f.startsWith('.'))
    .map((f) => basename(f, options.extension))
    .sort();
  if (!options.lists) return names;
  const missing = options.lists.filter((l) => !names.includes(l));
  if (missing.length > 0) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID',
      `CSV list(s) not found in ${options.dir}: ${missing.join(', ')}`,
      {
        details: { path: 'options.lists' },
      },
    );
  }
  return names.filter((n) => options.lists!.includes(n));
}

export function listPath(options: CsvOptions, name: string): string {
  return join(options.dir, `${name}${options.extension}`);
}

/** Header of a list, read from the first 64 KB only (streams are declared before any read). */
export function readHeader(options: CsvOptions, name: string): string[] {
  const fd = openSync(listPath(options, name), 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('utf8');
    const firstLine = text.split(/\r?\n/, 1)[0] ?? '';
    const [header] = parse(firstLine, { delimiter: options.delimiter, bom: true }) as string[][];
    return header ?? [];
  } finally {
    closeSync(fd);
  }
}

function malformed(name: string, line: number | undefined, problem: string, cause?: unknown): CustodianError {
  return new CustodianError(
    'CUSTODIAN_ERR_CSV_MALFORMED',
    `${name}.csv line ${line ?? '?'}: ${problem}; nothing from this list was imported`,
    { cause, details: { list: name, line: line ?? null } },
  );
}

/**
 * Parse a whole list. A malformed row rejects the whole file before anything is yielded, so a sync never
 * imports half a list; the error names the file and line, never the row's content.
 */
export async function readList(options: CsvOptions, name: string): Promise<CsvList> {
  const path = listPath(options, name);
  const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, {
      delimiter: options.delimiter,
      bom: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (err) {
    const line = err instanceof CsvError ? (err as CsvError & { lines?: number }).lines : undefined;
    const code = err instanceof CsvError ? err.code : 'parse error';
    throw malformed(name, line, `the CSV is malformed (${code})`, err instanceof CsvError ? code : undefined);
  }
  const [headerRecord, ...body] = records;
  const header = headerRecord?.record ?? [];
  if (header.length === 0) throw malformed(name, 1, 'the file has no header row');
  const idColumn = options.columns.id;
  const idIndex = idColumn ? header.indexOf(idColumn) : -1;
  const rows: CsvRow[] = [];
  const seen = new Set<string>();
  for (const { record, info: rowInfo } of body) {
    const values: Record<string, string> = {};
    header.forEach((h, i) => {
      values[h] = record[i] ?? '';
    });
    const id =
      idIndex >= 0
        ? (record[idIndex] ?? '').trim()
        : `h${createHash('sha256').update(record.join('\u0000')).digest('hex').slice(0, 20)}`;
    if (!id) throw malformed(name, rowInfo.lines, `the id column "${idColumn}" is empty`);
    if (seen.has(id)) throw malformed(name, rowInfo.lines, `duplicate row id in column "${idColumn ?? '(content)'}"`);
    seen.add(id);
    rows.push({ id, line: rowInfo.lines, values });
  }
  return { name, path, header, rows, mtimeMs: info.mtimeMs, size: info.size };
}

/**
 * Replace a list's rows atomically. `beforeRename` runs after the temporary file is complete and may
 * throw to leave the list untouched (the caller's lock was lost).
 */
export async function writeList(
  options: CsvOptions,
  list: CsvList,
  rows: CsvRow[],
  beforeRename: () => void = () => undefined,
): Promise<void> {
  const body = stringify([list.header, ...rows.map((r) => list.header.map((h) => r.values[h] ?? ''))], {
    delimiter: options.delimiter,
  });
  const tmp = `${list.path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, body, { mode: (await stat(list.path)).mode & 0o777 });
    beforeRename();
    await rename(tmp, list.path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
