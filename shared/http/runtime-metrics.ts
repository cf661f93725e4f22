import { type IntervalHistogram, PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';
import { type Histogram, histogramLines, newHistogram, observeInto } from './metrics.js';

/** Upper bounds (seconds) of the garbage-collection pause histogram: a pause past a few milliseconds shows in a request's tail. */
export const GC_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1];
/** How often the event loop's delay is sampled, in milliseconds. */
const LOOP_RESOLUTION_MS = 5;

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * What holds a serving process's JavaScript thread besides its requests: how late the event loop ran
 * (sampled every few milliseconds, reported since the previous scrape, as the Prometheus Node.js
 * client names it) and every garbage-collection pause by kind. A request's tail is the sum of such
 * holds; these say which it was.
 */
export class RuntimeMetrics {
  private readonly loop: IntervalHistogram;
  // Every kind from the start, so a scrape before the first collection still shows each series at zero.
  private readonly pauses = new Map<string, Histogram>(Object.values(GC_KINDS).map((kind) => [kind, newHistogram(GC_BUCKETS)]));

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.observeGc((entry as { detail?: { kind?: number } }).detail, entry.duration / 1000);
    }).observe({ entryTypes: ['gc'] });
  }

  /** Prometheus text lines; the event loop's figures start over after each call. */
  lines(): string[] {
    // The histogram holds the time between samples, the sampling interval included: the delay is what is past it.
    const seconds = (nanos: number) => (Number.isFinite(nanos) ? Math.max(0, nanos / 1e6 - LOOP_RESOLUTION_MS) / 1000 : 0);
    const lines: string[] = [];
    const gauges: [string, string, number][] = [
      ['nodejs_eventloop_lag_p50_seconds', 'Median event loop delay since the previous scrape.', this.loop.percentile(50)],
      ['nodejs_eventloop_lag_p99_seconds', '99th percentile of the event loop delay since the previous scrape.', this.loop.percentile(99)],
      ['nodejs_eventloop_lag_max_seconds', 'Longest event loop delay since the previous scrape.', this.loop.max],
    ];
    for (const [name, help, nanos] of gauges) lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${seconds(nanos)}`);
    this.loop.reset();
    lines.push('# HELP nodejs_gc_duration_seconds Garbage collection pauses of the JavaScript thread, by kind.', '# TYPE nodejs_gc_duration_seconds histogram');
    for (const [kind, histogram] of this.pauses) lines.push(...histogramLines('nodejs_gc_duration_seconds', { kind }, GC_BUCKETS, histogram));
    return lines;
  }

  private observeGc(detail: { kind?: number } | undefined, seconds: number): void {
    const kind = GC_KINDS[detail?.kind ?? -1] ?? 'other';
    let histogram = this.pauses.get(kind);
    if (!histogram) {
      histogram = newHistogram(GC_BUCKETS);
      this.pauses.set(kind, histogram);
    }
    observeInto(histogram, GC_BUCKETS, seconds);
  }
}

let shared: RuntimeMetrics | undefined;

/** The process's runtime metrics, started on first use: one event-loop monitor however many apps it serves. */
export function runtimeMetrics(): RuntimeMetrics {
  shared ??= new RuntimeMetrics();
  return shared;
}
