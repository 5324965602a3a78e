// enqueueDoc (Frappe's enqueue_doc / run_doc_method): a method of the "Sales Order" controller
// (apps/dbapp/dbapp/doctype/sales_order/sales_order.ts) runs on a document loaded from the site
// database's "tabSales Order" table, on SQLite and on PostgreSQL (which must answer at 127.0.0.1:5432).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { closeDefaultClient, enqueueDoc } from '../../src/index.ts';
import { startSupervisor, waitForStatus } from '../helpers/jobs.ts';
import { useDatabaseBenchSuite } from '../helpers/suite.ts';

const SQLITE = 'lite.test';
const PG = 'pg.test';
const suite = useDatabaseBenchSuite((postgresSite) => ({ [SQLITE]: {}, [PG]: postgresSite }));

async function status(site: string, name: string): Promise<unknown> {
  return (await suite.client.siteDb(site).query<{ status: string }>('SELECT status FROM "tabSales Order" WHERE name = ?', [name]))[0]?.status;
}

for (const site of [SQLITE, PG]) {
  describe(`enqueueDoc (${site === PG ? 'PostgreSQL' : 'SQLite'})`, () => {
    before(async () => {
      const db = suite.client.siteDb(site);
      await db.exec('CREATE TABLE "tabSales Order" (name TEXT PRIMARY KEY, customer TEXT, grand_total NUMERIC, status TEXT)');
      await db.run('INSERT INTO "tabSales Order" VALUES (?, ?, ?, ?), (?, ?, ?, ?)', ['SO-0001', 'ACME', 100, 'Draft', 'SO-0002', 'Globex', 250, 'Draft']);
    });

    it('runs a controller class method on the loaded document and stores the doc on the job', async () => {
      const id = await suite.client.enqueueDoc('Sales Order', 'SO-0001', 'set_status', { site, kwargs: { status: 'To Deliver' } });
      const queued = await suite.client.getJob(site, id);
      assert.equal(queued?.method, 'dbapp.doctype.sales_order.sales_order.set_status');
      assert.equal(queued?.jobName, 'Sales Order.set_status');
      assert.equal(queued?.doctype, 'Sales Order');
      assert.equal(queued?.docname, 'SO-0001');
      await startSupervisor(suite.bench, { burst: true }).done;
      const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished');
      assert.deepEqual(job.result, { name: 'SO-0001', customer: 'ACME', before: 'Draft', after: 'To Deliver' });
      assert.equal(await status(site, 'SO-0001'), 'To Deliver');
    });

    it('runs an exported function (doc, kwargs, ctx) when the controller has no such class method', async () => {
      const id = await suite.client.enqueueDoc('Sales Order', 'SO-0002', 'total_with_tax', { site, kwargs: { rate: 0.2 } });
      await startSupervisor(suite.bench, { burst: true }).done;
      assert.deepEqual((await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished')).result, { name: 'SO-0002', total: 300 });
    });

    it('rolls back a controller method that fails', async () => {
      const id = await suite.client.enqueueDoc('Sales Order', 'SO-0002', 'fail_after_update', { site, kwargs: { status: 'Cancelled' } });
      await startSupervisor(suite.bench, { burst: true }).done;
      const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
      assert.equal(job.error?.message, 'could not finish SO-0002');
      assert.equal(await status(site, 'SO-0002'), 'Draft');
    });

    it('fails with ERR_DOC_NOT_FOUND when the document does not exist', async () => {
      const id = await suite.client.enqueueDoc('Sales Order', 'SO-9999', 'set_status', { site, kwargs: { status: 'x' } });
      await startSupervisor(suite.bench, { burst: true }).done;
      const job = await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'failed');
      assert.equal(job.error?.code, 'ERR_DOC_NOT_FOUND');
      assert.match(job.error?.message ?? '', /Sales Order "SO-9999" not found/);
    });
  });
}

describe('enqueueDoc checks', () => {
  it('refuses a DocType without a controller in the site apps, naming the files tried', async () => {
    await assert.rejects(suite.client.enqueueDoc('Purchase Invoice', 'PI-1', 'submit', { site: SQLITE }), (err: Error & { code?: string }) => {
      return err.code === 'ERR_JOB_LOAD' && err.message.includes('doctype/purchase_invoice/purchase_invoice');
    });
  });

  it('refuses an invalid DocType or method name', async () => {
    await assert.rejects(suite.client.enqueueDoc('Sales"Order', 'SO-1', 'set_status', { site: SQLITE }), { code: 'ERR_ENQUEUE_INVALID' });
    await assert.rejects(suite.client.enqueueDoc('Sales Order', 'SO-1', 'set-status', { site: SQLITE }), { code: 'ERR_ENQUEUE_INVALID' });
    await assert.rejects(suite.client.enqueueDoc('Sales Order', '', 'set_status', { site: SQLITE }), { code: 'ERR_ENQUEUE_INVALID' });
  });

  it('defaults to a 300 s timeout on any queue, as Frappe\'s enqueue_doc; a given timeout wins', async () => {
    const onLong = await suite.client.enqueueDoc('Sales Order', 'SO-0001', 'total_with_tax', { site: SQLITE, queue: 'long', kwargs: { rate: 0 } });
    assert.equal((await suite.client.getJob(SQLITE, onLong))?.timeout, 300);
    const given = await suite.client.enqueueDoc('Sales Order', 'SO-0001', 'total_with_tax', { site: SQLITE, queue: 'long', timeout: 42, kwargs: { rate: 0 } });
    assert.equal((await suite.client.getJob(SQLITE, given))?.timeout, 42);
    const plain = await suite.client.enqueue('dbapp.doctype.sales_order.sales_order.total_with_tax', { site: SQLITE, queue: 'long', kwargs: { rate: 0 } });
    assert.equal((await suite.client.getJob(SQLITE, plain))?.timeout, 1500);
    await suite.client.purgeJobs(SQLITE, { queue: 'long' });
  });

  it('is also a module-level helper on the default bench', async () => {
    const saved = process.env['BENCH_PATH'];
    process.env['BENCH_PATH'] = suite.bench.path;
    try {
      const id = await enqueueDoc('Sales Order', 'SO-0001', 'total_with_tax', { site: SQLITE, kwargs: { rate: 0 } });
      assert.match(id, /^lite\.test\|\|/);
      await startSupervisor(suite.bench, { burst: true }).done;
      assert.deepEqual((await waitForStatus(suite.redis.client, suite.bench, 'default', id, 'finished')).result, { name: 'SO-0001', total: 100 });
    } finally {
      await closeDefaultClient();
      if (saved === undefined) delete process.env['BENCH_PATH'];
      else process.env['BENCH_PATH'] = saved;
    }
  });
});
