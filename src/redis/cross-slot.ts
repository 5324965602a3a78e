// Reads that span queues, made to work on one server and on a Redis Cluster alike. A queue's keys share
// one slot, but different queues (and benches) live in different slots, often on different shards:
//  - crossSlotPipeline: a pipeline on one server; on a Cluster, the same chain of calls sent as single
//    commands at once, with the same reply shape;
//  - scanKeys: SCAN over every master, since each holds only its own slots' keys.
import type { ChainableCommander } from 'ioredis';
import type { Redis } from './client-type.js';
import { isCluster, mastersOf } from './cluster.js';

type Call = [name: string, args: unknown[]];
type CommandFn = (...args: unknown[]) => Promise<unknown>;

/**
 * A pipeline for commands whose keys may lie in different slots. Use it only for independent reads
 * and writes: on a Cluster they are not sent in one batch, so nothing about their order across nodes holds.
 */
export function crossSlotPipeline(redis: Redis): ChainableCommander {
  if (!isCluster(redis)) return redis.pipeline();
  const calls: Call[] = [];
  const exec = async (): Promise<[Error | null, unknown][]> => {
    const commands = redis as unknown as Record<string, CommandFn>;
    return Promise.all(
      calls.map(([name, args]) => (commands[name] as CommandFn).apply(redis, args).then(
        (reply): [Error | null, unknown] => [null, reply],
        (err: unknown): [Error | null, unknown] => [err instanceof Error ? err : new Error(String(err)), null],
      )),
    );
  };
  const chain: ChainableCommander = new Proxy({} as ChainableCommander, {
    get: (_target, name) => {
      if (name === 'exec') return exec;
      if (name === 'length') return calls.length;
      if (typeof name !== 'string' || typeof (redis as unknown as Record<string, unknown>)[name] !== 'function') return undefined;
      return (...args: unknown[]) => {
        calls.push([name, args]);
        return chain;
      };
    },
  });
  return chain;
}

/** Keys matching `pattern` on every master (a Cluster's shards, or the one server), SCAN page by page. */
export async function* scanKeys(redis: Redis, pattern: string, count: number): AsyncGenerator<string[]> {
  for (const node of mastersOf(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      if (keys.length > 0) yield keys;
      cursor = next;
    } while (cursor !== '0');
  }
}
