import type { JsonPath, MonitoringDialect } from './sql-dialect.js';

/**
 * The drift SQL: every query reduces a window of rows to a bounded summary inside the warehouse
 * (per-side profiles, one row of KS/Wasserstein over the merged CDFs, counts per bin or category),
 * so the process never holds a window's rows. Tables are `{{table}}` placeholders and values `@params`.
 */

/** A query and its parameters. */
export interface Query {
  sql: string;
  params: Record<string, unknown>;
}

/** One side of a comparison: a SELECT yielding a JSON column `doc`, with its parameters. */
export type SampleSource = Query;

/** The reference and current samples of a comparison. */
export interface Comparison {
  reference: SampleSource;
  current: SampleSource;
}

/** A time window of one model version's predictions. */
export interface PredictionWindow {
  model: string;
  version: number;
  start: Date;
  end: Date;
}

/** The columns naming a version's window, as every monitoring table's rows and replace slices carry them. */
export function windowSlice(window: PredictionWindow): { model: string; version: number; window_start: string; window_end: string } {
  return { model: window.model, version: window.version, window_start: window.start.toISOString(), window_end: window.end.toISOString() };
}

/** The columns every monitoring row of a window starts with: its slice and when it was computed. */
export function windowRowBase(window: PredictionWindow, computedAt: string): ReturnType<typeof windowSlice> & { computed_at: string } {
  return { ...windowSlice(window), computed_at: computedAt };
}

/** Predictions of a version in a window, reading its `features` or `outputs` JSON. */
export function predictionWindowSource(side: 'reference' | 'current', window: PredictionWindow, column: 'features' | 'outputs'): SampleSource {
  const p = side === 'reference' ? 'ref' : 'cur';
  return {
    sql: `SELECT ${column} AS doc FROM {{predictions}} WHERE model = @${p}_model AND version = @${p}_version AND request_time >= @${p}_start AND request_time < @${p}_end`,
    params: { [`${p}_model`]: window.model, [`${p}_version`]: window.version, [`${p}_start`]: window.start, [`${p}_end`]: window.end },
  };
}

/** An offline_features dataset as the reference sample. */
export function datasetSource(dataset: string): SampleSource {
  return { sql: 'SELECT features AS doc FROM {{offline_features}} WHERE dataset_id = @ref_dataset', params: { ref_dataset: dataset } };
}

const paramsOf = ({ reference, current }: Comparison): Record<string, unknown> => ({ ...reference.params, ...current.params });

/** The top-level keys seen in the first `sampleRows` rows of a source. */
export function keysQuery(dialect: MonitoringDialect, source: SampleSource, sampleRows = 1000): Query {
  return { sql: `${dialect.keys(`${source.sql} LIMIT ${sampleRows}`)} ORDER BY key`, params: source.params };
}

/** The top-level keys seen in the first `sampleRows` rows of a source, each with `nested` 1 when it held an object or array. */
export function keyShapesQuery(dialect: MonitoringDialect, source: SampleSource, sampleRows = 1000): Query {
  return { sql: `${dialect.keyShapes(`${source.sql} LIMIT ${sampleRows}`)} ORDER BY key`, params: source.params };
}

/** Per side and key: non-null values, numeric values, approximate distinct values, min, max and population std (one scan per side). */
export function profileQuery(dialect: MonitoringDialect, comparison: Comparison, keys: JsonPath[]): Query {
  const texts = dialect.jsonTexts('doc', keys);
  const values = keys.flatMap((_, i) => [`${texts.item(i)} AS t${i}`, `${dialect.toDouble(texts.item(i))} AS x${i}`]).join(', ');
  const stats = keys
    .map(
      (_, i) =>
        `COUNT(t${i}) AS text_${i}, COUNT(x${i}) AS numbers_${i}, APPROX_COUNT_DISTINCT(t${i}) AS distinct_${i}, ` +
        `MIN(x${i}) AS min_${i}, MAX(x${i}) AS max_${i}, STDDEV_POP(x${i}) AS std_${i}`,
    )
    .join(', ');
  const side = (label: string, source: SampleSource) =>
    `SELECT '${label}' AS side, COUNT(*) AS row_count, ${stats} FROM (SELECT ${values} FROM (SELECT ${texts.select} FROM (${source.sql}) AS s) AS d) AS t`;
  return { sql: `${side('reference', comparison.reference)} UNION ALL ${side('current', comparison.current)}`, params: paramsOf(comparison) };
}

/** Both sides' non-null values of one expression, stacked with a reference/current flag. */
function stacked({ reference, current }: Comparison, value: string): string {
  const side = (source: SampleSource, r: number) =>
    `SELECT v, ${r} AS r, ${1 - r} AS c FROM (SELECT ${value} AS v FROM (${source.sql}) AS s) AS t${r} WHERE v IS NOT NULL`;
  return `${side(reference, 1)} UNION ALL ${side(current, 0)}`;
}

/** Counts per distinct value on each side, at most `limit` values (categories, or few-valued numbers). */
export function categoryCountsQuery(dialect: MonitoringDialect, comparison: Comparison, key: JsonPath, numeric: boolean, limit: number): Query {
  const value = numeric ? dialect.jsonNumber('doc', key) : dialect.jsonText('doc', key);
  return {
    sql: `SELECT v AS value, SUM(r) AS reference, SUM(c) AS current FROM (${stacked(comparison, value)}) AS u GROUP BY v ORDER BY v LIMIT ${limit}`,
    params: paramsOf(comparison),
  };
}

const cumulative = (column: string, order: string) => `SUM(${column}) OVER (ORDER BY ${order} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)`;

/**
 * Exact KS statistic and Wasserstein-1 distance over the union of distinct values: both empirical
 * CDFs at every distinct value (running counts in one window pass), D = max |F_r − F_c| and
 * W1 = Σ |F_r − F_c|·(next value − value). Memory follows the number of distinct values, not rows.
 */
export function exactCdfQuery(dialect: MonitoringDialect, comparison: Comparison, key: JsonPath): Query {
  return {
    sql:
      `WITH counts AS (SELECT v, SUM(r) AS r, SUM(c) AS c FROM (${stacked(comparison, dialect.jsonNumber('doc', key))}) AS u GROUP BY v), ` +
      'totals AS (SELECT SUM(r) AS nr, SUM(c) AS nc FROM counts), ' +
      `steps AS (SELECT v, ${cumulative('r', 'v')} AS cr, ${cumulative('c', 'v')} AS cc, LEAD(v) OVER (ORDER BY v) - v AS dv FROM counts) ` +
      'SELECT MAX(ABS(cr / nr - cc / nc)) AS ks, SUM(ABS(cr / nr - cc / nc) * dv) AS wasserstein, COUNT(*) AS distinct_values, ' +
      'MAX(nr) AS reference_size, MAX(nc) AS current_size FROM steps CROSS JOIN totals',
    params: paramsOf(comparison),
  };
}

/**
 * KS and Wasserstein-1 over `bins` equal-width bins of [lo, hi]: the CDFs are exact at bin edges, so
 * D_binned <= D <= D_binned + max over bins of the larger share (`ks_tolerance`), and W1 is within
 * width · Σ larger share (`wasserstein_tolerance`). Memory follows `bins`, not rows or distinct values.
 */
export function binnedCdfQuery(
  dialect: MonitoringDialect,
  comparison: Comparison,
  key: JsonPath,
  { lo, hi, bins }: { lo: number; hi: number; bins: number },
): Query {
  const width = hi > lo ? (hi - lo) / bins : 1;
  const bin = `LEAST(GREATEST(${dialect.floorToInteger('(v - @bin_lo) / @bin_width')}, 0), ${bins - 1})`;
  return {
    sql:
      `WITH counts AS (SELECT ${bin} AS b, SUM(r) AS r, SUM(c) AS c FROM (${stacked(comparison, dialect.jsonNumber('doc', key))}) AS u GROUP BY 1), ` +
      'totals AS (SELECT SUM(r) AS nr, SUM(c) AS nc FROM counts), ' +
      `steps AS (SELECT b, r, c, ${cumulative('r', 'b')} AS cr, ${cumulative('c', 'b')} AS cc, LEAD(b) OVER (ORDER BY b) - b AS gap FROM counts) ` +
      'SELECT MAX(ABS(cr / nr - cc / nc)) AS ks, SUM(ABS(cr / nr - cc / nc) * gap) * @bin_width AS wasserstein, ' +
      'MAX(GREATEST(r / nr, c / nc)) AS ks_tolerance, SUM(GREATEST(r / nr, c / nc)) * @bin_width AS wasserstein_tolerance, ' +
      'MAX(nr) AS reference_size, MAX(nc) AS current_size FROM steps CROSS JOIN totals',
    params: { ...paramsOf(comparison), bin_lo: lo, bin_width: width },
  };
}

/** The reference's quantiles at i/bins (i = 1..bins−1): the edges of PSI's and Jensen-Shannon's bins. */
export function referenceQuantilesQuery(
  dialect: MonitoringDialect,
  reference: SampleSource,
  key: JsonPath,
  { bins, exact }: { bins: number; exact: boolean },
): Query & { read(row: Record<string, unknown>): number[] } {
  const probabilities = Array.from({ length: bins - 1 }, (_, index) => (index + 1) / bins);
  const quantiles = dialect.quantiles('v', probabilities, exact);
  return {
    sql: `SELECT ${quantiles.select} FROM (SELECT ${dialect.jsonNumber('doc', key)} AS v FROM (${reference.sql}) AS s) AS t WHERE v IS NOT NULL${quantiles.aggregate ? '' : ' LIMIT 1'}`,
    params: reference.params,
    read: quantiles.read,
  };
}

/** Counts per bin on each side, bin i holding edges[i−1] <= v < edges[i] (numpy's searchsorted 'right'). */
export function binCountsQuery(dialect: MonitoringDialect, comparison: Comparison, key: JsonPath, edges: number[]): Query {
  const cases = edges.map((_, i) => `WHEN v < @edge_${i} THEN ${i}`).join(' ');
  const bin = edges.length > 0 ? `CASE ${cases} ELSE ${edges.length} END` : '0';
  return {
    sql: `SELECT b AS bin, SUM(r) AS reference, SUM(c) AS current FROM (SELECT ${bin} AS b, r, c FROM (${stacked(comparison, dialect.jsonNumber('doc', key))}) AS u) AS t GROUP BY b ORDER BY b`,
    params: { ...paramsOf(comparison), ...Object.fromEntries(edges.map((edge, i) => [`edge_${i}`, edge])) },
  };
}
