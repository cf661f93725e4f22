import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { TABLES } from '../../shared/domain/tables.js';
import { latestMonitoring, type VersionReport } from '../../shared/services/monitoring-report.js';
import { runMonitoring } from '../../shared/services/monitoring-run.js';
import { mlops } from '../support/cli.js';
import { serveMonitoringApi } from '../support/monitoring-api.js';
import { predictionRows, recordingBus, registryWith, seeded } from '../support/drift-scenario.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-03-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
/** The first predictions come two hours into a 24-hour window: the launch window ends two hours after it. */
const FIRST_PREDICTION = at(2 * HOUR);
const LAUNCH_END = at(26 * HOUR);
const WINDOW_END = at(24 * HOUR);
const clock = { now: () => at(25 * HOUR) };

const reasonOf = (report: VersionReport | undefined, part: string) => report?.waiting.find((waiting) => waiting.part === part)?.reason;

// A fresh deployment: predictions for a few hours, no training dataset, and the launch window
// (the drift reference) not over yet. The monitoring run writes performance and health, no drift.
describe('mlops drift report before drift has a reference (DuckDB)', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;
  let api: Awaited<ReturnType<typeof serveMonitoringApi>>;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'monitoring-report-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    const random = seeded(3);
    const labelled = predictionRows(random, { model: 'fresh', version: 1, start: FIRST_PREDICTION, spanMs: 6 * HOUR, count: 300, idPrefix: 'v1' });
    await warehouse.insert('predictions', labelled);
    await warehouse.insert(
      'predictions',
      predictionRows(random, { model: 'fresh', version: 2, start: FIRST_PREDICTION, spanMs: 6 * HOUR, count: 120, idPrefix: 'v2' }),
    );
    const scores = predictionRows(random, { model: 'scores', version: 1, start: FIRST_PREDICTION, spanMs: HOUR, count: 50, idPrefix: 's' });
    await warehouse.insert(
      'predictions',
      scores.map((row) => ({ ...row, outputs: { score: 0.4 } })),
    );
    const truth = (rows: typeof labelled) =>
      rows.map((row) => ({ prediction_id: row.prediction_id, label: '1', value: null, observed_time: at(20 * HOUR).toISOString() }));
    await warehouse.insert('ground_truth', [...truth(labelled.slice(0, 100)), ...truth(scores.slice(0, 20))]);
    const registries = [
      registryWith('fresh', [
        { version: 1, aliases: ['production'] },
        { version: 2, aliases: ['staging'] },
      ]),
      registryWith('scores', [{ version: 1, aliases: ['production'] }]),
    ];
    for (const registry of registries) await runMonitoring({ registry, warehouse, bus: recordingBus(), clock }, { windowHours: 24, windowEnd: WINDOW_END });

    api = await serveMonitoringApi(warehouse, folder);
  }, 60_000);

  afterAll(async () => {
    api?.stop();
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('shows performance and health of a version without drift rows, and says drift waits for the launch window to end', async () => {
    const reports = await latestMonitoring(warehouse, 'fresh', { clock });
    expect(reports.map((report) => report.version)).toEqual([2, 1]);
    const v1 = reports.find((report) => report.version === 1);
    expect(v1).toMatchObject({ windowStart: at(0).toISOString(), windowEnd: WINDOW_END.toISOString(), drift: [], labelled: 100, openAlerts: [] });
    expect(v1?.performance.accuracy).toBeGreaterThan(0);
    expect(v1?.performance.labelled_share).toBeCloseTo(100 / 300, 12);
    // No refusal or failure was counted: an error rate of 0, not an unknown one.
    expect(v1?.health).toMatchObject({ predictions: 300, online_predictions: 300, error_rate: 0 });
    expect(reasonOf(v1, 'drift')).toBe(
      'no reference yet: v1 has no offline_features dataset to compare with (none given at upload, or it holds no rows), ' +
        `and the first full window after its first prediction (${FIRST_PREDICTION.toISOString()}) ends at ${LAUNCH_END.toISOString()}; ` +
        'to compare sooner, load the training features with "mlops features load <file> --dataset <id>" ' +
        '(and upload the model with "mlops upload <file.onnx> --name fresh --dataset <id>" if this version was registered without one), ' +
        'then run "mlops drift run --model fresh"',
    );
    expect(reasonOf(v1, 'output_drift')).toContain(`which ends at ${LAUNCH_END.toISOString()}`);
    // The parts of drift and ground truth (quality, importance and fairness have their own test: monitoring-report-families).
    const waitingParts = v1?.waiting.map((waiting) => waiting.part).filter((part) => ['drift', 'output_drift', 'performance', 'health'].includes(part));
    expect(waitingParts).toEqual(['drift', 'output_drift']);
  });

  it('says the launch window ended once it has, and that a new run compares with it', async () => {
    const [v2] = await latestMonitoring(warehouse, 'fresh', { clock: { now: () => at(30 * HOUR) } });
    expect(reasonOf(v2, 'drift')).toBe(
      'no reference yet: v2 has no offline_features dataset to compare with (none given at upload, or it holds no rows), ' +
        `and the first full window after its first prediction (${FIRST_PREDICTION.toISOString()}) ended at ${LAUNCH_END.toISOString()}, ` +
        'after this window: run "mlops drift run --model fresh" to compare with it',
    );
  });

  it('says a version with predictions and no ground truth waits for it, and how to send it', async () => {
    const v2 = (await latestMonitoring(warehouse, 'fresh', { clock })).find((report) => report.version === 2);
    expect(v2?.performance).toEqual({ labelled_share: 0 });
    expect(reasonOf(v2, 'performance')).toBe(
      `no ground truth for this window's 120 predictions: send the observed outcomes with "mlops ground-truth <file>" ` +
        '(.csv with id and label or value columns, or .jsonl); ground truth is joined to predictions by prediction id',
    );
    expect(reasonOf(v2, 'health')).toBeUndefined();
  });

  it('says a model whose outputs have no label or value cannot be compared with the ground truth it has', async () => {
    const [report] = await latestMonitoring(warehouse, 'scores', { clock });
    expect(report?.labelled).toBe(20);
    expect(reasonOf(report, 'performance')).toBe(
      "ground truth arrived for 20 of the window's 50 predictions, but the model's outputs have no label or value to compare with ground truth",
    );
  });

  it('prints performance, health and one line per waiting part, and no drift table', async () => {
    const result = await mlops('drift', 'report', 'fresh');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`fresh v1: window ${at(0).toISOString()} to ${WINDOW_END.toISOString()}`);
    expect(result.stdout).not.toMatch(/FEATURE +METHOD +VALUE/);
    expect(result.stdout).not.toContain('No drift results');
    expect(result.stdout).toMatch(/\nperformance \(100 labelled\): accuracy \d\.\d{4}, .*labelled_share 0\.3333/);
    expect(result.stdout).toMatch(/\nhealth: 300 predictions, latency p50\/p95\/p99 [\d.]+\/[\d.]+\/[\d.]+ ms, error rate 0\.00%\n/);
    expect(result.stdout).toMatch(/\nhealth: 120 predictions, /);
    // The API's clock is the real one: the launch window "ends" or "ended", at the same time either way.
    expect(result.stdout).toMatch(new RegExp(`\\nwaiting: drift: no reference yet: v1 .* (ends|ended) at ${LAUNCH_END.toISOString().replaceAll('.', '\\.')}`));
    expect(result.stdout).toContain(
      `\nwaiting: performance: no ground truth for this window's 120 predictions: send the observed outcomes with "mlops ground-truth <file>"`,
    );
    expect(result.stdout.match(/\nwaiting: performance: /g)).toHaveLength(1);
  });

  it('says what to run when a model has no monitored window at all', async () => {
    const result = await mlops('drift', 'report', 'never-run');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(
      'no monitoring results for never-run yet: run "mlops drift run --model never-run" ' +
        '(it monitors the versions that hold an alias; "mlops promote never-run <version> --to <alias>" gives one)\n',
    );
  });
});
