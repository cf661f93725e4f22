import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import type { TensorSpec } from '../../shared/domain/model-signature.js';
import type { DriftAlert, VersionMonitoring } from '../../shared/domain/monitoring-events.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { Row } from '../../shared/ports/warehouse.port.js';
import { latestMonitoring } from '../../shared/services/monitoring-report.js';
import { runMonitoring } from '../../shared/services/monitoring-run.js';
import { FEATURES, datasetRows, predictionRows, recordingBus, registryWith, seeded } from '../support/drift-scenario.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = new Date('2026-03-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const clock = { now: () => new Date('2026-04-01T00:00:00Z') };

const drifted = (version: VersionMonitoring) =>
  version.features
    .filter((feature) => feature.drifted && !feature.feature.startsWith('outputs.'))
    .map((feature) => feature.feature)
    .sort();
const methods = (version: VersionMonitoring) =>
  Object.fromEntries(version.features.filter((feature) => !feature.feature.startsWith('outputs.')).map((feature) => [feature.feature, feature.method]));

const REGRESSOR_OUTPUTS: TensorSpec[] = [{ name: 'value', type: 'float32', shape: [null] }];

/** numpy's default (linear) percentile. */
function percentile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  return sorted[low]! + (sorted[Math.ceil(position)]! - sorted[low]!) * (position - low);
}

describe('monitoring runs over DuckDB', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'monitoring-run-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
  });

  afterAll(async () => {
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  describe('a seeded shift in two of five features (large samples: training dataset reference)', () => {
    const random = seeded(7);
    const bus = recordingBus();
    const registry = registryWith('churn', [{ version: 1, aliases: ['production'], datasetId: 'train-2026' }]);
    const current: Row[] = predictionRows(random, {
      model: 'churn',
      version: 1,
      start: at(3 * DAY),
      spanMs: DAY,
      count: 3000,
      shift: { tenure: true, plan: true },
      idPrefix: 'cur',
    });
    const truth = current.slice(0, 1500).map((row) => {
      const probability = (row.outputs as { probability: number }).probability;
      return { prediction_id: row.prediction_id, label: random() < probability ? '1' : '0', value: null, observed_time: at(4 * DAY).toISOString() };
    });
    const run = () => runMonitoring({ registry, warehouse, bus, clock }, { windowHours: 24, windowEnd: at(4 * DAY) });
    let report: Awaited<ReturnType<typeof run>>;

    beforeAll(async () => {
      await warehouse.insert('offline_features', datasetRows(random, 'train-2026', 5000));
      await warehouse.insert('predictions', predictionRows(random, { model: 'churn', version: 1, start: T0, spanMs: DAY, count: 2000, idPrefix: 'launch' }));
      await warehouse.insert('predictions', current);
      await warehouse.insert('ground_truth', truth);
      // What two serving instances counted: 40 bad inputs and 20 failures in the window, 15 missing keys (the
      // client's, not counted), and a minute before the window.
      const outcome = (minute: number, status: number, code: string, instance: string, count: number) => ({
        model: 'churn',
        version: 1,
        minute: at(3 * DAY + minute * 60_000).toISOString(),
        status,
        code,
        instance,
        count,
      });
      await warehouse.insert('request_outcomes', [
        outcome(10, 400, 'MODEL.INVALID_INPUT', 'a', 25),
        outcome(10, 400, 'MODEL.INVALID_INPUT', 'b', 15),
        outcome(20, 500, 'INTERNAL', 'a', 20),
        outcome(30, 401, 'AUTH.REQUIRED', 'a', 15),
        outcome(-5, 400, 'MODEL.INVALID_INPUT', 'a', 99),
      ]);
      report = await run();
    }, 60_000);

    it('flags exactly the two shifted features, with Evidently’s large-sample methods', () => {
      const [version] = report.versions;
      expect(version?.reference).toBe('dataset:train-2026');
      expect(drifted(version!)).toEqual(['plan', 'tenure']);
      expect(methods(version!)).toEqual({ age: 'wasserstein', plan: 'jensen_shannon', region: 'jensen_shannon', spend: 'wasserstein', tenure: 'wasserstein' });
      expect(version!.datasetDrift).toEqual({ share: 0.4, threshold: 0.5, drifted: false });
      expect(version!.features.map((feature) => feature.feature)).toEqual(expect.arrayContaining(['outputs.label', 'outputs.probability']));
    });

    it('writes one row per feature and method for the window, and a re-run replaces them', async () => {
      const count = async () => (await warehouse.query<{ n: number }>("SELECT COUNT(*) AS n FROM {{drift_metrics}} WHERE model = 'churn'"))[0]!.n;
      const before = await count();
      expect(before).toBe(FEATURES.length + 2 + 1); // inputs, two outputs, the dataset row
      const again = await run();
      expect(await count()).toBe(before);
      expect(again.versions[0]!.alertsOpened).toEqual([]);
      const alerts = bus.published.filter((message) => message.topic === 'drift-alerts').map((message) => (message.data as DriftAlert).feature);
      expect(alerts.filter((feature) => !feature.startsWith('outputs.')).sort()).toEqual(['plan', 'tenure']);
    });

    it('measures classification performance against the ground truth that arrived', () => {
      const performance = report.versions[0]!.performance;
      const joined = truth.map((row, index) => ({ actual: row.label, ...(current[index]!.outputs as { label: number; probability: number }) }));
      const tp = joined.filter((row) => row.label === 1 && row.actual === '1').length;
      const fp = joined.filter((row) => row.label === 1 && row.actual === '0').length;
      const fn = joined.filter((row) => row.label === 0 && row.actual === '1').length;
      const loss = joined.reduce((sum, row) => sum - Math.log(row.actual === '1' ? row.probability : 1 - row.probability), 0) / joined.length;
      expect(performance.predictions).toBe(3000);
      expect(performance.labelled).toBe(1500);
      expect(performance.labelled_share).toBe(0.5);
      expect(performance.accuracy).toBeCloseTo(joined.filter((row) => String(row.label) === row.actual).length / 1500, 12);
      expect(performance.precision).toBeCloseTo(tp / (tp + fp), 12);
      expect(performance.recall).toBeCloseTo(tp / (tp + fn), 12);
      expect(performance.log_loss).toBeCloseTo(loss, 9);
      const positives = joined.filter((row) => row.actual === '1');
      const negatives = joined.filter((row) => row.actual === '0');
      let concordant = 0;
      for (const p of positives) for (const n of negatives) concordant += p.probability > n.probability ? 1 : p.probability === n.probability ? 0.5 : 0;
      expect(Math.abs(performance.roc_auc! - concordant / (positives.length * negatives.length))).toBeLessThan(1e-3);
    });

    it('reports volume, exact latency percentiles, and the error rate from the counted refusals and failures', () => {
      const health = report.versions[0]!.health;
      const latencies = current.map((row) => row.latency_ms as number).sort((a, b) => a - b);
      expect(health).toMatchObject({ predictions: 3000, online_predictions: 3000, batch_predictions: 0 });
      expect(health.error_rate).toBeCloseTo(60 / 3060, 12);
      expect(health.latency_p50_ms).toBeCloseTo(percentile(latencies, 0.5), 9);
      expect(health.latency_p95_ms).toBeCloseTo(percentile(latencies, 0.95), 9);
      expect(health.latency_p99_ms).toBeCloseTo(percentile(latencies, 0.99), 9);
    });

    it('reads back the latest window per feature for the report', async () => {
      const [latest] = await latestMonitoring(warehouse, 'churn');
      expect(latest?.windowEnd).toBe(at(4 * DAY).toISOString());
      expect(latest?.drift.filter((row) => row.drifted).map((row) => row.feature)).toEqual(expect.arrayContaining(['plan', 'tenure']));
      expect(latest?.performance.accuracy).toBeCloseTo(report.versions[0]!.performance.accuracy!, 12);
      expect(latest?.openAlerts.map((alert) => alert.feature)).toEqual(expect.arrayContaining(['plan', 'tenure']));
    });
  });

  it('flags the same two features with small samples against the launch window (KS, chi-square, z-test)', async () => {
    const random = seeded(11);
    await warehouse.insert('predictions', predictionRows(random, { model: 'fraud', version: 2, start: T0, spanMs: DAY, count: 600, idPrefix: 'f-launch' }));
    await warehouse.insert(
      'predictions',
      predictionRows(random, {
        model: 'fraud',
        version: 2,
        start: at(2 * DAY),
        spanMs: DAY,
        count: 500,
        shift: { tenure: true, plan: true },
        idPrefix: 'f-cur',
      }),
    );
    const registry = registryWith('fraud', [{ version: 2, aliases: ['staging'] }]);
    const report = await runMonitoring({ registry, warehouse, bus: recordingBus(), clock }, { windowHours: 24, windowEnd: at(3 * DAY) });
    const [version] = report.versions;
    expect(version?.reference).toBe(`window:${T0.toISOString()}/${at(DAY).toISOString()}`);
    expect(methods(version!)).toEqual({ age: 'ks', plan: 'chi_square', region: 'z_test', spend: 'ks', tenure: 'ks' });
    expect(drifted(version!)).toEqual(['plan', 'tenure']);
  });

  it('measures a regressor: MAE, RMSE and R² from ground-truth values', async () => {
    const rows = Array.from({ length: 200 }, (_, index) => ({
      prediction_id: `price-${index}`,
      model: 'price',
      version: 1,
      request_time: at(DAY + index * 1000).toISOString(),
      features: { x: index },
      outputs: { value: index * 2 + 1 },
      latency_ms: 2,
      source: 'batch',
    }));
    await warehouse.insert('predictions', rows);
    await warehouse.insert(
      'ground_truth',
      rows.map((row, index) => ({
        prediction_id: row.prediction_id,
        label: null,
        value: index * 2 + (index % 3) - 1,
        observed_time: at(2 * DAY).toISOString(),
      })),
    );
    const registry = registryWith('price', [{ version: 1, aliases: ['production'], outputs: REGRESSOR_OUTPUTS }]);
    const report = await runMonitoring({ registry, warehouse, bus: recordingBus(), clock }, { windowHours: 24, windowEnd: at(2 * DAY) });
    const errors = rows.map((_, index) => index * 2 + 1 - (index * 2 + (index % 3) - 1));
    const actual = rows.map((_, index) => index * 2 + (index % 3) - 1);
    const mean = actual.reduce((sum, value) => sum + value, 0) / actual.length;
    const performance = report.versions[0]!.performance;
    expect(performance.mae).toBeCloseTo(errors.reduce((sum, error) => sum + Math.abs(error), 0) / errors.length, 12);
    expect(performance.rmse).toBeCloseTo(Math.sqrt(errors.reduce((sum, error) => sum + error * error, 0) / errors.length), 12);
    const r2 = 1 - errors.reduce((sum, error) => sum + error * error, 0) / actual.reduce((sum, value) => sum + (value - mean) ** 2, 0);
    expect(performance.r2).toBeCloseTo(r2, 9);
    expect(report.versions[0]!.health).toMatchObject({ predictions: 200, online_predictions: 0, batch_predictions: 200, latency_p50_ms: null });
  });

  it('sends one alert for a drift that persists over five runs, and one more after it recovered and drifted again', async () => {
    const random = seeded(5);
    await warehouse.insert('offline_features', datasetRows(random, 'alerts-train', 2000));
    const drifting = [true, true, true, true, true, false, true];
    for (const [hour, shifted] of drifting.entries()) {
      const rows = predictionRows(random, {
        model: 'alerts',
        version: 1,
        start: at((hour + 1) * HOUR),
        spanMs: HOUR,
        count: 400,
        shift: { tenure: shifted },
        idPrefix: `a${hour}`,
      });
      await warehouse.insert('predictions', rows);
    }
    const bus = recordingBus();
    const registry = registryWith('alerts', [{ version: 1, aliases: ['production'], datasetId: 'alerts-train' }]);
    const tenureAlerts = () => bus.published.filter((message) => message.topic === 'drift-alerts' && (message.data as DriftAlert).feature === 'tenure');
    const runHour = (hour: number) => runMonitoring({ registry, warehouse, bus, clock }, { windowHours: 1, windowEnd: at((hour + 2) * HOUR) });
    const seen: boolean[] = [];
    for (let hour = 0; hour < 5; hour++) seen.push((await runHour(hour)).versions[0]!.features.find((feature) => feature.feature === 'tenure')!.drifted);
    expect(seen).toEqual([true, true, true, true, true]);
    expect(tenureAlerts()).toHaveLength(1);
    await runHour(2); // a redelivered or repeated window
    expect(tenureAlerts()).toHaveLength(1);
    const recovered = await runHour(5);
    expect(recovered.versions[0]!.alertsResolved).toContain('tenure');
    expect(tenureAlerts()).toHaveLength(1);
    await runHour(6);
    expect(tenureAlerts()).toHaveLength(2);
    const [first, second] = tenureAlerts().map((message) => message.data as DriftAlert);
    expect(first!.alertId).not.toBe(second!.alertId);
    expect(second).toMatchObject({
      model: 'alerts',
      version: 1,
      method: 'wasserstein',
      threshold: 0.1,
      reference: 'dataset:alerts-train',
      windowEnd: at(8 * HOUR).toISOString(),
    });
  });
});
