/** What a serving process's /metrics says held its JavaScript thread, read before and after a measured run. */
export interface RuntimeScrape {
  loopP99Ms: number;
  loopMaxMs: number;
  /** Garbage-collection pauses so far: count, total milliseconds, and how many lasted over 2 ms. */
  gc: { pauses: number; totalMs: number; over2Ms: number };
}

/** The same for the measured run alone. */
export interface RuntimeFigures extends RuntimeScrape {
  seconds: number;
}

/** Reads `nodejs_eventloop_lag_*` (which start over at each scrape) and `nodejs_gc_duration_seconds` from a /metrics URL. */
export async function scrapeRuntime(metricsUrl: string): Promise<RuntimeScrape> {
  const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
  const samples = [...text.matchAll(/^(nodejs_[a-z0-9_]+)(\{[^}]*\})? (\S+)$/gm)].map(([, name, labels = '', value]) => ({
    name: name!,
    labels,
    value: Number(value),
  }));
  const sum = (name: string, labels: RegExp = /.*/) =>
    samples.filter((sample) => sample.name === name && labels.test(sample.labels)).reduce((total, sample) => total + sample.value, 0);
  const pauses = sum('nodejs_gc_duration_seconds_count');
  return {
    loopP99Ms: sum('nodejs_eventloop_lag_p99_seconds') * 1000,
    loopMaxMs: sum('nodejs_eventloop_lag_max_seconds') * 1000,
    gc: { pauses, totalMs: sum('nodejs_gc_duration_seconds_sum') * 1000, over2Ms: pauses - sum('nodejs_gc_duration_seconds_bucket', /le="0\.002"/) },
  };
}

/** The measured run's figures: the event loop's from the scrape after it, the collector's as the difference of the two. */
export function runtimeDuring(before: RuntimeScrape, after: RuntimeScrape, seconds: number): RuntimeFigures {
  return {
    loopP99Ms: after.loopP99Ms,
    loopMaxMs: after.loopMaxMs,
    gc: {
      pauses: after.gc.pauses - before.gc.pauses,
      totalMs: after.gc.totalMs - before.gc.totalMs,
      over2Ms: after.gc.over2Ms - before.gc.over2Ms,
    },
    seconds,
  };
}
