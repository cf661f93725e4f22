import { type Clock, systemClock } from '../ports/clock.port.js';
import type { Row, Warehouse } from '../ports/warehouse.port.js';

/** A part of a version's report that can be empty while it waits for data. */
export type MonitoredPart = 'drift' | 'output_drift' | 'performance' | 'health' | 'quality' | 'importance' | 'fairness';

/** Why a part of the report is empty, in words that say what to do about it. */
export interface WaitingPart {
  part: MonitoredPart;
  reason: string;
}

/**
 * The latest monitored window of one version: drift per feature, performance, health, data quality,
 * feature importance, fairness and open alerts,
 * each empty (`[]`, `{}`, `null`) until it has data, and for every empty part why it is waiting.
 */
export interface VersionReport {
  version: number;
  windowStart: string;
  windowEnd: string;
  computedAt: string;
  drift: {
    feature: string;
    method: string;
    value: number;
    threshold: number;
    drifted: boolean;
    reference_size: number;
    current_size: number;
  }[];
  performance: Record<string, number>;
  labelled: number | null;
  health: Row | null;
  quality: QualityReport | null;
  importance: ImportanceReport | null;
  fairness: FairnessReport[];
  openAlerts: { feature: string; opened_at: string; method: string; value: number }[];
  waiting: WaitingPart[];
}

/** One data quality check of a feature in the window (a data_quality row). */
export interface QualityCheck {
  feature: string;
  check: string;
  value: number;
  failing: number;
  rows: number;
  threshold: number | null;
  crossed: boolean;
  reference_size: number;
}

/** Data quality of the window: every feature's checks, crossed ones first, and the refused requests by error code. */
export interface QualityReport {
  checks: QualityCheck[];
  /** Refused requests per error code, most first; `share` is of all the window's requests. */
  refused: { code: string; count: number; share: number }[];
  /** The window's requests, refused ones included; null when none was refused (the table then holds no count). */
  requests: number | null;
}

/** Feature importance of the window against the reference (feature_attributions rows), most important first. */
export interface ImportanceReport {
  features: {
    feature: string;
    method: string;
    reference_importance: number | null;
    current_importance: number | null;
    reference_share: number | null;
    current_share: number | null;
    value: number;
    threshold: number;
    drifted: boolean;
    reference_size: number;
    current_size: number;
  }[];
  /** How well the window's ranking agrees with the reference's (nDCG), drifted below its threshold; null when not measured. */
  ndcg: { value: number; threshold: number; drifted: boolean } | null;
}

/** Fairness of the window for one sensitive attribute: per group, then the comparisons across groups. */
export interface FairnessReport {
  attribute: string;
  /** Per group: its metrics by name (null when too small or without a denominator) and which of them were too small to report. */
  groups: { group: string; predictions: number; labelled: number; metrics: Record<string, number | null>; tooSmall: string[] }[];
  /** Comparisons across the groups large enough (value null with fewer than two), flagged when a threshold is crossed. */
  comparisons: { metric: string; value: number | null; threshold: number | null; flagged: boolean; predictions: number; labelled: number }[];
}

/** What the report reads besides the warehouse. */
export interface LatestMonitoringOptions {
  /** Says whether the reference window has ended yet. */
  clock?: Clock;
}

// A monitoring run writes performance and health for every window, drift and importance only once
// there is a reference, fairness only for a tagged version: the latest window per version is the
// latest of any of them (latest end, then start).
const LATEST_WINDOWS = `SELECT version, window_start, window_end, MAX(computed_at) AS computed_at FROM (
SELECT version, window_start, window_end, computed_at FROM {{drift_metrics}} WHERE model = @model
UNION ALL SELECT version, window_start, window_end, computed_at FROM {{model_performance}} WHERE model = @model
UNION ALL SELECT version, window_start, window_end, computed_at FROM {{service_health}} WHERE model = @model
UNION ALL SELECT version, window_start, window_end, computed_at FROM {{data_quality}} WHERE model = @model
UNION ALL SELECT version, window_start, window_end, computed_at FROM {{feature_attributions}} WHERE model = @model
UNION ALL SELECT version, window_start, window_end, computed_at FROM {{fairness_metrics}} WHERE model = @model
) AS monitored GROUP BY version, window_start, window_end
QUALIFY DENSE_RANK() OVER (PARTITION BY version ORDER BY window_end DESC, window_start DESC) = 1
ORDER BY version DESC`;

const inWindow = 'model = @model AND version = @version AND window_start = @start AND window_end = @end';
const predictionsInWindow = 'request_time >= @start AND request_time < @end';

const OUTPUT_PREFIX = 'outputs.';

/** One version's window, as the queries bind it. */
type WindowParams = {
  model: string;
  version: number;
  start: Date;
  end: Date;
};

/** Reads the latest monitored window of every version of a model, newest version first, saying what each empty part waits for. */
export async function latestMonitoring(warehouse: Warehouse, model: string, { clock = systemClock }: LatestMonitoringOptions = {}): Promise<VersionReport[]> {
  const windows = await warehouse.query(LATEST_WINDOWS, { model });
  const alerts = await warehouse.query(
    "SELECT version, feature, opened_at, method, value FROM {{drift_alerts}} WHERE model = @model AND status = 'open' ORDER BY feature",
    { model },
  );
  return Promise.all(
    windows.map(async (window) => {
      const params = { model, version: Number(window.version), start: new Date(String(window.window_start)), end: new Date(String(window.window_end)) };
      const report = await versionReport(warehouse, params, clock.now());
      const openAlerts = alerts.filter((alert) => Number(alert.version) === params.version).map(({ version: _, ...alert }) => alert);
      return { ...report, computedAt: String(window.computed_at), openAlerts: openAlerts as VersionReport['openAlerts'] };
    }),
  );
}

async function versionReport(warehouse: Warehouse, params: WindowParams, now: Date): Promise<Omit<VersionReport, 'computedAt' | 'openAlerts'>> {
  const drift = await warehouse.query(
    `SELECT feature, method, value, threshold, drifted, reference_size, current_size FROM {{drift_metrics}} WHERE ${inWindow} ORDER BY feature, method`,
    params,
  );
  const performance = await warehouse.query(`SELECT metric, value, labelled, predictions FROM {{model_performance}} WHERE ${inWindow} ORDER BY metric`, params);
  const [health] = await warehouse.query(
    `SELECT predictions, online_predictions, batch_predictions, latency_p50_ms, latency_p95_ms, latency_p99_ms, error_rate FROM {{service_health}} WHERE ${inWindow}`,
    params,
  );
  const report = {
    version: params.version,
    windowStart: params.start.toISOString(),
    windowEnd: params.end.toISOString(),
    drift: drift as VersionReport['drift'],
    performance: Object.fromEntries(performance.map((row) => [String(row.metric), Number(row.value)])),
    labelled: performance.length > 0 ? Number(performance[0]!.labelled) : null,
    health: health ?? null,
    quality: await qualityReport(warehouse, params),
    importance: await importanceReport(warehouse, params),
    fairness: await fairnessReport(warehouse, params),
  };
  return { ...report, waiting: waitingParts(await windowFacts(warehouse, params, report, now)) };
}

/** Rows of one window's data quality, feature importance and fairness: their tables' special features and groups. */
const REQUESTS_FEATURE = '__requests__';
const REFUSED_PREFIX = 'refused:';
const DATASET_FEATURE = '__dataset__';
const ALL_GROUPS = '__all__';

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** The window's data quality checks, crossed ones first, and its refused requests; null when the run wrote none. */
async function qualityReport(warehouse: Warehouse, params: WindowParams): Promise<QualityReport | null> {
  // SELECT *: "check" is a reserved word in DuckDB and "rows" one in BigQuery, which quote names differently.
  const rows = await warehouse.query(`SELECT * FROM {{data_quality}} WHERE ${inWindow}`, params);
  if (rows.length === 0) return null;
  const refusals = rows.filter((row) => row.feature === REQUESTS_FEATURE && String(row.check).startsWith(REFUSED_PREFIX));
  return {
    checks: rows
      .filter((row) => row.feature !== REQUESTS_FEATURE)
      .map(qualityCheck)
      .sort(crossedFirst),
    refused: refusals
      .map((row) => ({ code: String(row.check).slice(REFUSED_PREFIX.length), count: Number(row.failing), share: Number(row.value) }))
      .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
    requests: refusals.length > 0 ? Number(refusals[0]!.rows) : null,
  };
}

/** One data_quality row as the report shows it. */
export function qualityCheck(row: Row): QualityCheck {
  return {
    feature: String(row.feature),
    check: String(row.check),
    value: Number(row.value),
    failing: Number(row.failing),
    rows: Number(row.rows),
    threshold: numberOrNull(row.threshold),
    crossed: row.crossed === true,
    reference_size: Number(row.reference_size),
  };
}

const crossedFirst = (a: QualityCheck, b: QualityCheck): number =>
  Number(b.crossed) - Number(a.crossed) || a.feature.localeCompare(b.feature) || a.check.localeCompare(b.check);

/** The window's feature importance, largest current share first, and the ranking agreement; null when the run wrote none. */
async function importanceReport(warehouse: Warehouse, params: WindowParams): Promise<ImportanceReport | null> {
  const rows = await warehouse.query(
    'SELECT feature, method, reference_importance, current_importance, reference_share, current_share, value, threshold, drifted, reference_size, current_size ' +
      `FROM {{feature_attributions}} WHERE ${inWindow}`,
    params,
  );
  if (rows.length === 0) return null;
  const dataset = rows.find((row) => row.feature === DATASET_FEATURE);
  const features = rows.filter((row) => row !== dataset).map(importanceRow);
  features.sort((a, b) => (b.current_share ?? -1) - (a.current_share ?? -1) || a.feature.localeCompare(b.feature));
  return { features, ndcg: dataset ? { value: Number(dataset.value), threshold: Number(dataset.threshold), drifted: dataset.drifted === true } : null };
}

function importanceRow(row: Row): ImportanceReport['features'][number] {
  return {
    feature: String(row.feature),
    method: String(row.method),
    reference_importance: numberOrNull(row.reference_importance),
    current_importance: numberOrNull(row.current_importance),
    reference_share: numberOrNull(row.reference_share),
    current_share: numberOrNull(row.current_share),
    value: Number(row.value),
    threshold: Number(row.threshold),
    drifted: row.drifted === true,
    reference_size: Number(row.reference_size),
    current_size: Number(row.current_size),
  };
}

/** The window's fairness per attribute: groups with most predictions first, then the comparisons across them. */
async function fairnessReport(warehouse: Warehouse, params: WindowParams): Promise<FairnessReport[]> {
  const rows = await warehouse.query(
    'SELECT attribute, group_value, metric, value, predictions, labelled, threshold, flagged, too_small ' +
      `FROM {{fairness_metrics}} WHERE ${inWindow} ORDER BY attribute, group_value, metric`,
    params,
  );
  const attributes = [...new Set(rows.map((row) => String(row.attribute)))];
  return attributes.map((attribute) =>
    attributeFairness(
      attribute,
      rows.filter((row) => row.attribute === attribute),
    ),
  );
}

function attributeFairness(attribute: string, rows: Row[]): FairnessReport {
  const groups = new Map<string, FairnessReport['groups'][number]>();
  for (const row of rows.filter((row) => row.group_value !== ALL_GROUPS)) {
    const group = String(row.group_value);
    const entry = groups.get(group) ?? { group, predictions: Number(row.predictions), labelled: Number(row.labelled), metrics: {}, tooSmall: [] };
    entry.metrics[String(row.metric)] = numberOrNull(row.value);
    if (row.too_small === true) entry.tooSmall.push(String(row.metric));
    groups.set(group, entry);
  }
  const comparisons = rows
    .filter((row) => row.group_value === ALL_GROUPS)
    .map((row) => ({
      metric: String(row.metric),
      value: numberOrNull(row.value),
      threshold: numberOrNull(row.threshold),
      flagged: row.flagged === true,
      predictions: Number(row.predictions),
      labelled: Number(row.labelled),
    }));
  return { attribute, groups: [...groups.values()].sort((a, b) => b.predictions - a.predictions || a.group.localeCompare(b.group)), comparisons };
}

/** What the waiting reasons are worked out from: the window, its predictions and what the run wrote. */
interface WindowFacts extends WindowParams {
  now: Date;
  firstPrediction: Date | null;
  predictions: number;
  labelled: number;
  /** Ground truth of the window's predictions in the warehouse now, counted only when the run found none. */
  groundTruthSince: number;
  inputDrift: boolean;
  outputDrift: boolean;
  comparedWithGroundTruth: boolean;
  quality: boolean;
  importance: boolean;
  fairness: boolean;
}

async function windowFacts(
  warehouse: Warehouse,
  params: WindowParams,
  report: Pick<VersionReport, 'drift' | 'performance' | 'labelled' | 'health' | 'quality' | 'importance' | 'fairness'>,
  now: Date,
): Promise<WindowFacts> {
  const [counts] = await warehouse.query(
    `SELECT MIN(request_time) AS first_prediction, SUM(CASE WHEN ${predictionsInWindow} THEN 1 ELSE 0 END) AS predictions ` +
      'FROM {{predictions}} WHERE model = @model AND version = @version',
    params,
  );
  const predictions = Number(report.health?.predictions ?? counts?.predictions ?? 0);
  const labelled = report.labelled ?? 0;
  return {
    ...params,
    now,
    firstPrediction: counts?.first_prediction ? new Date(String(counts.first_prediction)) : null,
    predictions,
    labelled,
    groundTruthSince: predictions > 0 && labelled === 0 ? await groundTruthCount(warehouse, params) : 0,
    inputDrift: report.drift.some((row) => !row.feature.startsWith(OUTPUT_PREFIX)),
    outputDrift: report.drift.some((row) => row.feature.startsWith(OUTPUT_PREFIX)),
    comparedWithGroundTruth: Object.keys(report.performance).some((metric) => metric !== 'labelled_share'),
    quality: report.quality !== null,
    importance: report.importance !== null,
    fairness: report.fairness.length > 0,
  };
}

/** The window's predictions that have ground truth now (joined by prediction id, as the monitoring run joins them). */
async function groundTruthCount(warehouse: Warehouse, params: WindowParams): Promise<number> {
  const [row] = await warehouse.query(
    'SELECT COUNT(DISTINCT p.prediction_id) AS labelled FROM {{predictions}} AS p JOIN {{ground_truth}} AS g ON g.prediction_id = p.prediction_id ' +
      'WHERE p.model = @model AND p.version = @version AND p.request_time >= @start AND p.request_time < @end AND g.observed_time >= @start',
    params,
  );
  return Number(row?.labelled ?? 0);
}

/** Why each empty part of a window is empty; an empty list when every part has data. */
function waitingParts(facts: WindowFacts): WaitingPart[] {
  const waiting: [MonitoredPart, string | undefined][] = [
    ['drift', facts.inputDrift ? undefined : driftReason(facts)],
    ['output_drift', facts.outputDrift ? undefined : outputDriftReason(facts)],
    ['performance', facts.comparedWithGroundTruth ? undefined : performanceReason(facts)],
    ['health', facts.predictions > 0 ? undefined : `no predictions of v${facts.version} in the window: ${howToPredict(facts.model)}`],
    ['quality', facts.quality ? undefined : qualityReason(facts)],
    ['importance', facts.importance ? undefined : importanceReason(facts)],
    ['fairness', facts.fairness ? undefined : fairnessReason(facts)],
  ];
  return waiting.filter((entry): entry is [MonitoredPart, string] => entry[1] !== undefined).map(([part, reason]) => ({ part, reason }));
}

const howToPredict = (model: string) => `send requests to the model's endpoint, or score a dataset with "mlops score <dataset> --model ${model}"`;
const rerun = (model: string) => `"mlops drift run --model ${model}"`;

/** The end of the first full window after the version's first prediction, when it ends after this window. */
function launchWindowEnd(facts: WindowFacts): Date | undefined {
  if (!facts.firstPrediction) return undefined;
  const end = new Date(facts.firstPrediction.getTime() + (facts.end.getTime() - facts.start.getTime()));
  return end > facts.end ? end : undefined;
}

/** When the launch window ends, or that it ended after this window and a new run compares with it. */
function launchWindowWhen(facts: WindowFacts, end: Date): string {
  return end > facts.now ? `ends at ${end.toISOString()}` : `ended at ${end.toISOString()}, after this window: run ${rerun(facts.model)} to compare with it`;
}

function driftReason(facts: WindowFacts): string {
  if (facts.predictions === 0) return 'no predictions in the window to compare with a reference';
  const launchEnd = launchWindowEnd(facts);
  if (!launchEnd) return `no input feature could be compared in this window: ${rerun(facts.model)} lists each skipped feature with its reason`;
  const noReference =
    `no reference yet: v${facts.version} has no offline_features dataset to compare with (none given at upload, or it holds no rows), ` +
    `and the first full window after its first prediction (${facts.firstPrediction!.toISOString()}) ${launchWindowWhen(facts, launchEnd)}`;
  if (launchEnd <= facts.now) return noReference;
  return (
    `${noReference}; to compare sooner, load the training features with "mlops features load <file> --dataset <id>" ` +
    `(and upload the model with "mlops upload <file.onnx> --name ${facts.model} --dataset <id>" if this version was registered without one), ` +
    `then run ${rerun(facts.model)}`
  );
}

function outputDriftReason(facts: WindowFacts): string {
  if (facts.predictions === 0) return 'no predictions in the window to compare with the first full window after launch';
  const launchEnd = launchWindowEnd(facts);
  if (!launchEnd) return `no model output could be compared in this window: ${rerun(facts.model)} lists each skipped output with its reason`;
  return `model outputs are compared with the first full window after the first prediction, which ${launchWindowWhen(facts, launchEnd)}`;
}

function performanceReason(facts: WindowFacts): string {
  if (facts.predictions === 0) return 'no predictions in the window to compare with ground truth';
  if (facts.labelled > 0)
    return `ground truth arrived for ${facts.labelled} of the window's ${facts.predictions} predictions, but the model's outputs have no label or value to compare with ground truth`;
  if (facts.groundTruthSince > 0) {
    const hours = (facts.end.getTime() - facts.start.getTime()) / 3_600_000;
    return (
      `ground truth for ${facts.groundTruthSince} of the window's ${facts.predictions} predictions arrived after the window was measured: ` +
      `run "mlops drift run --model ${facts.model} --window-hours ${hours} --window-end ${facts.end.toISOString()}" to measure it`
    );
  }
  return (
    `no ground truth for this window's ${facts.predictions} predictions: send the observed outcomes with "mlops ground-truth <file>" ` +
    '(.csv with id and label or value columns, or .jsonl); ground truth is joined to predictions by prediction id'
  );
}

function qualityReason(facts: WindowFacts): string {
  if (facts.predictions === 0) return 'no predictions in the window to check';
  return `no data quality checks in this window: ${rerun(facts.model)} checks every feature and lists each skipped one with its reason`;
}

function importanceReason(facts: WindowFacts): string {
  if (facts.predictions === 0) return 'no predictions in the window to explain';
  if (!facts.inputDrift && launchWindowEnd(facts))
    return `no reference yet to compare feature importance with: it is measured against the reference drift uses (see "waiting: drift")`;
  return `no feature importance in this window: ${rerun(facts.model)} explains a sample of its predictions and says why when it cannot`;
}

function fairnessReason(facts: WindowFacts): string {
  if (facts.predictions === 0) return 'no predictions in the window to compare across groups';
  return (
    `not measured: fairness is measured for a version tagged fairness.attribute=<feature> (a feature of the requests, or an attribute sent with ground truth), ` +
    `e.g. "mlops upload <file.onnx> --name ${facts.model} --tag fairness.attribute=<feature>", then ${rerun(facts.model)}`
  );
}
