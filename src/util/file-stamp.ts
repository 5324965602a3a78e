// What tells a changed file from an unchanged one without reading it: inode, size and mtime, from one
// stat ("missing" when it is gone). The caches of config, method modules and scheduler_events compare it.
import { statSync } from 'node:fs';

export function fileStamp(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
