// The dashboard's route table: every JSON route, read and action, in one list (see routes.ts). Actions
// tell the live streams which queues they touched, so that open pages refresh within a second.
import type { Route } from '../routes.js';
import type { ApiContext, Handler } from '../types.js';
import { bulkJobAction, enqueueJob, jobAction, pauseAction, requeueFailedOfQueue } from './actions.js';
import { find } from './find.js';
import { readHandlers } from './read.js';

/** `touched`: called with the queues an action changed. */
export function dashboardRoutes(touched: (queues: string[]) => void): Route[] {
  /** An action that refreshes the pages showing `queue` (its route param), or every queue. */
  const touching = (handler: Handler): Handler => async (ctx: ApiContext) => {
    const result = await handler(ctx);
    const queue = ctx.params['queue'] ?? (typeof result === 'object' && result !== null && 'queue' in result ? String((result as { queue: unknown }).queue) : undefined);
    touched(queue === undefined ? [] : [queue]);
    return result;
  };
  return [
    { name: 'overview', method: 'GET', path: '/api/overview', handler: readHandlers.overview },
    { name: 'queue-jobs', method: 'GET', path: '/api/queues/:queue/jobs', handler: readHandlers.queueJobs },
    { name: 'job', method: 'GET', path: '/api/jobs/:id', handler: readHandlers.job },
    { name: 'workers', method: 'GET', path: '/api/workers', handler: readHandlers.workers },
    { name: 'sites', method: 'GET', path: '/api/sites', handler: readHandlers.sites },
    { name: 'scheduler', method: 'GET', path: '/api/scheduler', handler: readHandlers.scheduler },
    { name: 'history', method: 'GET', path: '/api/history', handler: readHandlers.history },
    { name: 'find', method: 'GET', path: '/api/find', handler: find },
    { name: 'retry', method: 'POST', path: '/api/jobs/:id/retry', handler: touching(jobAction('retry')) },
    { name: 'delete', method: 'POST', path: '/api/jobs/:id/delete', handler: touching(jobAction('delete')) },
    { name: 'cancel', method: 'POST', path: '/api/jobs/:id/cancel', handler: touching(jobAction('cancel')) },
    { name: 'stop', method: 'POST', path: '/api/jobs/:id/stop', handler: touching(jobAction('stop')) },
    { name: 'bulk', method: 'POST', path: '/api/jobs/bulk', handler: touching(bulkJobAction) },
    { name: 'requeue-failed', method: 'POST', path: '/api/queues/:queue/requeue-failed', handler: touching(requeueFailedOfQueue) },
    { name: 'pause', method: 'POST', path: '/api/queues/:queue/pause', handler: touching(pauseAction(true)) },
    { name: 'resume', method: 'POST', path: '/api/queues/:queue/resume', handler: touching(pauseAction(false)) },
    { name: 'enqueue', method: 'POST', path: '/api/enqueue', handler: touching(enqueueJob) },
  ];
}
