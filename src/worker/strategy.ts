// Dequeue strategies (RQ's --strategy): the order in which a worker listening to several queues
// looks at them on each claim.
//   default      strict priority in the listed order
//   round_robin  start after the queue the last job came from
//   random       a fresh shuffle every time
export const DEQUEUE_STRATEGIES = ['default', 'round_robin', 'random'] as const;
export type DequeueStrategy = (typeof DEQUEUE_STRATEGIES)[number];

export function orderQueues(queues: readonly string[], strategy: DequeueStrategy, lastQueue: string | undefined): readonly string[] {
  if (queues.length < 2 || strategy === 'default') return queues;
  if (strategy === 'round_robin') {
    const at = lastQueue === undefined ? -1 : queues.indexOf(lastQueue);
    return [...queues.slice(at + 1), ...queues.slice(0, at + 1)];
  }
  const shuffled = [...queues];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j] as string, shuffled[i] as string];
  }
  return shuffled;
}
