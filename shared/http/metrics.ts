/** Upper bounds (seconds) of the request latency histogram. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
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
      histogram = { counts: new Array(LATENCY_BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.latency.set(route, histogram);
    }
    histogram.sum += seconds;
    histogram.count++;
    for (let index = 0; index < LATENCY_BUCKETS.length; index++) {
      if (seconds <= LATENCY_BUCKETS[index]!) {
        histogram.counts[index]!++;
        break;
      }
    }
  }

  /** Renders every metric, plus the gauges and counters passed in, as Prometheus text. */
  render(extra: { name: string; help: string; type: 'counter' | 'gauge'; samples: { labels?: Record<string, string>; value: number }[] }[]): string {
    const lines: string[] = [];
    lines.push('# HELP mlops_requests_total HTTP requests by route and status.', '# TYPE mlops_requests_total counter');
    for (const [key, value] of this.requests) {
      const [route, status] = key.split('\u0000');
      lines.push(`mlops_requests_total${labels({ route: route!, status: status! })} ${value}`);
    }
    lines.push('# HELP mlops_request_duration_seconds Request latency by route.', '# TYPE mlops_request_duration_seconds histogram');
    for (const [route, histogram] of this.latency) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((bound, index) => {
        cumulative += histogram.counts[index]!;
        lines.push(`mlops_request_duration_seconds_bucket${labels({ route, le: String(bound) })} ${cumulative}`);
      });
      lines.push(`mlops_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${histogram.count}`);
      lines.push(`mlops_request_duration_seconds_sum${labels({ route })} ${histogram.sum}`);
      lines.push(`mlops_request_duration_seconds_count${labels({ route })} ${histogram.count}`);
    }
    lines.push(
      '# HELP mlops_instances_predicted_total Instances scored.',
      '# TYPE mlops_instances_predicted_total counter',
      `mlops_instances_predicted_total ${this.instancesPredicted}`,
    );
    for (const metric of extra) {
      lines.push(`# HELP ${metric.name} ${metric.help}`, `# TYPE ${metric.name} ${metric.type}`);
      for (const sample of metric.samples) lines.push(`${metric.name}${labels(sample.labels ?? {})} ${sample.value}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function labels(values: Record<string, string>): string {
  const pairs = Object.entries(values).map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}
