// The smaller pages: workers, sites, scheduler, search results, and the enqueue form.
import { useState } from 'preact/hooks';
import { post, withQuery, type Me } from './api.js';
import { useApi } from './data.js';
import { duration, html, link, when } from './html.js';
import type { JobSummary } from './queue.js';

interface WorkerRow {
  name: string;
  hostname?: string;
  pid?: number;
  queues: string[];
  state: string;
  currentJobs?: string[];
  utilizationPercent?: number;
  uptimeMs?: number;
}

export function WorkersPage() {
  const { data, error } = useApi<{ workers: WorkerRow[] }>('/api/workers');
  if (error) return html`<p class="error">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  return html`<h1>Workers</h1>
    <table class="grid" data-testid="workers"><thead><tr><th>Name</th><th>Host</th><th class="num">Pid</th><th>Queues</th><th>State</th><th>Current jobs</th><th class="num">Utilisation</th><th class="num">Up</th></tr></thead>
      <tbody>${data.workers.map(
        (w) => html`<tr><td>${w.name}</td><td>${w.hostname ?? '—'}</td><td class="num">${w.pid ?? '—'}</td><td>${w.queues.join(', ')}</td><td>${w.state}</td>
          <td>${(w.currentJobs ?? []).map((id) => html`<a href=${link(['job', id])}>${id.split('||').pop()}</a> `)}</td>
          <td class="num">${w.utilizationPercent === undefined ? '—' : `${w.utilizationPercent.toFixed(0)}%`}</td><td class="num">${duration(w.uptimeMs)}</td></tr>`,
      )}</tbody></table>`;
}

interface SiteRow {
  site: string;
  queued: number;
  running: number;
  finished: number;
  failed: number;
}

export function SitesPage() {
  const { data, error } = useApi<{ sites: SiteRow[] }>('/api/sites');
  if (error) return html`<p class="error">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  return html`<h1>Sites</h1>
    <table class="grid" data-testid="sites"><thead><tr><th>Site</th><th class="num">Queued</th><th class="num">Running</th><th class="num">Finished</th><th class="num">Failed</th></tr></thead>
      <tbody>${data.sites.map((s) => html`<tr><td>${s.site}</td><td class="num">${s.queued}</td><td class="num">${s.running}</td><td class="num">${s.finished}</td><td class="num">${s.failed}</td></tr>`)}</tbody></table>`;
}

interface SchedulerRow {
  site: string;
  event?: string;
  method?: string;
  lastRun?: number | null;
  nextRun?: number | null;
}

export function SchedulerPage() {
  const { data, error } = useApi<{ up: boolean; holder?: string | null; lastTick?: number | null; jobs: SchedulerRow[] }>('/api/scheduler');
  if (error) return html`<p class="error">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  return html`<h1>Scheduler</h1>
    <p>${data.up ? html`Ticking (${data.holder ?? 'a scheduler'}), last tick ${when(data.lastTick)}` : html`<span class="badge alert">not running</span>`}</p>
    <table class="grid" data-testid="scheduler"><thead><tr><th>Site</th><th>Event</th><th>Method</th><th>Last run</th><th>Next run</th></tr></thead>
      <tbody>${data.jobs.map((j) => html`<tr><td>${j.site}</td><td>${j.event ?? '—'}</td><td><code>${j.method ?? ''}</code></td><td>${when(j.lastRun)}</td><td>${when(j.nextRun)}</td></tr>`)}</tbody></table>`;
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
