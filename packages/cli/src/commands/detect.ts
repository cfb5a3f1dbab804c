/**
 * `custodian detect`: JSON lines `{"id","text"}` on stdin -> one line `{"id","findings":[...]}` per input,
 * in order; or `--text "..."` for one string. A bad line is reported with its line number and stops
 * the run (nothing is skipped silently).
 */
import { createInterface } from 'node:readline';
import { CustodianError, detect } from '@custodian/core';
import { printJson } from '../output.js';

export interface DetectOptions {
  text?: string;
  minConfidence?: number;
}

function scan(text: string, options: DetectOptions) {
  return detect(text, options.minConfidence === undefined ? {} : { minConfidence: options.minConfidence }).map((f) => ({
    start: f.start,
    end: f.end,
    type: f.type,
    confidence: Math.round(f.confidence * 100) / 100,
  }));
}

export async function detectCommand(
  options: DetectOptions,
  input: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  if (options.text !== undefined) {
    printJson({ findings: scan(options.text, options) });
    return 0;
  }
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    let item: { id?: unknown; text?: unknown };
    try {
      item = JSON.parse(line) as { id?: unknown; text?: unknown };
    } catch (cause) {
      throw new CustodianError('CUSTODIAN_ERR_INPUT_INVALID', `stdin line ${lineNo}: not valid JSON`, {
        cause: String(cause),
      });
    }
    if (typeof item.text !== 'string' || (typeof item.id !== 'string' && typeof item.id !== 'number')) {
      throw new CustodianError(
        'CUSTODIAN_ERR_INPUT_INVALID',
        `stdin line ${lineNo}: expected {"id": string, "text": string}`,
      );
    }
    process.stdout.write(`${JSON.stringify({ id: item.id, findings: scan(item.text, options) })}\n`);
  }
  return 0;
}
