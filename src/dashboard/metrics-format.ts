// The Prometheus text exposition format (version 0.0.4), written by hand for metrics.ts: a HELP and a
// TYPE line per family, label values escaped (\\, \", \n), the last line ended by "\n" (without it
// `promtool check metrics` stops with "unexpected end of input stream"). Also the histogram that
// metrics.ts fills from job events: observations kept per full label set (queue, site, method) and
// summed at render time into the label sets the bench's metrics_labels allows, so that a change of
// metrics_labels never leaves series of two label sets in one family.

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export type MetricType = 'gauge' | 'counter' | 'histogram';

/** The lines of one exposition, family by family. */
export class Exposition {
  private readonly lines: string[] = [];

  /** A gauge or counter family and its samples (a family with none still gets its HELP and TYPE). */
  family(name: string, type: Exclude<MetricType, 'histogram'>, help: string, samples: readonly Sample[]): this {
    this.header(name, type, help);
    for (const sample of samples) this.lines.push(`${name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
    return this;
  }

  /** A histogram family: each series' cumulative buckets, +Inf, _sum and _count. */
  histogram(name: string, help: string, histogram: Histogram, keep: readonly string[]): this {
    this.header(name, 'histogram', help);
    for (const series of histogram.aggregate(keep)) {
      let cumulative = 0;
      histogram.bounds.forEach((bound, i) => {
        cumulative += series.counts[i] ?? 0;
        this.lines.push(`${name}_bucket${labelText({ ...series.labels, le: formatValue(bound) })} ${cumulative}`);
      });
      this.lines.push(`${name}_bucket${labelText({ ...series.labels, le: '+Inf' })} ${series.count}`);
      this.lines.push(`${name}_sum${labelText(series.labels)} ${formatValue(series.sum)}`);
      this.lines.push(`${name}_count${labelText(series.labels)} ${series.count}`);
    }
    return this;
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }

  private header(name: string, type: MetricType, help: string): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
  }
}

interface Series {
  labels: Labels;
  /** Observations per bucket (not cumulative); the last slot holds those above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

/** Observations per full label set, bucketed by `bounds` (ascending, upper bounds, +Inf implied). */
export class Histogram {
  private readonly series = new Map<string, Series>();

  constructor(readonly bounds: readonly number[]) {}

  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let series = this.series.get(key);
    if (!series) {
      series = { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    const at = this.bounds.findIndex((bound) => value <= bound);
    (series.counts[at === -1 ? this.bounds.length : at] as number)++;
    series.sum += value;
    series.count++;
  }

  /** The series summed over every label but `keep`, sorted by their labels. */
  aggregate(keep: readonly string[]): Series[] {
    const out = new Map<string, Series>();
    for (const series of this.series.values()) {
      const labels: Record<string, string> = {};
      for (const name of keep) labels[name] = series.labels[name] ?? '';
      const key = labelKey(labels);
      const into = out.get(key) ?? { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      series.counts.forEach((n, i) => (into.counts[i] = (into.counts[i] ?? 0) + n));
      into.sum += series.sum;
      into.count += series.count;
      out.set(key, into);
    }
    return [...out.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, series]) => series);
  }
}

function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([name, value]) => `${name}="${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
