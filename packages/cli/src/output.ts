/** Terminal output: readable tables for people, one JSON document for `--json` (and nothing else on stdout). */
import Table from 'cli-table3';
import pc from 'picocolors';

export interface OutputOptions {
  json?: boolean;
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function table(head: string[], rows: (string | number | null | undefined)[][]): string {
  const t = new Table({ head: head.map((h) => pc.bold(h)), style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map((c) => (c === null || c === undefined ? '' : String(c))));
  return t.toString();
}

export function heading(text: string): string {
  return pc.bold(pc.cyan(text));
}

export function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export const color = pc;
