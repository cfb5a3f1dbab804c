/** A real redacting logger whose output a test can read (to assert that no secret or personal value is written). */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@custodian/core';

export function captureLogger(level = 'debug'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}
