import { isMonitorableKey } from '../../../shared/domain/drift/sql-dialect.js';
import { type ModelVersion, taskOf } from '../../../shared/domain/registry.js';
import type { Warehouse } from '../../../shared/ports/warehouse.port.js';

// The dashboard runs inside the local runner, so these queries speak DuckDB's SQL; on Google Cloud
// the Grafana dashboards of infra/grafana/ read BigQuery instead.

/** Bucket widths a time series may use, in milliseconds: the smallest giving at most ~60 buckets wins. */
const BUCKET_SIZES_MS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400, 604_800].map((seconds) => seconds * 1000);
const TARGET_BUCKETS = 60;

/** A bucket width for a time span, so a 30-second demo and a month of traffic both chart well. */
export function bucketSizeFor(spanMs: number): number {
  return BUCKET_SIZES_MS.find((size) => spanMs / size <= TARGET_BUCKETS) ?? BUCKET_SIZES_MS.at(-1)!;
}

/** Predictions of one bucket, version and source, with latency quantiles. */
export interface TrafficPoint {
  t: number;
  version: number;
  source: string;
  count: number;
  p50: number | null;
  p95: number | null;
}

/** Accuracy (labels) or mean absolute error (values) of the predictions of one bucket and version that have ground truth. */
export interface PerformancePoint {
  t: number;
  version: number;
  labelled: number;
  correct: number;
  accuracy: number | null;
  mae: number | null;
}

/** One drift_metrics row as the page charts it. */
export interface DriftPoint {
  version: number;
  feature: string;
  method: string;
  value: number;
  threshold: number;
  drifted: boolean;
  windowStart: string;
  windowEnd: string;
  referenceSize: number;
  currentSize: number;
}

/** Counts that say whether the log caught everything: predictions and ground truth per version. */
export interface VersionTotals {
  version: number;
  predictions: number;
  online: number;
  labelled: number;
  correct: number;
  accuracy: number | null;
}

/** SQL reading each version's predicted label and regression value out of `p.outputs`, by the roles of its task. */
export interface PredictedColumns {
  label: string;
  value: string;
}

/** The predicted label and value of every version, whatever its converter named them (`output_label`, `label`, `variable`, …). */
export function predictedColumns(versions: readonly Pick<ModelVersion, 'version' | 'signature' | 'tags' | 'task'>[]): PredictedColumns {
  const byVersion = (pick: (version: (typeof versions)[number]) => string | undefined, cast: (path: string) => string) => {
    const cases = versions.flatMap((version) => {
      const output = pick(version);
      return output !== undefined && isMonitorableKey(output)
        ? [`WHEN ${Number(version.version)} THEN ${cast(`json_extract_string(p.outputs, '$."${output}"')`)}`]
        : [];
    });
    return cases.length > 0 ? `CASE p.version ${cases.join(' ')} END` : 'NULL';
  };
  return {
    label: byVersion(
      (version) => taskOf(version).label,
      (text) => text,
    ),
    value: byVersion(
      (version) => (taskOf(version).kind === 'regression' ? taskOf(version).score : undefined),
      (text) => `TRY_CAST(${text} AS DOUBLE)`,
    ),
  };
}

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

const bucketOf = (column: string, bucketMs: number) => `CAST(floor(epoch_ms(${column}) / ${bucketMs}) AS BIGINT) * ${bucketMs}`;

async function spanOf(warehouse: Warehouse, model: string): Promise<number> {
  const [row] = await warehouse.query<{ span: number | null }>(
    'SELECT epoch_ms(MAX(request_time)) - epoch_ms(MIN(request_time)) AS span FROM {{predictions}} WHERE model = @model',
    { model },
  );
  return Number(row?.span ?? 0);
}

/** Prediction volume and latency (p50, p95 of the request's inference time) over time. */
export async function trafficSeries(warehouse: Warehouse, model: string): Promise<{ bucketMs: number; points: TrafficPoint[] }> {
  const bucketMs = bucketSizeFor(await spanOf(warehouse, model));
  const rows = await warehouse.query(
    `SELECT ${bucketOf('request_time', bucketMs)} AS t, version, source, COUNT(*) AS count,
       quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95
     FROM {{predictions}} WHERE model = @model GROUP BY ALL ORDER BY t, version, source`,
    { model },
  );
  return {
    bucketMs,
    points: rows.map((row) => ({
      t: Number(row.t),
      version: Number(row.version),
      source: String(row.source),
      count: Number(row.count),
      p50: nullableNumber(row.p50),
      p95: nullableNumber(row.p95),
    })),
  };
}

/** Accuracy against ground truth, by the time the predictions were made. */
export async function performanceSeries(
  warehouse: Warehouse,
  model: string,
  predicted: PredictedColumns,
): Promise<{ bucketMs: number; points: PerformancePoint[] }> {
  const bucketMs = bucketSizeFor(await spanOf(warehouse, model));
  const rows = await warehouse.query(
    `SELECT ${bucketOf('p.request_time', bucketMs)} AS t, p.version, COUNT(*) AS labelled,
       COUNT(*) FILTER (WHERE g.label IS NOT NULL AND ${predicted.label} = g.label) AS correct,
       COUNT(g.label) AS with_label,
       AVG(abs(g.value - ${predicted.value})) AS mae
     FROM {{ground_truth}} g JOIN {{predictions}} p USING (prediction_id)
     WHERE p.model = @model GROUP BY ALL ORDER BY t, p.version`,
    { model },
  );
  return {
    bucketMs,
    points: rows.map((row) => {
      const withLabel = Number(row.with_label);
      return {
        t: Number(row.t),
        version: Number(row.version),
        labelled: Number(row.labelled),
        correct: Number(row.correct),
        accuracy: withLabel > 0 ? Number(row.correct) / withLabel : null,
        mae: nullableNumber(row.mae),
      };
    }),
  };
}

/** Every drift statistic computed for the model, oldest window first (the latest 5000). */
export async function driftSeries(warehouse: Warehouse, model: string): Promise<DriftPoint[]> {
  const rows = await warehouse.query(
    `SELECT * FROM (SELECT version, feature, method, value, threshold, drifted, window_start, window_end, reference_size, current_size
       FROM {{drift_metrics}} WHERE model = @model ORDER BY window_end DESC LIMIT 5000) ORDER BY window_end, feature, method`,
    { model },
  );
  return rows.map((row) => ({
    version: Number(row.version),
    feature: String(row.feature),
    method: String(row.method),
    value: Number(row.value),
    threshold: Number(row.threshold),
    drifted: Boolean(row.drifted),
    windowStart: String(row.window_start),
    windowEnd: String(row.window_end),
    referenceSize: Number(row.reference_size),
    currentSize: Number(row.current_size),
  }));
}

/** Predictions and ground truth per version, straight from the warehouse. */
export async function versionTotals(warehouse: Warehouse, model: string, predicted: PredictedColumns): Promise<VersionTotals[]> {
  const rows = await warehouse.query(
    `SELECT p.version, COUNT(*) AS predictions, COUNT(*) FILTER (WHERE p.source = 'online') AS online,
       COUNT(g.label) AS labelled,
       COUNT(*) FILTER (WHERE g.label IS NOT NULL AND ${predicted.label} = g.label) AS correct
     FROM {{predictions}} p LEFT JOIN {{ground_truth}} g USING (prediction_id)
     WHERE p.model = @model GROUP BY p.version ORDER BY p.version`,
    { model },
  );
  return rows.map((row) => {
    const labelled = Number(row.labelled);
    const correct = Number(row.correct);
    return {
      version: Number(row.version),
      predictions: Number(row.predictions),
      online: Number(row.online),
      labelled,
      correct,
      accuracy: labelled > 0 ? correct / labelled : null,
    };
  });
}
