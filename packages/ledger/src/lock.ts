/**
 * PGlite is one process's database: two processes on the same folder would corrupt it. A lock file next
 * to the folder holds the owner's pid; a lock whose process is gone (killed) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireDirLock(lockPath: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isFinite(owner) && alive(owner)) {
        throw new Error(`the ledger folder is in use by process ${owner}`);
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error('could not take the ledger lock');
}
