import { registrationRequest } from '../support/registered-model.js';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitoringApi } from '../../functions/monitoring-api/app.js';
import type { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import type { TensorSpec } from '../../shared/domain/model-signature.js';
import { DEFAULT_CRITERIA, planRollout, type RolloutMode } from '../../shared/domain/rollout.js';
import type { RolloutComparison } from '../../shared/services/rollout-comparison.js';
import { describeRolloutComparison } from '../../scripts/cli/rollout-compare.js';
import { CLASSIFIER_OUTPUTS, seeded } from '../support/drift-scenario.js';
import { useEmulators } from '../support/environment.js';
import { at, jensenShannon, MINUTE, percentile, rows, temporaryWarehouse } from '../support/rollout-scenario.js';

const { projectId } = useEmulators();
const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
const registry = new FirestoreModelRegistry({ projectId, client: firestore });
const REGRESSOR_OUTPUTS: TensorSpec[] = [{ name: 'value', type: 'float32', shape: [null] }];
const random = seeded(11);
let warehouse: DuckDbWarehouse;
let dispose: () => Promise<void>;

async function seedModel(model: string, mode: RolloutMode, outputs: TensorSpec[]): Promise<void> {
  for (let index = 0; index < 2; index++) {
    await registry.registerVersion(registrationRequest(model, { inputs: [], outputs }));
  }
  await registry.promote({ model, version: 1, alias: 'production', actor: 'test', reason: 'first', requestId: `${model}-first` }, { requireStaging: false });
  const request = {
    model,
    candidate: 2,
    mode,
    steps: [mode === 'canary' ? 10 : 100],
    intervalMs: 10 * MINUTE,
    durationMs: mode === 'canary' ? null : 10 * MINUTE,
    stickyKey: null,
    criteria: DEFAULT_CRITERIA,
    actor: 'test',
    reason: 'compare',
    requestId: `start-${model}`,
  };
  await registry.startRollout(planRollout(request, 1, { version: 2, status: 'ready' }, { id: `rollout-${model}`, now: at(0) }));
}

const app = () => createMonitoringApi({ warehouse: async () => warehouse, apiKeyHashes: [], registry: async () => registry });
async function compare(path: string): Promise<{ status: number; body: RolloutComparison & { code?: string; error?: string } }> {
  const response = await app().request(path);
  return { status: response.status, body: await response.json() };
}

beforeAll(async () => {
  ({ warehouse, dispose } = await temporaryWarehouse());
  await seedModel('cmp-canary', 'canary', CLASSIFIER_OUTPUTS);
  await seedModel('cmp-shadow', 'shadow', CLASSIFIER_OUTPUTS);
  await seedModel('cmp-shadow-reg', 'shadow', REGRESSOR_OUTPUTS);
}, 60_000);

afterAll(async () => {
  await firestore.terminate();
  await dispose?.();
});

describe('GET /models/:name/rollouts/compare (mlops rollout compare)', () => {
  it('shows a canary’s arms side by side over its whole time', async () => {
    const latency = { candidate: Array.from({ length: 200 }, () => random() * 20), baseline: Array.from({ length: 500 }, () => random() * 10) };
    const labels = (n: number, share: number) => Array.from({ length: n }, () => ({ label: random() < share ? 1 : 0 }));
    const candidate = labels(200, 0.5);
    const baseline = labels(500, 0.3);
    await warehouse.insert('predictions', [
      ...rows('cmp-canary', { version: 2, outputs: candidate, latency: latency.candidate, spanMs: 30 * MINUTE }),
      ...rows('cmp-canary', { version: 1, outputs: baseline, latency: latency.baseline, spanMs: 30 * MINUTE }),
    ]);
    await warehouse.insert('request_outcomes', [
      { model: 'cmp-canary', version: 2, minute: at(20 * MINUTE), status: 503, code: 'X', instance: 'i', count: 50 },
    ]);
    const { status, body } = await compare('/models/cmp-canary/rollouts/compare');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      model: 'cmp-canary',
      rolloutId: 'rollout-cmp-canary',
      mode: 'canary',
      state: 'running',
      from: at(0),
      shadow: null,
      groundTruth: null,
    });
    expect(body.candidate).toMatchObject({ version: 2, source: 'online', requests: 200, errors: 50, errorRate: 50 / 250 });
    expect(body.candidate.p50Ms).toBeCloseTo(percentile(latency.candidate, 0.5), 9);
    expect(body.candidate.p99Ms).toBeCloseTo(percentile(latency.candidate, 0.99), 9);
    expect(body.baseline).toMatchObject({ version: 1, requests: 500, errors: 0, errorRate: 0 });
    expect(body.baseline.p99Ms).toBeCloseTo(percentile(latency.baseline, 0.99), 9);
    const counts = (arm: { label: number }[]) => [0, 1].map((label) => arm.filter((output) => output.label === label).length);
    expect(body.outputDrift).toBeCloseTo(jensenShannon(counts(baseline), counts(candidate)), 12);
    expect(describeRolloutComparison(body)).toMatch(/candidate\s+v2\s+200\s+50\s+20\.00%/);
  });

  it('says which rollout or model has none', async () => {
    const missing = await compare('/models/cmp-canary/rollouts/compare?rollout=nope');
    expect(missing).toMatchObject({ status: 404, body: { code: 'ROLLOUT.NOT_FOUND' } });
    expect(missing.body.error).toMatch(/"cmp-canary" has no rollout nope/);
    expect((await compare('/models/nobody/rollouts/compare')).status).toBe(404);
    expect((await compare('/models/Bad%20Name/rollouts/compare')).status).toBe(400);
  });

  it("pairs a shadow classifier's answers with production's by shadow_of: the label agreement", async () => {
    const production = rows('cmp-shadow', {
      version: 1,
      outputs: Array.from({ length: 400 }, () => ({ label: random() < 0.5 ? 1 : 0 })),
      latency: new Array(400).fill(2),
    });
    const agree = production.slice(0, 300).map(() => random() < 0.8);
    const shadows = production.slice(0, 300).map((row, index) => ({
      ...row,
      prediction_id: `shadow-${index}`,
      version: 2,
      source: 'shadow',
      shadow_of: row.prediction_id,
      outputs: { label: agree[index] ? (row.outputs as { label: number }).label : 1 - (row.outputs as { label: number }).label },
    }));
    // A copy whose production answer was never logged pairs with nothing.
    const orphan = { ...shadows[0]!, prediction_id: 'shadow-orphan', shadow_of: 'never-logged' };
    await warehouse.insert('predictions', [...production, ...shadows, orphan]);
    const { body } = await compare('/models/cmp-shadow/rollouts/compare');
    expect(body.candidate).toMatchObject({ source: 'shadow', requests: 301 });
    expect(body.shadow).toEqual({ pairs: 300, labelAgreement: agree.filter(Boolean).length / 300 });
    expect(describeRolloutComparison(body)).toContain(`agreed with production on ${((agree.filter(Boolean).length / 300) * 100).toFixed(2)}% of 300 requests`);
  });

  it("measures a shadow regressor's mean and p99 absolute difference from production", async () => {
    const production = rows('cmp-shadow-reg', {
      version: 1,
      outputs: Array.from({ length: 250 }, () => ({ value: random() * 100 })),
      latency: new Array(250).fill(2),
    });
    const differences = production.map(() => (random() - 0.5) * 4);
    const shadows = production.map((row, index) => ({
      ...row,
      prediction_id: `reg-shadow-${index}`,
      version: 2,
      source: 'shadow',
      shadow_of: row.prediction_id,
      outputs: { value: (row.outputs as { value: number }).value + differences[index]! },
    }));
    await warehouse.insert('predictions', [...production, ...shadows]);
    const { body } = await compare('/models/cmp-shadow-reg/rollouts/compare?rollout=rollout-cmp-shadow-reg');
    const absolute = shadows.map((row, index) => Math.abs((row.outputs as { value: number }).value - (production[index]!.outputs as { value: number }).value));
    expect(body.shadow?.pairs).toBe(250);
    expect(body.shadow?.meanAbsoluteDifference).toBeCloseTo(absolute.reduce((a, b) => a + b, 0) / 250, 9);
    expect(body.shadow?.p99AbsoluteDifference).toBeCloseTo(percentile(absolute, 0.99), 9);
  });
});
