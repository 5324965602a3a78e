// Background jobs of the demo app. Each is enqueued by its dotted path, e.g. "demo.tasks.resize_image",
// and called by a worker as fn(kwargs, ctx). The import is type-only, so it is erased at run time.
import { setTimeout as delay } from 'node:timers/promises';
import type { JobContext } from 'bench-worker';

/** Quick job (short or email_queue): reads a pass-through key from the site's config. */
export async function send_welcome_email(kwargs: { email: string; name?: string }, ctx: JobContext) {
  const sender = String(ctx.config['mail_sender'] ?? 'noreply@localhost');
  const batchSize = Number(ctx.config['email_queue_batch_size'] ?? 100);
  ctx.log.info({ to: kwargs.email, from: sender, batchSize }, 'sending welcome email');
  await delay(100, undefined, { signal: ctx.signal });
  return { sent: kwargs.email, from: sender };
}

/** Takes 0.3 to 1.5 s; stops at once when the job is aborted (timeout or worker stopping). */
export async function resize_image(kwargs: { image: string; width?: number }, ctx: JobContext) {
  const width = kwargs.width ?? 800;
  const ms = 300 + Math.floor(Math.random() * 1200);
  await delay(ms, undefined, { signal: ctx.signal });
  ctx.log.info({ image: kwargs.image, width, ms }, 'image resized');
  return { image: kwargs.image.replace(/(\.\w+)?$/, `_${width}w$1`), width };
}

/** Long-queue job in steps; checks ctx.signal between them, then enqueues a follow-up job. */
export async function generate_report(kwargs: { report: string; rows?: number }, ctx: JobContext) {
  const rows = kwargs.rows ?? 1000;
  const steps = 4;
  for (let step = 1; step <= steps; step++) {
    ctx.signal.throwIfAborted();
    await delay(250, undefined, { signal: ctx.signal });
    ctx.log.info({ report: kwargs.report, step, steps }, 'report progress');
  }
  // ctx.enqueue defaults to this job's site.
  const followUp = await ctx.enqueue('demo.tasks.notify_report_ready', {
    queue: 'short',
    kwargs: { report: kwargs.report, rows, user: ctx.user ?? 'Administrator' },
  });
  return { report: kwargs.report, rows, followUp };
}

export function notify_report_ready(kwargs: { report: string; rows: number; user: string }, ctx: JobContext) {
  ctx.log.info({ report: kwargs.report, rows: kwargs.rows, user: kwargs.user }, 'report ready notification sent');
  return 'notified';
}

/** Fails about one time in three, as a flaky remote service would. */
export async function sync_inventory(kwargs: { warehouse: string }, ctx: JobContext) {
  await delay(200, undefined, { signal: ctx.signal });
  if (Math.random() < 1 / 3) {
    throw new Error(`inventory service unavailable for warehouse "${kwargs.warehouse}" (simulated outage)`);
  }
  const items = 10 + Math.floor(Math.random() * 90);
  ctx.log.info({ warehouse: kwargs.warehouse, items }, 'inventory synced');
  return { warehouse: kwargs.warehouse, items };
}
