import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { measureStep } from '../../shared/services/rollout-analysis.js';
import { seeded } from '../support/drift-scenario.js';
import {
  type Arm,
  at,
  CLASSIFIER,
  jensenShannon,
  MINUTE,
  percentile,
  REGRESSOR,
  rollout,
  rows,
  temporaryWarehouse,
  WINDOW,
} from '../support/rollout-scenario.js';

describe('measureStep over DuckDB', () => {
  let warehouse: DuckDbWarehouse;
  let dispose: () => Promise<void>;
  const random = seeded(18);

  beforeAll(async () => {
    ({ warehouse, dispose } = await temporaryWarehouse());
  });

  afterAll(async () => {
    await dispose?.();
  });

  it('counts a canary’s requests, errors, p99 and label drift per arm, and nothing outside the window, source or auth errors', async () => {
    const labels = (n: number, share: number) => Array.from({ length: n }, () => ({ label: random() < share ? 1 : 0, probability: random() }));
    const candidate: Arm = { version: 2, outputs: labels(300, 0.7), latency: Array.from({ length: 300 }, () => Math.round(random() * 5000) / 100) };
    const baseline: Arm = { version: 1, outputs: labels(900, 0.4), latency: Array.from({ length: 900 }, () => Math.round(random() * 3000) / 100) };
    await warehouse.insert('predictions', [...rows('canary', candidate), ...rows('canary', baseline)]);
    // Outside the arms: before and after the window, batch scoring, and shadow copies.
    const noise = { version: 2, outputs: labels(20, 0), latency: new Array(20).fill(9999) };
    await warehouse.insert('predictions', [
      ...rows('canary', { ...noise, offsetMs: -10 * MINUTE }),
      ...rows('canary', { ...noise, offsetMs: 10 * MINUTE }),
      ...rows('canary', { ...noise, source: 'batch' }),
      ...rows('canary', { ...noise, source: 'shadow' }),
    ]);
    const outcome = (version: number, minute: number, status: number, count: number, instance = 'i1', code = 'X') => ({
      model: 'canary',
      version,
      minute: at(minute * MINUTE),
      status,
      code,
      instance,
      count,
    });
    await warehouse.insert('request_outcomes', [
      outcome(2, 0, 500, 3),
      outcome(2, 4, 429, 2, 'i1', 'SERVING.BUSY'),
      outcome(2, 4, 429, 5, 'i2', 'SERVING.BUSY'),
      outcome(2, 9, 400, 4, 'i1', 'MODEL.INVALID_INPUT'),
      outcome(2, 5, 401, 50, 'i1', 'AUTH.REQUIRED'),
      outcome(2, 5, 403, 50, 'i1', 'AUTH.REQUIRED'),
      outcome(2, -1, 500, 70),
      outcome(2, 10, 500, 70),
      outcome(1, 3, 503, 6),
    ]);

    const figures = await measureStep(warehouse, rollout('canary', 'canary'), WINDOW, CLASSIFIER);

    expect(figures.candidate).toEqual({ version: 2, requests: 300, errors: 3 + 2 + 5 + 4, p99Ms: expect.any(Number) });
    expect(figures.baseline).toEqual({ version: 1, requests: 900, errors: 6, p99Ms: expect.any(Number) });
    expect(figures.candidate.p99Ms).toBeCloseTo(percentile(candidate.latency, 0.99), 9);
    expect(figures.baseline.p99Ms).toBeCloseTo(percentile(baseline.latency, 0.99), 9);
    const counts = (arm: Arm) => [0, 1].map((label) => arm.outputs.filter((output) => output.label === label).length);
    expect(figures.outputDrift).toBeCloseTo(jensenShannon(counts(baseline), counts(candidate)), 12);
    expect(figures.outputDrift).toBeGreaterThan(0.1);
    expect(figures.comparison).toBeUndefined();
    expect(figures).toMatchObject({ from: WINDOW.from, to: WINDOW.to });
  });

  it('bins a regressor’s values at the baseline’s deciles for the drift', async () => {
    const values = (n: number, shift: number) => Array.from({ length: n }, () => ({ value: Math.round((random() * 10 + shift) * 1000) / 1000 }));
    const candidate: Arm = { version: 2, outputs: values(400, 1.5), latency: new Array(400).fill(2) };
    const baseline: Arm = { version: 1, outputs: values(600, 0), latency: new Array(600).fill(3) };
    await warehouse.insert('predictions', [...rows('regress', candidate), ...rows('regress', baseline)]);
    const figures = await measureStep(warehouse, rollout('regress', 'canary'), WINDOW, REGRESSOR);
    const base = baseline.outputs.map((output) => output.value as number);
    const edges = Array.from({ length: 9 }, (_, i) => percentile(base, (i + 1) / 10));
    const binned = (arm: Arm) => {
      const counts = new Array(10).fill(0);
      for (const output of arm.outputs) counts[edges.filter((edge) => edge <= (output.value as number)).length]++;
      return counts;
    };
    expect(figures.outputDrift).toBeCloseTo(jensenShannon(binned(baseline), binned(candidate)), 12);
    expect(figures.candidate).toMatchObject({ requests: 400, errors: 0, p99Ms: 2 });
  });

  it('has no drift and no p99 for an arm that answered nothing', async () => {
    await warehouse.insert('predictions', rows('quiet', { version: 1, outputs: [{ label: 1 }, { label: 0 }], latency: [1, 2] }));
    const figures = await measureStep(warehouse, rollout('quiet', 'canary'), WINDOW, CLASSIFIER);
    expect(figures.candidate).toEqual({ version: 2, requests: 0, errors: 0, p99Ms: null });
    expect(figures.outputDrift).toBeNull();
  });
});
