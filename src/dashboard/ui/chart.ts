// Jobs finished and failed per minute over the last hours, every queue summed, drawn with uPlot from
// /api/history (per-minute counters kept in Redis, so the chart survives restarts); redrawn when live
// events say jobs moved.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { useApi } from './data.js';
import { html } from './html.js';

interface Point {
  minute: number;
  finished: number;
  failed: number;
  stopped: number;
}

interface History {
  available: boolean;
  reason: string | null;
  queues: { queue: string; points: Point[] }[];
}

/** Every queue's points summed minute by minute. */
function summed(history: History): Point[] {
  const byMinute = new Map<number, Point>();
  for (const { points } of history.queues) {
    for (const p of points) {
      const sum = byMinute.get(p.minute) ?? { minute: p.minute, finished: 0, failed: 0, stopped: 0 };
      sum.finished += p.finished;
      sum.failed += p.failed + p.stopped;
      byMinute.set(p.minute, sum);
    }
  }
  return [...byMinute.values()].sort((a, b) => a.minute - b.minute);
}

const MINUTES = 180;

export function Chart() {
  const { data } = useApi<History>(`/api/history?minutes=${MINUTES}`);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (!data || !data.available || !box.current) return undefined;
    const points = summed(data);
    const series: uPlot.AlignedData = [points.map((p) => p.minute / 1000), points.map((p) => p.finished), points.map((p) => p.failed)];
    if (plot.current) {
      plot.current.setData(series);
      return undefined;
    }
    plot.current = new uPlot(
      {
        width: Math.min(900, box.current.clientWidth || 900),
        height: 220,
        series: [{}, { label: 'finished', stroke: '#2f6feb', width: 1.5 }, { label: 'failed or stopped', stroke: '#d1242f', width: 1.5 }],
        axes: [{}, { label: 'jobs/min' }],
      },
      series,
      box.current,
    );
    return undefined;
  }, [data]);
  useEffect(() => () => plot.current?.destroy(), []);
  if (data && !data.available) return html`<p class="muted">${data.reason}</p>`;
  return html`<div class="chart" ref=${box} data-testid="chart"></div>`;
}
