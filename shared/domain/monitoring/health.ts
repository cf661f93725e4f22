import type { PredictionWindow, Query } from '../drift/drift-queries.js';
import type { MonitoringDialect } from '../drift/sql-dialect.js';

/**
 * Service health of a version in a window: volume by source and the latency percentiles of online
 * predictions from the predictions table, and the error rate from the request_outcomes table (the
 * requests each serving instance refused or failed, counted per minute).
 */

/** Answers that are the client's doing, not the model's: a request without a valid key. */
export const AUTH_STATUSES = [401, 403] as const;

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

/**
 * Requests a version refused (4xx other than 401/403) or failed (5xx) in the window's minutes (the
 * minute `start` falls in included). Each instance reports a running count per minute, so the largest
 * count of each (minute, status, code, instance) is taken: a repeated or superseded report adds nothing.
 */
export function errorsQuery({ model, version, start, end }: Pick<PredictionWindow, 'model' | 'version' | 'start' | 'end'>): Query {
  return {
    sql:
      'SELECT SUM(c) AS errors FROM (SELECT MAX(count) AS c FROM {{request_outcomes}} WHERE model = @model AND version = @version ' +
      `AND minute >= @from_minute AND minute < @to AND status >= 400 AND status NOT IN (${AUTH_STATUSES.join(', ')}) GROUP BY minute, status, code, instance) AS k`,
    params: { model, version, from_minute: new Date(Math.floor(start.getTime() / 60_000) * 60_000), to: end },
  };
}
