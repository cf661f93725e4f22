import { DATASET_FEATURE } from '../domain/drift/drift-result.js';
import { PlatformError } from '../domain/errors.js';
import type { Model, ModelVersion } from '../domain/registry.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { Row, Warehouse } from '../ports/warehouse.port.js';
import { type QualityCheck, qualityCheck } from './monitoring-report.js';

/** One monitored window of a model: its start (inclusive) and end (exclusive). */
export interface ReportWindow {
  start: Date;
  end: Date;
}

/** A version the report covers: what the registry says about it. */
export interface ReportedVersion {
  version: number;
  aliases: string[];
  status: string;
  createdAt: string;
  datasetId: string | null;
  artifactUri: string;
}

/** What a monitoring run wrote for one version over the window. */
export interface VersionWindow {
  version: number;
  computedAt: string | null;
  drift: { feature: string; method: string; value: number; threshold: number; drifted: boolean; referenceSize: number; currentSize: number }[];
  performance: { metric: string; value: number; labelled: number; predictions: number }[];
  health: {
    predictions: number;
    online: number;
    batch: number;
    p50: number | null;
    p95: number | null;
    p99: number | null;
    errorRate: number | null;
  } | null;
  quality: QualityCheck[];
  openAlerts: { feature: string; method: string; value: number; threshold: number; openedAt: string }[];
}

/** One earlier window of the same length, for the trend charts. */
export interface HistoryPoint {
  version: number;
  windowEnd: string;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  predictions: number;
  /** Share of input features drifted (the __dataset__ drift row); null without a reference. */
  driftShare: number | null;
  metrics: Record<string, number>;
}

/** Everything one model's report shows for one window. */
export interface ModelWindowReport {
  model: string;
  windowStart: string;
  windowEnd: string;
  versions: ReportedVersion[];
  windows: VersionWindow[];
  history: HistoryPoint[];
}

/** Windows of the same length the trend charts look back over, this one included. */
export const HISTORY_WINDOWS = 24;

const IN_WINDOW = 'model = @model AND window_start = @start AND window_end = @end';
const IN_HISTORY = 'model = @model AND window_end > @since AND window_end <= @end';

/** Reads what the monitoring runs wrote for a model over one window and the windows of the same length before it. */
export async function readWindowReport(warehouse: Warehouse, registry: ModelRegistry, model: string, window: ReportWindow): Promise<ModelWindowReport> {
  const found = await registry.getModel(model);
  if (!found) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${model}" to report on: "mlops models list" shows the registered ones.`);
  const params = { model, start: window.start, end: window.end };
  const windows = await versionWindows(warehouse, params);
  const numbers = new Set([...Object.values(found.aliases), ...windows.map((entry) => entry.version)]);
  const versions = await Promise.all([...numbers].sort((a, b) => b - a).map((version) => registry.getVersion(model, version)));
  return {
    model,
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
    versions: versions.filter((version): version is ModelVersion => version !== undefined).map((version) => reportedVersion(found, version)),
    windows,
    history: await historyOf(warehouse, params),
  };
}

function reportedVersion(model: Model, version: ModelVersion): ReportedVersion {
  return {
    version: version.version,
    aliases: Object.entries(model.aliases)
      .filter(([, number]) => number === version.version)
      .map(([alias]) => alias)
      .sort(),
    status: version.status,
    createdAt: version.createdAt,
    datasetId: version.lineage.datasetId ?? null,
    artifactUri: version.artifactUri,
  };
}

type WindowParams = { model: string; start: Date; end: Date };

const byVersion = (rows: Row[], version: number) => rows.filter((row) => Number(row.version) === version);
const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

async function versionWindows(warehouse: Warehouse, params: WindowParams): Promise<VersionWindow[]> {
  const [drift, performance, health, quality, alerts] = [
    await warehouse.query(`SELECT * FROM {{drift_metrics}} WHERE ${IN_WINDOW} ORDER BY feature, method`, params),
    await warehouse.query(`SELECT * FROM {{model_performance}} WHERE ${IN_WINDOW} ORDER BY metric`, params),
    await warehouse.query(`SELECT * FROM {{service_health}} WHERE ${IN_WINDOW}`, params),
    // SELECT *: "check" is a reserved word in DuckDB and "rows" one in BigQuery, which quote names differently.
    await warehouse.query(`SELECT * FROM {{data_quality}} WHERE ${IN_WINDOW}`, params),
    await warehouse.query("SELECT * FROM {{drift_alerts}} WHERE model = @model AND window_end = @end AND status = 'open' ORDER BY feature", params),
  ];
  const versions = [...new Set([...drift, ...performance, ...health, ...quality].map((row) => Number(row.version)))].sort((a, b) => b - a);
  return versions.map((version) => {
    const [healthRow] = byVersion(health, version);
    const computed = [...byVersion(drift, version), ...byVersion(health, version), ...byVersion(performance, version)].map((row) => String(row.computed_at));
    return {
      version,
      computedAt: computed.sort().at(-1) ?? null,
      drift: byVersion(drift, version).map((row) => ({
        feature: String(row.feature),
        method: String(row.method),
        value: Number(row.value),
        threshold: Number(row.threshold),
        drifted: row.drifted === true,
        referenceSize: Number(row.reference_size),
        currentSize: Number(row.current_size),
      })),
      performance: byVersion(performance, version).map((row) => ({
        metric: String(row.metric),
        value: Number(row.value),
        labelled: Number(row.labelled),
        predictions: Number(row.predictions),
      })),
      health: healthRow ? healthOf(healthRow) : null,
      quality: byVersion(quality, version)
        .map(qualityCheck)
        .sort((a, b) => Number(b.crossed) - Number(a.crossed) || a.feature.localeCompare(b.feature) || a.check.localeCompare(b.check)),
      openAlerts: byVersion(alerts, version).map((row) => ({
        feature: String(row.feature),
        method: String(row.method),
        value: Number(row.value),
        threshold: Number(row.threshold),
        openedAt: String(row.opened_at),
      })),
    };
  });
}

function healthOf(row: Row): NonNullable<VersionWindow['health']> {
  return {
    predictions: Number(row.predictions),
    online: Number(row.online_predictions),
    batch: Number(row.batch_predictions),
    p50: numberOrNull(row.latency_p50_ms),
    p95: numberOrNull(row.latency_p95_ms),
    p99: numberOrNull(row.latency_p99_ms),
    errorRate: numberOrNull(row.error_rate),
  };
}

/** Latency, drift share and metrics of the windows as long as this one that end in the last HISTORY_WINDOWS of them, oldest first. */
async function historyOf(warehouse: Warehouse, params: WindowParams): Promise<HistoryPoint[]> {
  const length = params.end.getTime() - params.start.getTime();
  const range = { ...params, since: new Date(params.end.getTime() - HISTORY_WINDOWS * length) };
  const sameLength = (row: Row) => new Date(String(row.window_end)).getTime() - new Date(String(row.window_start)).getTime() === length;
  const read = async (table: string, where = '', extra = {}) =>
    (await warehouse.query(`SELECT * FROM {{${table}}} WHERE ${IN_HISTORY}${where}`, { ...range, ...extra })).filter(sameLength);
  const health = await read('service_health');
  const drift = await read('drift_metrics', ' AND feature = @dataset', { dataset: DATASET_FEATURE });
  const performance = await read('model_performance');
  const key = (row: Row) => `${Number(row.version)}|${new Date(String(row.window_end)).toISOString()}`;
  return health
    .map((row): HistoryPoint => {
      const share = drift.find((candidate) => key(candidate) === key(row));
      const metrics = performance.filter((candidate) => key(candidate) === key(row)).map((candidate) => [String(candidate.metric), Number(candidate.value)]);
      return {
        version: Number(row.version),
        windowEnd: new Date(String(row.window_end)).toISOString(),
        p50: numberOrNull(row.latency_p50_ms),
        p95: numberOrNull(row.latency_p95_ms),
        p99: numberOrNull(row.latency_p99_ms),
        predictions: Number(row.predictions),
        driftShare: share ? Number(share.value) : null,
        metrics: Object.fromEntries(metrics),
      };
    })
    .sort((a, b) => a.windowEnd.localeCompare(b.windowEnd) || a.version - b.version);
}
