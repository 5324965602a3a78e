// A queue's jobs by state, one server-side page at a time (the filters live in the URL: state, site,
// offset), with bulk actions on the selected jobs and "requeue all failed".
import { useState } from 'preact/hooks';
import { post, withQuery, type Me } from './api.js';
import { useApi } from './data.js';
import { html, link, when } from './html.js';
import { STATES } from './overview.js';

export interface JobSummary {
  id: string;
  queue: string;
  site: string;
  method: string;
  status: string;
  enqueuedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  attempts: number;
  error: { name: string; message: string } | null;
  kwargsPreview: string;
}

const PAGE = 50;

/** The actions offered on every job matching the page's filter (state and site), by state. */
const BULK_EVERY: Record<string, string[]> = { queued: ['cancel', 'delete'], scheduled: ['cancel', 'delete'], failed: ['retry', 'delete'], stopped: ['retry', 'delete'], finished: ['delete'] };

export function QueuePage({ me, queue, query }: { me: Me; queue: string; query: URLSearchParams }) {
  const state = query.get('state') ?? 'queued';
  const site = query.get('site') ?? '';
  const offset = Number(query.get('offset') ?? 0) || 0;
  const path = withQuery(`/api/queues/${encodeURIComponent(queue)}/jobs`, { state, site, offset, limit: PAGE });
  const { data, error, reload } = useApi<{ jobs: JobSummary[]; total: number }>(path, { queues: [queue] });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [message, setMessage] = useState('');
  const go = (q: Record<string, string | number | undefined>) => (location.hash = link(['queue', queue], { state, site, ...q }));
  const bulk = async (action: string, every = false) => {
    if (every && !window.confirm(`${action} every ${state} job of ${queue}${site ? ` of ${site}` : ''} (${data?.total ?? 0})?`)) return;
    const request = every ? { action, filter: { queue, state, ...(site ? { site } : {}) } } : { action, ids: [...selected] };
    const reply = await post<{ done: number; failed: number; truncated: boolean }>('/api/jobs/bulk', request);
    setMessage(`${action}: ${reply.done} done${reply.failed ? `, ${reply.failed} refused` : ''}${reply.truncated ? ' (more matched: run it again)' : ''}`);
    setSelected(new Set());
    reload();
  };
  const requeueAll = async () => {
    const reply = await post<{ requeued: number }>(`/api/queues/${encodeURIComponent(queue)}/requeue-failed`, site ? { site } : {});
    setMessage(`requeued ${reply.requeued} failed job(s)`);
    reload();
  };
  const toggle = (id: string) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  return html`
    <h1>Queue ${queue}</h1>
    <nav class="tabs">${STATES.map((s) => html`<a class=${s === state ? 'on' : ''} href=${link(['queue', queue], { state: s, site })}>${s}</a>`)}</nav>
    <form class="filters" onSubmit=${(e: Event) => {
      e.preventDefault();
      go({ site: (new FormData(e.target as HTMLFormElement).get('site') as string) || undefined, offset: 0 });
    }}>
      <label>Site <input name="site" value=${site} placeholder="every site" /></label> <button>Filter</button>
    </form>
    ${message ? html`<p class="note" data-testid="message">${message}</p>` : ''}
    ${me.role === 'admin'
      ? html`<div class="bulk">
          ${state === 'failed' || state === 'stopped' ? html`<button onClick=${requeueAll} data-testid="requeue-all">Requeue all failed</button>` : ''}
          <button disabled=${selected.size === 0} onClick=${() => bulk('retry')}>Retry selected</button>
          <button disabled=${selected.size === 0} onClick=${() => bulk('cancel')}>Cancel selected</button>
          <button disabled=${selected.size === 0} onClick=${() => bulk('delete')}>Delete selected</button>
          ${BULK_EVERY[state]?.map((action) => html`<button disabled=${!data || data.total === 0} onClick=${() => bulk(action, true)} data-every=${action}>${action} all ${state}</button>`)}
        </div>`
      : ''}
    ${error ? html`<p class="error">${error.message}</p>` : !data ? html`<p class="muted">Loading…</p>` : html`
      <table class="grid" data-testid="jobs">
        <thead><tr><th></th><th>Job</th><th>Site</th><th>Method</th><th>Arguments</th><th>Status</th><th>Enqueued</th><th>Started</th><th>Ended</th></tr></thead>
        <tbody>${data.jobs.map(
          (job) => html`<tr data-job=${job.id}>
            <td><input type="checkbox" checked=${selected.has(job.id)} onChange=${() => toggle(job.id)} aria-label="select" /></td>
            <td><a href=${link(['job', job.id])}>${job.id.split('||').pop()}</a></td>
            <td>${job.site}</td><td>${job.method}</td><td class="preview" title=${job.error ? `${job.error.name}: ${job.error.message}` : ''}><code>${job.kwargsPreview}</code></td><td class=${`status ${job.status}`}>${job.status}</td>
            <td>${when(job.enqueuedAt)}</td><td>${when(job.startedAt)}</td><td>${when(job.endedAt)}</td>
          </tr>`,
        )}</tbody>
      </table>
      <p class="pager">
        ${offset > 0 ? html`<a href=${link(['queue', queue], { state, site, offset: Math.max(0, offset - PAGE) })}>← newer</a>` : ''}
        <span>${data.total === 0 ? 'no jobs' : `${offset + 1}-${offset + data.jobs.length} of ${data.total}`}</span>
        ${offset + PAGE < data.total ? html`<a href=${link(['queue', queue], { state, site, offset: offset + PAGE })}>older →</a>` : ''}
      </p>`}
  `;
}
