import { describe, expect, it } from 'vitest';
import { RuntimeMetrics } from '../../../../shared/http/runtime-metrics.js';

const value = (lines: string[], name: string) => Number(lines.find((line) => line.startsWith(`${name} `))?.split(' ')[1]);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('runtime metrics of a serving process', () => {
  it('reports a hold of the event loop at the next scrape, and only there', async () => {
    const metrics = new RuntimeMetrics();
    await pause(30);
    const started = performance.now();
    while (performance.now() - started < 80) {
      // holds the JavaScript thread, as a long synchronous step of a request would
    }
    await pause(30);
    const held = metrics.lines();
    expect(value(held, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThan(0.05);
    expect(value(held, 'nodejs_eventloop_lag_p50_seconds')).toBeLessThan(value(held, 'nodejs_eventloop_lag_max_seconds'));
    await pause(60);
    // Each scrape starts the figures over, so the hold does not show twice; an idle loop is barely late
    // (the 5 ms sampling interval itself is not counted as delay).
    const idle = metrics.lines();
    expect(value(idle, 'nodejs_eventloop_lag_max_seconds')).toBeLessThan(0.05);
    expect(value(idle, 'nodejs_eventloop_lag_p50_seconds')).toBeLessThan(0.004);
  });

  it('counts garbage-collection pauses by kind in a cumulative histogram', async () => {
    const metrics = new RuntimeMetrics();
    let kept: unknown[] = [];
    for (let round = 0; round < 200; round++) kept = Array.from({ length: 10_000 }, (_, index) => ({ index, round }));
    expect(kept).toHaveLength(10_000);
    await pause(20);
    const lines = metrics.lines();
    const minor = value(lines, 'nodejs_gc_duration_seconds_count{kind="minor"}');
    expect(minor).toBeGreaterThan(0);
    expect(value(lines, 'nodejs_gc_duration_seconds_bucket{kind="minor",le="+Inf"}')).toBe(minor);
    expect(value(lines, 'nodejs_gc_duration_seconds_sum{kind="minor"}')).toBeGreaterThan(0);
    const buckets = lines.filter((line) => line.startsWith('nodejs_gc_duration_seconds_bucket{kind="minor"')).map((line) => Number(line.split(' ')[1]));
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
  });
});
