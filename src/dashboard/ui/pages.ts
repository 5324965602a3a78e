// The smaller pages: workers, sites, scheduler, search results, and the enqueue form.
import { useState } from 'preact/hooks';
import { post, withQuery, type Me } from './api.js';
import { useApi } from './data.js';
import { duration, html, link, when } from './html.js';
import type { JobSummary } from './queue.js';

interface WorkerRow {
  name: string;
  host: string;
  pid: number;
  queues: string[];
  state: string;
  concurrency: number;
  currentJobs: string[];
  hiddenJobs: number;
  utilizationPercent: number;
  uptimeMs: number;
}

export function WorkersPage() {
  const { data, error } = useApi<{ workers: WorkerRow[] }>('/api/workers');
  if (error) return html`<p class="error">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  return html`<h1>Workers</h1>
    <table class="grid" data-testid="workers"><thead><tr><th>Name</th><th>Host</th><th class="num">Pid</th><th>Queues</th><th>State</th><th>Current jobs</th><th class="num">Utilisation</th><th class="num">Up</th></tr></thead>
      <tbody>${data.workers.map(
        (w) => html`<tr><td>${w.name}</td><td>${w.host}</td><td class="num">${w.pid}</td><td>${w.queues.join(', ')}</td><td>${w.state} (${w.concurrency} slot${w.concurrency === 1 ? '' : 's'})</td>
          <td>${w.currentJobs.map((id) => html`<a href=${link(['job', id])}>${id.split('||').pop()}</a> `)}${w.hiddenJobs > 0 ? html`<span class="muted">+${w.hiddenJobs} of other sites</span>` : ''}</td>
          <td class="num">${`${w.utilizationPercent.toFixed(0)}%`}</td><td class="num">${duration(w.uptimeMs)}</td></tr>`,
      )}</tbody></table>`;
}

interface SiteRow {
  site: string;
  counts: Record<string, number | null>;
}

const SITE_STATES = ['queued', 'scheduled', 'started', 'finished', 'failed', 'stopped'] as const;

export function SitesPage() {
  const { data, error } = useApi<{ sites: SiteRow[] }>('/api/sites');
  if (error) return html`<p class="error">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  return html`<h1>Sites</h1>
    <table class="grid" data-testid="sites"><thead><tr><th>Site</th>${SITE_STATES.map((s) => html`<th class="num">${s}</th>`)}</tr></thead>
      <tbody>${data.sites.map((row) => html`<tr data-site=${row.site}><td>${row.site}</td>${SITE_STATES.map((s) => html`<td class="num">${row.counts[s] ?? '—'}</td>`)}</tr>`)}</tbody></table>`;
}

interface ScheduledMethod {
  name: string;
  method: string;
  frequency: string;
  queue: string;
  stopped: boolean;
  lastExecution: number | null;
  nextExecution: number | null;
}

type SiteSchedule = { site: string; status: string; timeZone: string; methods: ScheduledMethod[] } | { site: string; error: { code: string; message: string } };

interface Holder {
  host?: string;
  pid?: number;
}

export function SchedulerPage() {
  const { data, error } = useApi<{ up: boolean; holder: Holder | null; lastTick: number | null; sites: SiteSchedule[] }>('/api/scheduler');
  if (error) return html`<p class="error">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  return html`<h1>Scheduler</h1>
    <p>${data.up ? html`Ticking (${data.holder?.host ?? 'a scheduler'}${data.holder?.pid ? ` pid ${data.holder.pid}` : ''}), last tick ${when(data.lastTick)}` : html`<span class="badge alert">no scheduler holds the lease</span> last tick ${when(data.lastTick)}`}</p>
    ${data.sites.map((site) =>
      'error' in site
        ? html`<h2>${site.site}</h2><p class="error">${site.error.message}</p>`
        : html`<h2>${site.site} <span class="badge">${site.status}</span></h2>
          <table class="grid" data-testid="scheduler"><thead><tr><th>Job</th><th>Frequency</th><th>Queue</th><th>Last run</th><th>Next run</th></tr></thead>
            <tbody>${site.methods.map((m) => html`<tr><td><code>${m.method}</code>${m.stopped ? html` <span class="badge">stopped</span>` : ''}</td><td>${m.frequency}</td><td>${m.queue}</td><td>${when(m.lastExecution)}</td><td>${when(m.nextExecution)}</td></tr>`)}</tbody></table>`,
    )}`;
}

export function FindPage({ query }: { query: URLSearchParams }) {
  const q = query.get('q') ?? '';
  const { data, error } = useApi<{ jobs: JobSummary[]; partial?: boolean }>(withQuery('/api/find', { q }), { live: false });
  return html`<h1>Find <code>${q}</code></h1>
    ${error ? html`<p class="error" data-testid="error">${error.message}</p>` : !data ? html`<p class="muted">Searching…</p>` : html`
      ${data.partial ? html`<p class="note">Only part of the jobs was looked through: narrow the search.</p>` : ''}
      <table class="grid" data-testid="found"><thead><tr><th>Job</th><th>Queue</th><th>Site</th><th>Method</th><th>Status</th><th>Enqueued</th></tr></thead>
        <tbody>${data.jobs.map((j) => html`<tr data-job=${j.id}><td><a href=${link(['job', j.id])}>${j.id.split('||').pop()}</a></td><td>${j.queue}</td><td>${j.site}</td><td>${j.method}</td><td class=${`status ${j.status}`}>${j.status}</td><td>${when(j.enqueuedAt)}</td></tr>`)}</tbody></table>
      ${data.jobs.length === 0 ? html`<p class="muted">No job found.</p>` : ''}`}`;
}

export function EnqueuePage({ me }: { me: Me }) {
  const [message, setMessage] = useState('');
  if (me.role !== 'admin') return html`<p class="error">Only an admin may enqueue jobs.</p>`;
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    try {
      const kwargs = JSON.parse((form.get('kwargs') as string) || '{}') as unknown;
      const reply = await post<{ id: string }>('/api/enqueue', { method: form.get('method'), site: form.get('site'), queue: form.get('queue') || undefined, kwargs });
      location.hash = link(['job', reply.id]);
    } catch (err) {
      setMessage((err as Error).message);
    }
  };
  return html`<h1>Enqueue a job</h1>
    <form class="stack" onSubmit=${submit}>
      <label>Method <input name="method" required placeholder="myapp.tasks.send_mail" /></label>
      <label>Site <input name="site" required value=${me.sites[0] === '*' ? '' : me.sites[0]} /></label>
      <label>Queue <input name="queue" placeholder="default" /></label>
      <label>kwargs (JSON) <textarea name="kwargs" rows="5">{}</textarea></label>
      <button>Enqueue</button>
    </form>
    ${message ? html`<p class="error">${message}</p>` : ''}`;
}
