// Small numeric and scheduling helpers: sum, median, percentiles, chunking, a bounded-concurrency loop.

export function sum(values: readonly number[]): number {
  return values.reduce((total, v) => total + v, 0);
}

export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Sizes of the chunks of n items, each at most `size`. */
export function chunks(n: number, size: number): number[] {
  const out: number[] = [];
  for (let left = n; left > 0; left -= size) out.push(Math.min(size, left));
  return out;
}

/** Call `task` n times with at most `inFlight` calls pending at once. */
export async function runConcurrently(n: number, inFlight: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
}

/** Split n items into chunks of `size` and hand them to `task`, `inFlight` chunks at once. */
export async function runChunks(n: number, size: number, inFlight: number, task: (size: number) => Promise<unknown>): Promise<void> {
  const sizes = chunks(n, size);
  await runConcurrently(sizes.length, inFlight, (i) => task(sizes[i] as number));
}
