// The overview: one row per queue (counts by state, queue latency, workers serving it, paused), a queue
// with jobs and no worker marked, and the throughput and failures of the last hours as a chart.
import { post } from './api.js';
import { Chart } from './chart.js';
import { useApi } from './data.js';
import { duration, html, link } from './html.js';
import type { Me } from './api.js';

export interface QueueOverview {
  queue: string;
  /** null: not counted for this user (too many ids to read). */
  counts: Record<string, number | null>;
  latencyMs: number;
  workers: number;
  unserved: boolean;
  paused: boolean;
}

export const STATES = ['queued', 'scheduled', 'started', 'finished', 'failed', 'stopped', 'canceled'] as const;

export function Overview({ me }: { me: Me }) {
  const { data, error, reload } = useApi<{ queues: QueueOverview[]; restricted: boolean }>('/api/overview');
  if (error) return html`<p class="error">${error.message}</p>`;
  if (!data) return html`<p class="muted">Loading…</p>`;
  const act = async (queue: string, action: 'pause' | 'resume' | 'requeue-failed') => {
    await post(`/api/queues/${encodeURIComponent(queue)}/${action}`);
    reload();
  };
  return html`
    <h1>Queues</h1>
    <table class="grid" data-testid="overview">
      <thead><tr><th>Queue</th>${STATES.map((s) => html`<th class="num">${s}</th>`)}<th class="num">Latency</th><th class="num">Workers</th><th></th></tr></thead>
      <tbody>
        ${data.queues.map(
          (q) => html`<tr class=${q.unserved ? 'alert' : ''} data-queue=${q.queue}>
            <td><a href=${link(['queue', q.queue])}>${q.queue}</a>${q.paused ? html` <span class="badge">paused</span>` : ''}${q.unserved ? html` <span class="badge alert">no worker</span>` : ''}</td>
            ${STATES.map((s) => html`<td class="num" data-state=${s}>${s === 'canceled' ? (q.counts[s] ?? '—') : html`<a href=${link(['queue', q.queue], { state: s })}>${q.counts[s] ?? '—'}</a>`}</td>`)}
            <td class="num">${q.latencyMs > 0 ? duration(q.latencyMs) : '—'}</td>
            <td class="num">${q.workers}</td>
            <td class="actions">${me.role === 'admin'
              ? html`<button onClick=${() => act(q.queue, q.paused ? 'resume' : 'pause')}>${q.paused ? 'Resume' : 'Pause'}</button>
                  ${(q.counts['failed'] ?? 0) > 0 ? html`<button onClick=${() => act(q.queue, 'requeue-failed')}>Requeue failed</button>` : ''}`
              : ''}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${data.restricted ? html`<p class="muted">Counts are of your sites' jobs only.</p>` : ''}
    <h2>Throughput and failures (jobs per minute, last 3 hours)</h2>
    <${Chart} />
  `;
}
