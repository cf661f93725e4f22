/** Upper bounds (seconds) of the request latency histogram. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Counts per bucket (not cumulative), their sum and count. */
export interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export function newHistogram(bounds: number[]): Histogram {
  return { counts: new Array(bounds.length).fill(0), sum: 0, count: 0 };
}

/** Adds one observation; one past every bound counts only in `count` (the +Inf bucket). */
export function observeInto(histogram: Histogram, bounds: number[], value: number): void {
  histogram.sum += value;
  histogram.count++;
  for (let index = 0; index < bounds.length; index++) {
    if (value <= bounds[index]!) {
      histogram.counts[index]!++;
      break;
    }
  }
}

/** A histogram's bucket, sum and count lines in the Prometheus text format. */
export function histogramLines(name: string, base: Record<string, string>, bounds: number[], histogram: Histogram): string[] {
  const lines: string[] = [];
  let cumulative = 0;
  bounds.forEach((bound, index) => {
    cumulative += histogram.counts[index]!;
    lines.push(`${name}_bucket${labels({ ...base, le: String(bound) })} ${cumulative}`);
  });
  lines.push(`${name}_bucket${labels({ ...base, le: '+Inf' })} ${histogram.count}`);
  lines.push(`${name}_sum${labels(base)} ${histogram.sum}`);
  lines.push(`${name}_count${labels(base)} ${histogram.count}`);
  return lines;
}

/**
 * Request metrics kept in plain maps and rendered in the Prometheus text format on demand, so
 * recording costs a few map operations per request.
 */
export class ServingMetrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  instancesPredicted = 0;

  /** Records one finished request. */
  observe(route: string, status: number, seconds: number): void {
    const key = `${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let histogram = this.latency.get(route);
    if (!histogram) {
      histogram = newHistogram(LATENCY_BUCKETS);
      this.latency.set(route, histogram);
    }
    observeInto(histogram, LATENCY_BUCKETS, seconds);
  }

  /** Renders every metric, plus the gauges and counters passed in and any lines already rendered, as Prometheus text. */
  render(
    extra: { name: string; help: string; type: 'counter' | 'gauge'; samples: { labels?: Record<string, string>; value: number }[] }[],
    rendered: string[] = [],
  ): string {
    const lines: string[] = [];
    lines.push('# HELP mlops_requests_total HTTP requests by route and status.', '# TYPE mlops_requests_total counter');
    for (const [key, value] of this.requests) {
      const [route, status] = key.split('\u0000');
      lines.push(`mlops_requests_total${labels({ route: route!, status: status! })} ${value}`);
    }
    lines.push('# HELP mlops_request_duration_seconds Request latency by route.', '# TYPE mlops_request_duration_seconds histogram');
    for (const [route, histogram] of this.latency) lines.push(...histogramLines('mlops_request_duration_seconds', { route }, LATENCY_BUCKETS, histogram));
    lines.push(
      '# HELP mlops_instances_predicted_total Instances scored.',
      '# TYPE mlops_instances_predicted_total counter',
      `mlops_instances_predicted_total ${this.instancesPredicted}`,
    );
    for (const metric of extra) {
      lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
      for (const sample of metric.samples) lines.push(`${metric.name}${labels(sample.labels ?? {})} ${sample.value}`);
    }
    lines.push(...rendered);
    return `${lines.join('\n')}\n`;
  }
}

function labels(values: Record<string, string>): string {
  const pairs = Object.entries(values).map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}
