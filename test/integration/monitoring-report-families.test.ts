import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { TABLES } from '../../shared/domain/tables.js';
import { latestMonitoring, type VersionReport } from '../../shared/services/monitoring-report.js';
import { mlops } from '../support/cli.js';
import { serveMonitoringApi } from '../support/monitoring-api.js';
import { predictionRows, seeded } from '../support/drift-scenario.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-04-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms).toISOString();
const window = { window_start: at(0), window_end: at(24 * HOUR), computed_at: at(25 * HOUR) };
const clock = { now: () => new Date(at(25 * HOUR)) };
const reasonOf = (report: VersionReport | undefined, part: string) => report?.waiting.find((waiting) => waiting.part === part)?.reason;

const quality = (feature: string, check: string, failing: number, rows: number, threshold: number | null, crossed: boolean) => ({
  model: 'loans',
  version: 3,
  feature,
  check,
  value: failing / rows,
  failing,
  rows,
  threshold,
  crossed,
  reference_size: 500,
  ...window,
});
const attribution = (feature: string, reference: number, current: number, drifted: boolean) => ({
  model: 'loans',
  version: 3,
  feature,
  method: 'linear',
  reference_importance: reference,
  current_importance: current,
  reference_share: reference / 2,
  current_share: current / 2,
  value: Math.abs(current - reference) / 2,
  threshold: 0.1,
  drifted,
  reference_size: 100,
  current_size: 200,
  ...window,
});
const nullShares = { reference_importance: null, current_importance: null, reference_share: null, current_share: null };
const fairness = (group: string, metric: string, value: number | null, counts: { predictions: number; labelled: number }, flags = {}) => ({
  model: 'loans',
  version: 3,
  attribute: 'sex',
  group_value: group,
  metric,
  value,
  ...counts,
  threshold: null,
  flagged: false,
  too_small: false,
  ...flags,
  ...window,
});

/** Per group: selection rate, accuracy, TPR, FPR; X has too few predictions for any of them. */
function groupRows(): Record<string, unknown>[] {
  const f = { predictions: 120, labelled: 80 };
  const m = { predictions: 150, labelled: 90 };
  const x = { predictions: 4, labelled: 2 };
  const rates: [string, number, number][] = [
    ['selection_rate', 0.3, 0.5],
    ['accuracy', 0.8, 0.85],
    ['true_positive_rate', 0.7, 0.9],
    ['false_positive_rate', 0.1, 0.2],
  ];
  return rates.flatMap(([metric, female, male]) => [
    fairness('F', metric, female, f),
    fairness('M', metric, male, m),
    fairness('X', metric, null, x, { too_small: true }),
  ]);
}

// Rows as the three families write them (table schemas in shared/domain/tables.ts), read back by the
// report and printed by `mlops drift report` through the real monitoring API.
describe('mlops drift report: data quality, feature importance and fairness of the latest window (DuckDB)', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;
  let api: Awaited<ReturnType<typeof serveMonitoringApi>>;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'monitoring-report-families-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    const random = seeded(19);
    await warehouse.insert('predictions', [
      ...predictionRows(random, { model: 'loans', version: 3, start: new Date(at(-48 * HOUR)), spanMs: 72 * HOUR, count: 300, idPrefix: 'l' }),
      ...predictionRows(random, { model: 'bare', version: 1, start: new Date(at(2 * HOUR)), spanMs: 6 * HOUR, count: 40, idPrefix: 'b' }),
    ]);
    await warehouse.insert('data_quality', [
      quality('age', 'missing', 6, 270, 0.05, false),
      quality('age', 'out_of_range', 27, 270, 0.05, true),
      quality('region', 'unseen_category', 0, 270, 0.05, false),
      quality('income', 'type_violation', 2, 270, 0, true),
      quality('__requests__', 'refused:REQUEST.INVALID_INPUT', 25, 300, null, false),
      quality('__requests__', 'refused:AUTH.REQUIRED', 5, 300, null, false),
    ]);
    await warehouse.insert('feature_attributions', [
      attribution('age', 0.6, 0.3, true),
      attribution('income', 1.2, 1.5, true),
      attribution('region', 0.2, 0.2, false),
      { ...attribution('__dataset__', 0, 0, true), method: 'ndcg', value: 0.82, threshold: 0.9, ...nullShares },
    ]);
    await warehouse.insert('fairness_metrics', [
      ...groupRows(),
      { ...fairness('__all__', 'demographic_parity_difference', 0.2, { predictions: 270, labelled: 170 }), threshold: 0.1, flagged: true },
      { ...fairness('__all__', 'disparate_impact_ratio', 0.6, { predictions: 270, labelled: 170 }), threshold: 0.8, flagged: true },
      { ...fairness('__all__', 'equalized_odds_difference', 0.2, { predictions: 270, labelled: 170 }), threshold: 0.1, flagged: true },
    ]);
    await warehouse.insert('service_health', [
      { model: 'bare', version: 1, predictions: 40, online_predictions: 40, batch_predictions: 0, error_rate: 0, ...window },
    ]);
    api = await serveMonitoringApi(warehouse, folder);
  }, 60_000);

  afterAll(async () => {
    api?.stop();
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('finds the latest window from the new tables alone, and reads data quality with crossed checks first and refusals by count', async () => {
    const [report] = await latestMonitoring(warehouse, 'loans', { clock });
    expect(report).toMatchObject({ version: 3, windowStart: window.window_start, windowEnd: window.window_end });
    expect(report?.quality?.checks.map((check) => `${check.feature}/${check.check}/${check.crossed}`)).toEqual([
      'age/out_of_range/true',
      'income/type_violation/true',
      'age/missing/false',
      'region/unseen_category/false',
    ]);
    expect(report?.quality?.checks[0]).toEqual({
      feature: 'age',
      check: 'out_of_range',
      value: 0.1,
      failing: 27,
      rows: 270,
      threshold: 0.05,
      crossed: true,
      reference_size: 500,
    });
    expect(report?.quality?.refused).toEqual([
      { code: 'REQUEST.INVALID_INPUT', count: 25, share: 25 / 300 },
      { code: 'AUTH.REQUIRED', count: 5, share: 5 / 300 },
    ]);
    expect(report?.quality?.requests).toBe(300);
  });

  it('reads feature importance by current share, with the ranking agreement apart', async () => {
    const [report] = await latestMonitoring(warehouse, 'loans', { clock });
    expect(report?.importance?.features.map((row) => [row.feature, row.current_share, row.drifted])).toEqual([
      ['income', 0.75, true],
      ['age', 0.15, true],
      ['region', 0.1, false],
    ]);
    expect(report?.importance?.ndcg).toEqual({ value: 0.82, threshold: 0.9, drifted: true });
  });

  it('reads fairness per group, largest first, marking the too-small group, and the comparisons with their thresholds', async () => {
    const [report] = await latestMonitoring(warehouse, 'loans', { clock });
    expect(report?.fairness).toHaveLength(1);
    const [sex] = report!.fairness;
    expect(sex?.groups.map((group) => group.group)).toEqual(['M', 'F', 'X']);
    expect(sex?.groups[1]).toEqual({
      group: 'F',
      predictions: 120,
      labelled: 80,
      metrics: { accuracy: 0.8, false_positive_rate: 0.1, selection_rate: 0.3, true_positive_rate: 0.7 },
      tooSmall: [],
    });
    expect(sex?.groups[2]?.tooSmall.sort()).toEqual(['accuracy', 'false_positive_rate', 'selection_rate', 'true_positive_rate']);
    expect(sex?.comparisons.map((comparison) => [comparison.metric, comparison.value, comparison.threshold, comparison.flagged])).toEqual([
      ['demographic_parity_difference', 0.2, 0.1, true],
      ['disparate_impact_ratio', 0.6, 0.8, true],
      ['equalized_odds_difference', 0.2, 0.1, true],
    ]);
    expect(report?.waiting.map((waiting) => waiting.part)).not.toContain('quality');
    expect(report?.waiting.map((waiting) => waiting.part)).not.toContain('fairness');
  });

  it('says why each of the three parts waits for a version with predictions and none of their rows', async () => {
    const [report] = await latestMonitoring(warehouse, 'bare', { clock });
    expect(report).toMatchObject({ quality: null, importance: null, fairness: [] });
    expect(reasonOf(report, 'quality')).toBe(
      'no data quality checks in this window: "mlops drift run --model bare" checks every feature and lists each skipped one with its reason',
    );
    // Its first prediction is two hours into the window: drift's reference (the launch window) is not over.
    expect(reasonOf(report, 'importance')).toBe(
      'no reference yet to compare feature importance with: it is measured against the reference drift uses (see "waiting: drift")',
    );
    expect(reasonOf(report, 'fairness')).toBe(
      'not measured: fairness is measured for a version tagged fairness.attribute=<feature> (a feature of the requests, or an attribute sent with ground truth), ' +
        'e.g. "mlops upload <file.onnx> --name bare --tag fairness.attribute=<feature>", then "mlops drift run --model bare"',
    );
  });

  it('prints the three sections, and why each waits', async () => {
    const result = await mlops('drift', 'report', 'loans');
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toContain('\ndata quality: 2 of 4 checks crossed their threshold\n');
    expect(out).toMatch(
      /\nFEATURE +CHECK +SHARE +FAILING +THRESHOLD +STATUS\nage +out_of_range +0\.1000 +27\/270 +0\.05 +CROSSED\nincome +type_violation +0\.0074 +2\/270 +0 +CROSSED\n/,
    );
    expect(out).toContain('\nrefused requests: 30 of 300 (REQUEST.INVALID_INPUT 25 (8.33%), AUTH.REQUIRED 5 (1.67%))\n');
    expect(out).toContain(
      '\nfeature importance, 200 window predictions explained against 100 reference rows; ranking agreement nDCG 0.8200 (threshold 0.9) DRIFT\n',
    );
    expect(out).toMatch(/\nincome +linear +0\.6000 +0\.7500 +0\.1500 +0\.1 +DRIFT\n/);
    expect(out).toContain('\nfairness by sex:\n');
    expect(out).toMatch(
      /\nGROUP +PREDICTIONS +LABELLED +SELECTION_RATE +ACCURACY +TRUE_POSITIVE_RATE +FALSE_POSITIVE_RATE\nM +150 +90 +0\.5000 +0\.8500 +0\.9000 +0\.2000\n/,
    );
    expect(out).toMatch(/\nX +4 +2 +too small +too small +too small +too small\n/);
    expect(out).toContain(
      '\n  across groups: demographic_parity_difference 0.2000 (threshold 0.1) FLAGGED, disparate_impact_ratio 0.6000 (threshold 0.8) FLAGGED, ' +
        'equalized_odds_difference 0.2000 (threshold 0.1) FLAGGED\n',
    );
    const bare = await mlops('drift', 'report', 'bare');
    expect(bare.stdout).not.toContain('data quality:');
    expect(bare.stdout).toContain('\nwaiting: quality: no data quality checks in this window: ');
    expect(bare.stdout).toContain('\nwaiting: importance: no reference yet to compare feature importance with');
    expect(bare.stdout).toContain('\nwaiting: fairness: not measured: ');
  });

  it('includes the three sections in --json', async () => {
    const result = await mlops('drift', 'report', 'loans', '--json');
    expect(result.code, result.stderr).toBe(0);
    const [report] = (JSON.parse(result.stdout) as { versions: VersionReport[] }).versions;
    expect(report?.quality?.checks).toHaveLength(4);
    expect(report?.importance?.ndcg?.value).toBe(0.82);
    expect(report?.fairness[0]?.comparisons).toHaveLength(3);
  });
});
