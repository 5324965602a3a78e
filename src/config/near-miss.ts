// Near misses of known config keys ("backgroud_workers" for "background_workers"): unknown keys are
// normal (real Frappe configs carry dozens that jobs read through ctx.config), so only a key within a
// small edit distance of a known one is worth a warning, and the keys Frappe itself uses never are.

/**
 * Keys of Frappe's own site and bench configs that sit near one of ours ("db_password" is two edits from
 * "rq_password") and must not be taken for a typo.
 */
const FRAPPE_KEYS: ReadonlySet<string> = new Set([
  'db_password', 'db_name', 'db_host', 'db_port', 'db_user', 'db_socket', 'redis_cache', 'redis_socketio',
  'root_password', 'admin_password', 'rq_job_timeout', 'background_workers_email',
]);

/**
 * Optimal-string-alignment distance (Damerau-Levenshtein without repeated edits of one substring):
 * insertions, deletions, substitutions and swaps of two neighbours each cost 1.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number) => d[i * cols + j] as number;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/** Edits allowed for a near miss of `known`: none under 4 characters, 1 up to 7, 2 from 8. */
function allowedEdits(known: string): number {
  return Math.min(2, Math.floor(known.length / 4));
}

/** The known name `name` most likely misspells, or undefined when it is not close to any (or is one of Frappe's). */
export function nearMiss(name: string, known: readonly string[]): string | undefined {
  if (known.includes(name) || FRAPPE_KEYS.has(name) || name.startsWith('_')) return undefined;
  const lower = name.toLowerCase();
  let best: { key: string; distance: number } | undefined;
  for (const key of known) {
    const distance = editDistance(lower, key.toLowerCase());
    if (distance > allowedEdits(key)) continue;
    if (best === undefined || distance < best.distance) best = { key, distance };
  }
  return best?.key;
}
