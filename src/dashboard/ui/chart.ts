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
}

const MINUTES = 180;

export function Chart({ queues }: { queues: string[] }) {
  const { data } = useApi<{ points: Point[] }>(`/api/history?minutes=${MINUTES}`);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (!data || !box.current) return undefined;
    const points = data.points;
    const series: uPlot.AlignedData = [points.map((p) => p.minute / 1000), points.map((p) => p.finished), points.map((p) => p.failed)];
    if (plot.current) {
      plot.current.setData(series);
      return undefined;
    }
    plot.current = new uPlot(
      {
        width: Math.min(900, box.current.clientWidth || 900),
        height: 220,
        series: [{}, { label: 'finished', stroke: '#2f6feb', width: 1.5 }, { label: 'failed', stroke: '#d1242f', width: 1.5 }],
        axes: [{}, { label: 'jobs/min' }],
      },
      series,
      box.current,
    );
    return undefined;
  }, [data]);
  useEffect(() => () => plot.current?.destroy(), []);
  return html`<div class="chart" ref=${box} data-queues=${queues.join(',')}></div>`;
}
