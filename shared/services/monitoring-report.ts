import { type Clock, systemClock } from '../ports/clock.port.js';
import type { Row, Warehouse } from '../ports/warehouse.port.js';

/** A part of a version's report that can be empty while it waits for data. */
export type MonitoredPart = 'drift' | 'output_drift' | 'performance' | 'health';

/** Why a part of the report is empty, in words that say what to do about it. */
export interface WaitingPart {
  part: MonitoredPart;
  reason: string;
}

/**
 * The latest monitored window of one version: drift per feature, performance, health and open alerts,
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
  openAlerts: { feature: string; opened_at: string; method: string; value: number }[];
  waiting: WaitingPart[];
}

/** What the report reads besides the warehouse. */
export interface LatestMonitoringOptions {
  /** Says whether the reference window has ended yet. */
  clock?: Clock;
}

// A monitoring run writes performance and health for every window, drift only once there is a
// reference: the latest window per version is the latest of any of the three (latest end, then start).
const LATEST_WINDOWS = `SELECT version, window_start, window_end, MAX(computed_at) AS computed_at FROM (
SELECT version, window_start, window_end, computed_at FROM {{drift_metrics}} WHERE model = @model
UNION ALL SELECT version, window_start, window_end, computed_at FROM {{model_performance}} WHERE model = @model
UNION ALL SELECT version, window_start, window_end, computed_at FROM {{service_health}} WHERE model = @model
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
  };
  return { ...report, waiting: waitingParts(await windowFacts(warehouse, params, report, now)) };
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
}

async function windowFacts(
  warehouse: Warehouse,
  params: WindowParams,
  report: Pick<VersionReport, 'drift' | 'performance' | 'labelled' | 'health'>,
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
