// Replace a file in one step: write a temporary file beside it, flush it to disk, then rename it
// over the old one, so that a reader (or a crash) sees the old file or the new one, never half.
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

/**
 * Write `content` to `file` atomically. `mode`: the new file's permissions; by default those of the
 * file it replaces (or 0666 less the umask for a new file).
 */
export function writeFileAtomic(file: string, content: string, options: { mode?: number } = {}): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const mode = options.mode ?? currentMode(file);
  const fd = openSync(temp, 'wx', mode ?? 0o666);
  try {
    try {
      // The umask applied at creation may have cleared bits of the mode asked for.
      if (mode !== undefined) fchmodSync(fd, mode);
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}

function currentMode(file: string): number | undefined {
  try {
    return statSync(file).mode & 0o7777;
  } catch {
    return undefined;
  }
}
