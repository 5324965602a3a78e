// rediss:// against a real redis-server listening only for TLS, with a throwaway CA (openssl): a bench
// trusting that CA (ssl_ca_certs) enqueues and runs a job with `bench worker --burst`; a bench trusting
// another CA is refused with a clear error and writes nothing; ssl_cert_reqs=none works without the CA.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { makeBench, type TestBench } from '../helpers/bench.ts';
import { type CliResult, runBench, shown } from '../helpers/cli.ts';
import { readJob, waitForStatus } from '../helpers/jobs.ts';
import { makeTlsFiles, startRedis, type TestRedis, type TlsFiles } from '../helpers/redis-server.ts';

const SITE = 'site1.test';
let tls: TlsFiles;
let redis: TestRedis;
const benches: TestBench[] = [];

before(async () => {
  tls = makeTlsFiles();
  redis = await startRedis({ tls });
});

after(async () => {
  benches.forEach((b) => b.remove());
  await redis?.stop();
  tls?.remove();
});

function newBench(query: string): TestBench {
  const bench = makeBench({ redisUrl: `rediss://127.0.0.1:${redis.port}${query}` });
  benches.push(bench);
  return bench;
}

/** Enqueue testapp.tasks.add with `bench enqueue`, run it with `bench worker --burst`, return the job. */
async function enqueueAndRun(bench: TestBench): Promise<void> {
  const enqueued = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.add', '--kwargs', '{"a":2,"b":40}'], { cwd: bench.path, timeoutMs: 30_000 });
  assert.equal(enqueued.code, 0, shown(enqueued));
  const id = enqueued.stdout.trim();
  assert.equal((await readJob(redis.client, bench.benchId, 'default', id))?.status, 'queued');
  const worker = await runBench(['worker', '--burst'], { cwd: bench.path, timeoutMs: 30_000 });
  assert.equal(worker.code, 0, shown(worker));
  assert.equal((await waitForStatus(redis.client, bench, 'default', id, 'finished')).result, 42);
}

describe('rediss:// (TLS)', () => {
  it('the server takes TLS only: a plain redis:// client is not served', async () => {
    const bench = makeBench({ redisUrl: `redis://127.0.0.1:${redis.port}` });
    benches.push(bench);
    const result = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path, timeoutMs: 30_000 });
    assert.notEqual(result.code, 0, shown(result));
  });

  it('with ssl_ca_certs naming the CA, enqueues and runs a job with bench worker --burst', { timeout: 60_000 }, async () => {
    await enqueueAndRun(newBench(`?ssl_ca_certs=${encodeURIComponent(tls.ca)}`));
  });

  it('a server certificate from another CA is refused with a clear error, and nothing is written', { timeout: 60_000 }, async () => {
    const bench = newBench(`?ssl_ca_certs=${encodeURIComponent(tls.otherCa)}`);
    const result = await runBench(['--site', SITE, 'enqueue', 'testapp.tasks.echo'], { cwd: bench.path, timeoutMs: 30_000 });
    assert.notEqual(result.code, 0, shown(result));
    assert.match(result.stderr, /^Error \[ERR_REDIS_UNAVAILABLE\]: Redis queue is unreachable at rediss:\S+ \(self-signed certificate in certificate chain\)\. The server's TLS certificate was refused: ssl_ca_certs must name the CA that signed it/, shown(result));
    assert.equal(result.stdout, '', shown(result));
    // Other tests' keys come and go (a burst worker's expire): count this bench's only.
    assert.deepEqual(await redis.client.keys(`*${bench.benchId}*`), [], 'nothing of this bench was written');
  });

  it('ssl_cert_reqs=none connects without the CA', { timeout: 60_000 }, async () => {
    await enqueueAndRun(newBench('?ssl_cert_reqs=none'));
  });
});
