// Entry of one benchmark worker process (forked by lib/node-worker.ts under tsx): loads the adapter
// named in the input, runs its worker side, and reports "ready" and the result over IPC.
import type { NodeWorkerInput, NodeWorkerMessage, RunWorker } from './lib/node-worker.ts';

function send(message: NodeWorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, () => resolve());
  });
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as NodeWorkerInput;
  if (!/^[a-z-]+$/.test(input.system)) throw new Error(`bad system name ${JSON.stringify(input.system)}`);
  const mod = (await import(`./adapters/${input.system}.ts`)) as { runWorker?: RunWorker };
  if (typeof mod.runWorker !== 'function') throw new Error(`adapter ${input.system} has no runWorker`);
  const result = await mod.runWorker(input, () => void send({ t: 'ready' }));
  await send({ t: 'done', result });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    await send({ t: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    process.exit(1);
  },
);
