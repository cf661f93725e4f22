import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from '../../scripts/lib/local-platform.js';
import type { DriftComputed, VersionMonitoring } from '../../shared/domain/monitoring-events.js';
import type { Model } from '../../shared/domain/registry.js';
import type { Warehouse } from '../../shared/ports/warehouse.port.js';
import { freePort } from '../../shared/processes/processes.js';
import { platform } from '../../shared/runtime/index.js';
import { readBackground } from '../../shared/services/explanation-background.js';
import { mlops } from '../support/cli.js';
import { eventually } from '../support/environment.js';
import { webhookServer } from '../support/webhook.js';
import { BINARY_CLASSIFIER, binaryClassifierOnnx } from '../support/models.js';
import { type QualityFaults, referenceRows, scenarioRows } from '../support/quality-scenario.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-02-01T00:00:00Z');
const hourEnd = (hour: number) => new Date(T0.getTime() + (hour + 1) * HOUR).toISOString();
const ROWS_PER_HOUR = 1000;
/** Hour 0 is clean, hour 1 has f2 missing in a quarter of its rows, hour 2 has f3's importance shifted; the classifier is biased against group b throughout. */
const HOURS: QualityFaults[] = [{}, { missing: true }, { spread: true }];

/** The family alerts a run opened or resolved: drift's own (plain feature names) left out. */
const familyAlerts = (names: string[]) => names.filter((name) => /^(quality|attribution|fairness):/.test(name)).sort();

// The whole platform runs in this process (serving revisions as child processes); the seeded hours are
// written straight into the DuckDB file its functions read, as the drift end-to-end test does.
describe('data quality, attributions and fairness on the local platform: a seeded scenario flagged where it was seeded', () => {
  let local: LocalPlatform;
  let warehouse: Warehouse;
  let webhook: Awaited<ReturnType<typeof webhookServer>>;
  let serveUrl: string;
  const seeded = HOURS.map((faults, hour) =>
    scenarioRows(
      { model: 'quality', version: 1, start: new Date(T0.getTime() + hour * HOUR), spanMs: HOUR, count: ROWS_PER_HOUR, idPrefix: `h${hour}`, seed: 100 + hour },
      faults,
    ),
  );
  const runs: VersionMonitoring[] = [];
  const files = mkdtempSync(join(tmpdir(), 'quality-monitoring-'));

  beforeAll(async () => {
    process.env.MLOPS_LOG_LEVEL = process.env.DEBUG_MONITORING ? '' : 'silent';
    webhook = await webhookServer('/hooks/quality');
    process.env.MLOPS_ALERT_WEBHOOK_URL = webhook.url;
    const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
    local = await startLocalPlatform({ dataDir: mkdtempSync(join(tmpdir(), 'quality-data-')), ports, fresh: true, scheduler: false });
    warehouse = await platform().warehouse();
    await warehouse.insert('offline_features', referenceRows('quality-train', 2000));
    for (const { predictions, groundTruth } of seeded) {
      await warehouse.insert('predictions', predictions);
      await warehouse.insert('ground_truth', groundTruth);
    }
    const file = join(files, 'model.onnx');
    writeFileSync(file, binaryClassifierOnnx());
    const tags = ['fairness.attribute=group,region', 'inputs.missing=nan'].flatMap((tag) => ['--tag', tag]);
    const upload = await mlops('upload', file, '--name', 'quality', '--dataset', 'quality-train', ...tags);
    expect(upload.code, upload.stderr).toBe(0);
    expect((await mlops('promote', 'quality', '1', '--to', 'production')).code).toBe(0);
    const model = await eventually(
      async () => {
        const shown = JSON.parse((await mlops('models', 'show', 'quality', '--json')).stdout) as { model: Model };
        return shown.model.serving ? shown.model : undefined;
      },
      { timeoutMs: 60_000, what: 'quality serving' },
    );
    serveUrl = model.serving!.url;
    for (let hour = 0; hour < HOURS.length; hour++) {
      const result = await mlops('drift', 'run', '--model', 'quality', '--window-hours', '1', '--window-end', hourEnd(hour), '--json');
      expect(result.stderr).toBe('');
      const computed = JSON.parse(result.stdout) as DriftComputed;
      expect(computed.status, computed.error).toBe('succeeded');
      runs.push(computed.versions[0]!);
    }
  }, 240_000);

  afterAll(async () => {
    await local?.stop();
    await new Promise((resolve) => webhook?.server.close(resolve));
    delete process.env.MLOPS_ALERT_WEBHOOK_URL;
  });

  it('opens each family’s alert in the hour its fault was seeded, and no other', () => {
    expect(runs.map((run) => familyAlerts(run.alertsOpened))).toEqual([['fairness:group'], ['quality:f2'], ['attribution:f3']]);
    expect(runs.map((run) => familyAlerts(run.alertsResolved))).toEqual([[], [], ['quality:f2']]);
    expect(runs.every((run) => run.problems.length === 0)).toBe(true);
  });

  it('measures the missing share of f2 exactly, and finds every other check clean', () => {
    const missingOf = (hour: number) => seeded[hour]!.predictions.filter((row) => (row.features as Record<string, unknown>).f2 === null).length;
    expect(missingOf(1)).toBeGreaterThan(200);
    for (const [hour, run] of runs.entries()) {
      const missing = run.quality!.checks.find((check) => check.feature === 'f2' && check.check === 'missing')!;
      expect(missing).toMatchObject({ failing: missingOf(hour), rows: ROWS_PER_HOUR, threshold: 0.05 });
      expect(missing.value).toBeCloseTo(missingOf(hour) / ROWS_PER_HOUR, 12);
      expect(run.quality!.checks.filter((check) => check.crossed).map((check) => `${check.feature}:${check.check}`)).toEqual(hour === 1 ? ['f2:missing'] : []);
    }
  });

  it('explains the window with the graph’s own weights and sees only f3’s importance move', () => {
    const [clean, , spread] = runs;
    expect(clean!.attributions).toMatchObject({ method: 'linear', reference: 'dataset:quality-train', currentSize: 200 });
    expect(clean!.attributions!.features.filter((feature) => feature.drifted)).toEqual([]);
    const moved = spread!.attributions!.features.find((feature) => feature.feature === 'f3')!;
    // f3 drawn near ±2 instead of N(0, 1): its mean |w·(x − mean)| more than doubles.
    expect(moved.currentImportance / moved.referenceImportance).toBeGreaterThan(2);
    expect(spread!.attributions!.features.filter((feature) => feature.drifted).map((feature) => feature.feature)).toEqual(['f3']);
    expect(spread!.attributions!.ndcg?.drifted).toBe(false);
    // The hour with f2 missing explains only its complete rows, so every importance stays a number.
    const missing = runs[1]!;
    expect(missing.attributions!.features.every((feature) => Number.isFinite(feature.value) && Number.isFinite(feature.currentImportance))).toBe(true);
    expect(missing.skipped).toContainEqual({
      feature: 'attribution',
      reason: expect.stringMatching(/^\d+ of 200 window rows miss a feature value and were not explained$/),
    });
  });

  it('finds the classifier biased against group b, by the rates its rows give, and region fair', () => {
    for (const [hour, run] of runs.entries()) {
      const { predictions, groundTruth } = seeded[hour]!;
      const groupOf = new Map(groundTruth.map((row) => [row.prediction_id, (row.attributes as Record<string, string>).group]));
      const rate = (group: string) => {
        const members = predictions.filter((row) => groupOf.get(row.prediction_id) === group);
        return members.filter((row) => (row.outputs as { label: number }).label === 1).length / members.length;
      };
      const [group, region] = ['group', 'region'].map((name) => run.fairness!.attributes.find((attribute) => attribute.attribute === name)!);
      const impact = group!.comparisons.find((comparison) => comparison.metric === 'disparate_impact_ratio')!;
      expect(impact.value).toBeCloseTo(rate('b') / rate('a'), 12);
      expect(impact).toMatchObject({ threshold: 0.8, flagged: true });
      expect(region!.comparisons.filter((comparison) => comparison.flagged)).toEqual([]);
      expect(region!.groups.map((entry) => entry.group).sort()).toEqual(['eu', 'us']);
    }
  });

  it('posts one message per opened alert to the webhook, naming its family', async () => {
    const families = () => webhook.texts.filter((text) => /Data quality|Attribution drift|Fairness/.test(text));
    await eventually(async () => (families().length === 3 ? true : undefined), { timeoutMs: 15_000, what: 'three family alerts' });
    const subjects = families().map((text) => /^:warning: (.+) in quality v1: (\w+ "\w+") —/.exec(text)?.slice(1, 3).join(' '));
    expect(subjects.sort()).toEqual(['Attribution drift feature "f3"', 'Data quality feature "f2"', 'Fairness attribute "group"']);
  });

  it('prints the three families in mlops drift report', async () => {
    const report = await mlops('drift', 'report', 'quality');
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/\nf3\s+linear\s/);
    expect(report.stdout).toMatch(/disparate_impact_ratio/);
    expect(report.stdout).toMatch(/open alerts: .*attribution:f3/);
  });

  it('serves /explain against the reference background the run stored: w·(x − background mean) that adds up to the logit’s change', async () => {
    const background = (await readBackground(await platform().artifacts(), 'quality', 1))!;
    expect(background.length).toBe(100);
    const instance = { f0: 1.5, f1: -0.5, f2: 0.25, f3: 2 };
    const instances = join(files, 'instances.jsonl');
    writeFileSync(instances, `${JSON.stringify(instance)}\n`);
    const result = await mlops('explain', 'quality', '--instances', instances, '--json');
    expect(result.code, result.stderr).toBe(0);
    const [explanation] = (
      JSON.parse(result.stdout) as { explanations: { attributions: Record<string, number>; prediction: number; baseline: number; method: string }[] }
    ).explanations;
    expect(explanation!.method).toBe('linear');
    BINARY_CLASSIFIER.featureNames.forEach((name, index) => {
      const mean = background.reduce((sum, row) => sum + Number(row[name]), 0) / background.length;
      expect(explanation!.attributions[name]).toBeCloseTo(BINARY_CLASSIFIER.weights[index]! * (instance[name] - mean), 5);
    });
    const total = Object.values(explanation!.attributions).reduce((sum, value) => sum + value, 0);
    expect(total).toBeCloseTo(explanation!.prediction - explanation!.baseline, 9);
  });

  it('takes a missing f2 through the real revision when the version says the model can, and logs it as null', async () => {
    const response = await fetch(`${serveUrl}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ f0: 1, f1: 0, f2: null, f3: 0.5 }] }),
    });
    expect(response.status).toBe(200);
    const { ids } = (await response.json()) as { ids: string[] };
    const row = await eventually(
      async () =>
        (await warehouse.query<{ features: Record<string, unknown> }>('SELECT features FROM {{predictions}} WHERE prediction_id = @id', { id: ids[0] }))[0],
      { timeoutMs: 20_000, what: 'the logged prediction' },
    );
    expect(row.features).toEqual({ f0: 1, f1: 0, f2: null, f3: 0.5 });
  });
});
