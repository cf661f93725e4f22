import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CapacityInputs, firestoreRampMinutes, MEASURED_SERVING, PUBSUB_MIN_BYTES, planCapacity, secondsPerRequest } from '../../../infra/capacity.js';
import { parseDeployConfig } from '../../../infra/deploy-config.js';
import { STACK } from '../../../infra/stack.js';
import { CompactPrediction } from '../../../shared/domain/events.js';

const config = parseDeployConfig({ project: 'acme-mlops', region: 'us-central1', bucket: 'acme-mlops-artifacts' });
const plan = (given: Partial<CapacityInputs> = {}) => planCapacity({ predictionsPerSecond: 10_000, ...given }, STACK, config);
const MONTH = 30 * 86_400;

describe('the capacity plan', () => {
  it('sizes serving from the measured revision: a fixed cost a request and a cost a row, at the target utilisation, plus a spare', () => {
    expect(secondsPerRequest(1)).toBeCloseTo(1 / MEASURED_SERVING.oneRow.requestsPerSecond, 12);
    expect(secondsPerRequest(64)).toBeCloseTo(1 / MEASURED_SERVING.batched.requestsPerSecond, 12);
    const oneRow = plan();
    expect(oneRow.serving.predictionsPerSecondPerInstance).toBeCloseTo(26_149 * 0.6, 6);
    expect(oneRow.serving.instances).toBe(Math.ceil(10_000 / (26_149 * 0.6)) + 1);
    const batched = plan({ predictionsPerSecond: 1_000_000, rowsPerRequest: 64 });
    expect(batched.serving.requestsPerSecond).toBeCloseTo(1_000_000 / 64, 6);
    expect(batched.serving.predictionsPerSecondPerInstance).toBeCloseTo(3_594 * 64 * 0.6, 4);
    expect(batched.serving.instances).toBe(Math.ceil(1_000_000 / (3_594 * 64 * 0.6)) + 1);
  });

  it('doubles the bytes and the operations when the rate doubles', () => {
    const [single, double] = [plan({ onlineLookupsPerPrediction: 2 }), plan({ predictionsPerSecond: 20_000, onlineLookupsPerPrediction: 2 })];
    expect(single.bigquery.bytesPerSecond).toBe(10_000 * 320 + 1_000 * 100);
    expect(double.bigquery.bytesPerSecond).toBe(2 * single.bigquery.bytesPerSecond);
    expect(double.bigquery.paths.insertAll.billedBytesPerSecond).toBe(2 * single.bigquery.paths.insertAll.billedBytesPerSecond);
    expect(double.pubsub.unbatched.bytesPerSecond).toBe(2 * single.pubsub.unbatched.bytesPerSecond);
    expect(single.firestore.readsPerSecond).toBe(20_000);
    expect(double.firestore.readsPerSecond).toBe(40_000);
  });

  it('batching moves the log past the 1 kB floor: billed bytes are the real ones, where one prediction a message pays the floor', () => {
    const { batched, unbatched } = plan().pubsub;
    // One loaded instance at 10,000/s flushes every 50 ms: 500 records a message.
    expect(batched.recordsPerMessage).toBe(500);
    expect(batched.messagesPerSecond).toBe(20);
    expect(batched.bytesPerSecond / batched.messagesPerSecond).toBeGreaterThan(PUBSUB_MIN_BYTES);
    expect(batched.billedBytesPerSecond).toBeCloseTo(2 * batched.bytesPerSecond, 6);
    expect(unbatched.messagesPerSecond).toBe(10_000);
    expect(unbatched.billedBytesPerSecond).toBe(2 * 10_000 * PUBSUB_MIN_BYTES);
    // Published once and pushed once, each at the 1 kB floor against 360 real bytes.
    expect(unbatched.billedBytesPerSecond / (2 * unbatched.bytesPerSecond)).toBeCloseTo(1000 / 360, 6);
    expect(unbatched.monthlyUsd / batched.monthlyUsd).toBeCloseTo(unbatched.billedBytesPerSecond / batched.billedBytesPerSecond, 2);
  });

  it('prices each BigQuery streaming path by its own rule: 1 KB a row, bytes past 2 TiB free, or subscription throughput', () => {
    const { paths, bytesPerSecond } = plan().bigquery;
    const gib = (perSecond: number) => (perSecond * MONTH) / 1024 ** 3;
    expect(paths.insertAll.billedBytesPerSecond).toBe(11_000 * 1024);
    expect(paths.insertAll.monthlyUsd).toBeCloseTo(gib(11_000 * 1024) * 0.05, 6);
    expect(paths.storageWrite.monthlyUsd).toBeCloseTo((gib(bytesPerSecond) - 2048) * 0.025, 6);
    expect(paths.bigquerySubscription.monthlyUsd).toBeCloseTo((gib(11_000 * 360) / 1024) * 50, 6);
    expect(paths.storageWrite.monthlyUsd).toBeLessThan(paths.insertAll.monthlyUsd);
  });

  it('names the first quota reached, the rate it is reached at, and how to move past it', () => {
    const withLookups = plan();
    expect(withLookups.firstQuota.name).toMatch(/^Firestore: new traffic starts at 500/);
    expect(withLookups.firstQuota.reachedAtPredictionsPerSecond).toBeCloseTo(500, 0);
    expect(withLookups.firstQuota.past).toContain(`over ${firestoreRampMinutes(10_000)} minutes`);
    expect(firestoreRampMinutes(10_000)).toBe(40);
    expect(firestoreRampMinutes(500)).toBe(0);

    const withoutLookups = plan({ onlineLookupsPerPrediction: 0 });
    expect(withoutLookups.firstQuota.name).toMatch(/^ingest-predictions instances/);
    const reached = withoutLookups.firstQuota.reachedAtPredictionsPerSecond!;
    const at = (rate: number) => plan({ predictionsPerSecond: rate, onlineLookupsPerPrediction: 0 }).ingest.busyInstances;
    expect(at(reached)).toBeGreaterThanOrEqual(10);
    expect(at(reached * 0.999)).toBeLessThan(10);
    expect(withoutLookups.quotas.find((quota) => quota.name.startsWith('Firestore: new'))?.reachedAtPredictionsPerSecond).toBeNull();
  });

  it('assumes a prediction record no smaller than the one serving logs for a six-feature classifier', () => {
    const features = Object.fromEntries(Array.from({ length: 6 }, (_, index) => [`feature_${index}`, 12.3456 + index]));
    const record = CompactPrediction.parse([randomUUID(), '2026-12-01T12:00:00.123Z', 0.412, features, { label: 1, probability: 0.873421 }, null]);
    const bytes = Buffer.byteLength(JSON.stringify(record));
    const assumed = CapacityInputs.parse({ predictionsPerSecond: 1 }).recordBytes;
    expect(bytes).toBeLessThanOrEqual(assumed);
    expect(bytes).toBeGreaterThan(assumed * 0.75);
  });

  it('is what `npm run cost -- --predictions-per-second 10000` prints', () => {
    const printed = execFileSync(
      'npx',
      ['tsx', 'scripts/cost.ts', '--predictions-per-second', '10000', '--project', 'acme-mlops', '--config', '/nonexistent/mlops.deploy.json'],
      {
        encoding: 'utf8',
      },
    );
    const expected = planCapacity({ predictionsPerSecond: 10_000 }, STACK, parseDeployConfig({ project: 'acme-mlops' }));
    expect(printed).toContain('Capacity plan: 10,000 predictions/s sustained, 1 row(s) a request');
    expect(printed).toContain(`10,000 req/s on ${expected.serving.instances} instances of 1 vCPU`);
    expect(printed).toContain(`| $${expected.monthlyUsd.toLocaleString('en-US', { maximumFractionDigits: 2 })}`);
    expect(printed).toContain(`First limit reached: ${expected.firstQuota.name}, at 500 predictions/s.`);
    expect(() => execFileSync('npx', ['tsx', 'scripts/cost.ts', '--predictions-per-second', 'many', '--project', 'acme-mlops'], { stdio: 'pipe' })).toThrow(
      /--predictions-per-second expects a number/,
    );
  }, 60_000);
});
