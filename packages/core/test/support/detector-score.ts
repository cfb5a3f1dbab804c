/** Scores the detector on the labelled corpus: record-level F1, span recall, hard-negative FP rate, per type and language. */
import { readFileSync } from 'node:fs';
import { detect } from '../../src/index.js';

export interface CorpusRow {
  id: string;
  lang: string;
  split: 'dev' | 'test' | 'holdout';
  negative: boolean;
  text: string;
  spans: { start: number; end: number; type: string }[];
}

/**
 * `corpus.jsonl` was generated together with the detector (dev/test splits); `holdout.jsonl` was written
 * by hand afterwards, independently of the generator's templates (see fixtures/detector/README.md).
 */
export function loadCorpus(file: 'corpus' | 'holdout' = 'corpus'): CorpusRow[] {
  const path = new URL(`../fixtures/detector/${file}.jsonl`, import.meta.url);
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as CorpusRow);
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}
const prf = (c: Counts) => {
  const precision = c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 1 : c.tp / (c.tp + c.fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision: round(precision), recall: round(recall), f1: round(f1), ...c };
};
const round = (n: number) => Math.round(n * 1000) / 1000;

export function score(rows: CorpusRow[]) {
  const record: Counts = { tp: 0, fp: 0, fn: 0 };
  let spansFound = 0;
  let spansTotal = 0;
  let negatives = 0;
  let negativesFlagged = 0;
  const byType = new Map<string, Counts>();
  const byLang = new Map<string, Counts>();
  const bump = (m: Map<string, Counts>, k: string, f: keyof Counts) => {
    const c = m.get(k) ?? { tp: 0, fp: 0, fn: 0 };
    c[f]++;
    m.set(k, c);
  };
  const misses: string[] = [];
  for (const row of rows) {
    const found = detect(row.text);
    const gold = row.spans.length > 0;
    const predicted = found.length > 0;
    if (gold && predicted) record.tp++;
    else if (!gold && predicted) record.fp++;
    else if (gold && !predicted) record.fn++;
    if (row.negative) {
      negatives++;
      if (predicted) negativesFlagged++;
    }
    const matched = new Set<number>();
    for (const g of row.spans) {
      spansTotal++;
      const hit = found.findIndex((f, i) => !matched.has(i) && f.type === g.type && f.start < g.end && g.start < f.end);
      if (hit >= 0) {
        matched.add(hit);
        spansFound++;
        bump(byType, g.type, 'tp');
        bump(byLang, row.lang, 'tp');
      } else {
        bump(byType, g.type, 'fn');
        bump(byLang, row.lang, 'fn');
        if (misses.length < 20)
          misses.push(`${row.id} missed ${g.type}: ${row.text.slice(g.start, g.end).replace(/\d/g, '#')}`);
      }
    }
    found.forEach((f, i) => {
      if (!matched.has(i)) {
        bump(byType, f.type, 'fp');
        bump(byLang, row.lang, 'fp');
        if (misses.length < 20) misses.push(`${row.id} extra ${f.type}(${f.subtype ?? ''})`);
      }
    });
  }
  return {
    texts: rows.length,
    recordLevel: prf(record),
    spanRecall: round(spansFound / Math.max(1, spansTotal)),
    hardNegativeFpRate: round(negativesFlagged / Math.max(1, negatives)),
    byType: Object.fromEntries([...byType].sort().map(([k, v]) => [k, prf(v)])),
    byLanguage: Object.fromEntries([...byLang].sort().map(([k, v]) => [k, prf(v)])),
    misses,
  };
}
