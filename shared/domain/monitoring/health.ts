import type { PredictionWindow, Query } from '../drift/drift-queries.js';
import type { MonitoringDialect } from '../drift/sql-dialect.js';

/**
 * Service health of a version in a window, from the predictions table: volume by source and the
 * latency percentiles of online predictions. The error rate has no source: serving logs only
 * successful predictions (HTTP errors are in Cloud Monitoring's run.googleapis.com/request_count).
 */

/** The latency percentiles reported. */
export const LATENCY_PERCENTILES = [0.5, 0.95, 0.99] as const;
/** Up to this many online predictions the percentiles are exact; beyond, t-digest (DuckDB) or APPROX_QUANTILES (BigQuery). */
export const EXACT_LATENCY_ROWS = 100_000;

const inWindow = 'model = @model AND version = @version AND request_time >= @start AND request_time < @end';
const windowParams = ({ model, version, start, end }: PredictionWindow) => ({ model, version, start, end });

/** Prediction counts by source. */
export function volumeQuery(window: PredictionWindow): Query {
  return {
    sql:
      "SELECT COUNT(*) AS predictions, SUM(CASE WHEN source = 'online' THEN 1 ELSE 0 END) AS online_predictions, " +
      "SUM(CASE WHEN source = 'batch' THEN 1 ELSE 0 END) AS batch_predictions, " +
      `SUM(CASE WHEN source = 'online' AND latency_ms IS NOT NULL THEN 1 ELSE 0 END) AS timed FROM {{predictions}} WHERE ${inWindow}`,
    params: windowParams(window),
  };
}

/** p50, p95 and p99 of online latency. */
export function latencyQuery(dialect: MonitoringDialect, window: PredictionWindow, exact: boolean): Query & { read(row: Record<string, unknown>): number[] } {
  const quantiles = dialect.quantiles('v', [...LATENCY_PERCENTILES], exact);
  return {
    sql:
      `SELECT ${quantiles.select} FROM (SELECT latency_ms AS v FROM {{predictions}} WHERE ${inWindow} AND source = 'online') AS t ` +
      `WHERE v IS NOT NULL${quantiles.aggregate ? '' : ' LIMIT 1'}`,
    params: windowParams(window),
    read: quantiles.read,
  };
}
