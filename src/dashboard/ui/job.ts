// One job: what it runs (method, site, user, kwargs), its timings (enqueued, started, ended, wait, run),
// its attempts, every error with its stack, its result, and the actions its state allows. Its status
// updates live from the job events.
import { useEffect, useState } from 'preact/hooks';
import { post, type Me } from './api.js';
import { useApi } from './data.js';
import { duration, html, link, when } from './html.js';
import { subscribe } from './live.js';

export interface JobError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

export interface JobDetail {
  id: string;
  queue: string;
  site: string;
  method: string;
  status: string;
  user: string | null;
  jobName: string;
  kwargs: unknown;
  timings: { enqueuedAt: number; dueAt: number | null; startedAt: number | null; endedAt: number | null; waitMs: number | null; runMs: number | null };
  attempts: number;
  worker: string | null;
  errors: JobError[];
  result: unknown;
}

const ACTIONS: Record<string, string[]> = {
  queued: ['cancel', 'delete'],
  scheduled: ['cancel', 'delete'],
  started: ['stop'],
  failed: ['retry', 'delete'],
  stopped: ['retry', 'delete'],
  finished: ['delete'],
  canceled: ['delete'],
};

export function JobPage({ me, id }: { me: Me; id: string }) {
  const { data, error, reload } = useApi<JobDetail>(`/api/jobs/${encodeURIComponent(id)}`, { live: false });
  const [message, setMessage] = useState('');
  useEffect(() => subscribe({ job: (e) => e.id === id && reload() }), [id]);
  if (error) return html`<p class="error" data-testid="error">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  const act = async (action: string) => {
    try {
      const reply = await post<{ status: string }>(`/api/jobs/${encodeURIComponent(id)}/${action}`, { queue: data.queue });
      setMessage(`${action}: now ${reply.status}`);
    } catch (err) {
      setMessage(`${action} refused: ${(err as Error).message}`);
    }
    reload();
  };
  return html`
    <h1>Job <code>${data.id}</code></h1>
    <p>Status <strong class=${`status ${data.status}`} data-testid="status">${data.status}</strong> on <a href=${link(['queue', data.queue])}>${data.queue}</a></p>
    ${me.role === 'admin' ? html`<p class="actions">${(ACTIONS[data.status] ?? []).map((a) => html`<button onClick=${() => act(a)} data-action=${a}>${a}</button> `)}</p>` : ''}
    ${message ? html`<p class="note" data-testid="message">${message}</p>` : ''}
    <dl class="facts">
      <dt>Method</dt><dd><code>${data.method}</code></dd>
      <dt>Site</dt><dd>${data.site}</dd>
      <dt>User</dt><dd>${data.user ?? '—'}</dd>
      <dt>Name</dt><dd>${data.jobName}</dd>
      <dt>Enqueued</dt><dd>${when(data.timings.enqueuedAt)}</dd>
      ${data.timings.dueAt ? html`<dt>Due</dt><dd>${when(data.timings.dueAt)}</dd>` : ''}
      <dt>Started</dt><dd>${when(data.timings.startedAt)}</dd>
      <dt>Ended</dt><dd>${when(data.timings.endedAt)}</dd>
      <dt>Wait</dt><dd>${duration(data.timings.waitMs)}</dd>
      <dt>Run</dt><dd>${duration(data.timings.runMs)}</dd>
      <dt>Attempts</dt><dd>${data.attempts}</dd>
      <dt>Worker</dt><dd>${data.worker ?? '—'}</dd>
    </dl>
    <h2>Arguments</h2>
    <pre data-testid="kwargs">${JSON.stringify(data.kwargs ?? {}, null, 2)}</pre>
    ${data.result !== undefined && data.result !== null ? html`<h2>Result</h2><pre data-testid="result">${JSON.stringify(data.result, null, 2)}</pre>` : ''}
    ${data.errors.length > 0
      ? html`<h2>Errors</h2>${data.errors.map(
          (e, i) => html`<details open=${i === data.errors.length - 1} data-testid="job-error"><summary>${data.errors.length > 1 ? `error ${i + 1}: ` : ''}${e.name}${e.code ? ` [${e.code}]` : ''}: ${e.message}</summary><pre>${e.stack ?? ''}</pre></details>`,
        )}`
      : ''}
  `;
}
