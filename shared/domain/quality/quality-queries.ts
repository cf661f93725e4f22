import type { PredictionWindow, Query, SampleSource } from '../drift/drift-queries.js';
import { isMonitorableKey, monitoringDialect } from '../drift/sql-dialect.js';
import { PlatformError } from '../errors.js';
import { AUTH_STATUSES } from '../monitoring/health.js';
import { memberOf, type SqlDialect } from '../sql.js';
import { NAN_LIKE_TEXTS } from './quality-settings.js';

/**
 * The data quality SQL: each value of a feature is classed once as `missing` (key absent, JSON null or a
 * NaN-like text), `nested` (an object or array) or `value`, and every check of every feature is a
 * conditional count over those classes, so a window costs one pass and the process holds only counts.
 * Tables are `{{table}}` placeholders and values `@params`.
 */

/** How a feature's values are judged: by the reference's profile, numbers or categories; unknown without reference values. */
export type QualityKind = 'numeric' | 'categorical' | 'unknown';

/** One feature of the window pass, with what its kind's checks compare with (bound as `@min_i`, `@max_i`, `@categories_i`). */
export interface QualityFeature {
  key: string;
  kind: QualityKind;
  range?: { min: number; max: number };
  categories?: string[];
}

// JSON types as both warehouses name them once upper-cased: DuckDB's json_type, BigQuery's JSON_TYPE.
const NESTED_TYPES = "('OBJECT', 'ARRAY')";
const TEXT_TYPES = "('VARCHAR', 'STRING')";
const NAN_LIKE = `(${NAN_LIKE_TEXTS.map((text) => `'${text}'`).join(', ')})`;

function jsonPath(key: string): string {
  if (!isMonitorableKey(key))
    throw new PlatformError('MONITORING.INVALID_FEATURE', `Feature name ${JSON.stringify(key)} cannot be monitored (letters, digits, _ - : only).`);
  return `'$."${key}"'`;
}

/** Each key's JSON type, upper-cased, NULL when the key is absent; DuckDB reads all keys in one call, BigQuery's JSON column is parsed already. */
function jsonTypes(dialect: SqlDialect, keys: string[]): { select: string; item(index: number): string } {
  if (dialect === 'bigquery') return { select: '', item: (index) => `UPPER(JSON_TYPE(JSON_QUERY(doc, ${jsonPath(keys[index]!)})))` };
  return { select: `, json_type(doc, [${keys.map(jsonPath).join(', ')}]) AS y`, item: (index) => `y[${index + 1}]` };
}

/**
 * Per key i of `source`'s `doc`: `t<i>` the value as text, `k<i>` its class (missing, nested or value) and
 * `x<i>` the text as a double (NULL unless it reads as one); the `passThrough` columns of `source` as they are.
 */
function classifiedValues(dialect: SqlDialect, source: string, keys: string[], passThrough: string[] = []): string {
  const sql = monitoringDialect(dialect);
  const texts = sql.jsonTexts('doc', keys);
  const types = jsonTypes(dialect, keys);
  const kept = passThrough.map((column) => `${column}, `).join('');
  const raw = keys.map((_, i) => `${texts.item(i)} AS t${i}, ${types.item(i)} AS y${i}`).join(', ');
  const classed = keys
    .map(
      (_, i) =>
        `t${i}, CASE WHEN y${i} IS NULL OR y${i} = 'NULL' OR (y${i} IN ${TEXT_TYPES} AND t${i} IN ${NAN_LIKE}) THEN 'missing' ` +
        `WHEN y${i} IN ${NESTED_TYPES} THEN 'nested' ELSE 'value' END AS k${i}, ${sql.toDouble(`t${i}`)} AS x${i}`,
    )
    .join(', ');
  return `SELECT ${kept}${classed} FROM (SELECT ${kept}${raw} FROM (SELECT ${kept}${texts.select}${types.select} FROM (${source}) AS s) AS d) AS r`;
}

/** A version's predictions in a window: the features JSON as `doc`, with the prediction's source. */
export function qualityWindowSource({ model, version, start, end }: PredictionWindow): SampleSource {
  return {
    sql: 'SELECT features AS doc, source FROM {{predictions}} WHERE model = @model AND version = @version AND request_time >= @start AND request_time < @end',
    params: { model, version, start, end },
  };
}

/**
 * Per key of the reference: rows, values present (neither missing nor an object or array), how many of
 * them read as numbers, and the least and greatest number. One pass over the reference.
 */
export function referenceProfileQuery(dialect: SqlDialect, reference: SampleSource, keys: string[]): Query {
  const stats = keys
    .map(
      (_, i) =>
        `SUM(CASE WHEN k${i} = 'value' THEN 1 ELSE 0 END) AS present_${i}, SUM(CASE WHEN k${i} = 'value' AND x${i} IS NOT NULL THEN 1 ELSE 0 END) AS numbers_${i}, ` +
        `MIN(CASE WHEN k${i} = 'value' THEN x${i} END) AS min_${i}, MAX(CASE WHEN k${i} = 'value' THEN x${i} END) AS max_${i}`,
    )
    .join(', ');
  return { sql: `SELECT COUNT(*) AS row_count, ${stats} FROM (${classifiedValues(dialect, reference.sql, keys)}) AS c`, params: reference.params };
}

/** The distinct present values of one key of the reference, in order, at most `limit` (ask one more than allowed to tell "too many"). */
export function referenceCategoriesQuery(dialect: SqlDialect, reference: SampleSource, key: string, limit: number): Query {
  return {
    sql: `SELECT DISTINCT t0 AS value FROM (${classifiedValues(dialect, reference.sql, [key])}) AS c WHERE k0 = 'value' ORDER BY value LIMIT ${limit}`,
    params: reference.params,
  };
}

/** The condition each check counts, for feature i of a kind; undefined where the check does not apply. */
function checkConditions(dialect: SqlDialect, { kind, range, categories }: QualityFeature, i: number): Record<string, string | undefined> {
  return {
    missing: `k${i} = 'missing'`,
    out_of_range: kind === 'numeric' && range ? `k${i} = 'value' AND (x${i} < @min_${i} OR x${i} > @max_${i})` : undefined,
    unseen_category: kind === 'categorical' && categories ? `k${i} = 'value' AND NOT ${memberOf(`t${i}`, `categories_${i}`, dialect)}` : undefined,
    type_violation: kind === 'numeric' ? `k${i} = 'nested' OR (k${i} = 'value' AND x${i} IS NULL)` : `k${i} = 'nested'`,
  };
}

/**
 * One pass over the window: its predictions (`row_count`), of which online (`online`), and per feature i
 * and applicable check the predictions failing it, as `<check>_<i>`.
 */
export function windowChecksQuery(dialect: SqlDialect, window: PredictionWindow, features: QualityFeature[]): Query {
  const source = qualityWindowSource(window);
  const params: Record<string, unknown> = { ...source.params };
  const counts: string[] = [];
  for (const [i, feature] of features.entries()) {
    for (const [check, condition] of Object.entries(checkConditions(dialect, feature, i)))
      if (condition) counts.push(`SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END) AS ${check}_${i}`);
    if (feature.kind === 'numeric' && feature.range) Object.assign(params, { [`min_${i}`]: feature.range.min, [`max_${i}`]: feature.range.max });
    if (feature.kind === 'categorical' && feature.categories) params[`categories_${i}`] = feature.categories;
  }
  const keys = features.map(({ key }) => key);
  const values = keys.length > 0 ? classifiedValues(dialect, source.sql, keys, ['source']) : source.sql;
  return {
    sql: `SELECT COUNT(*) AS row_count, SUM(CASE WHEN source = 'online' THEN 1 ELSE 0 END) AS online${counts.map((count) => `, ${count}`).join('')} FROM (${values}) AS c`,
    params,
  };
}

/**
 * Requests a version refused (4xx other than 401/403) in the window's minutes (the minute `start` falls
 * in included), per error code. Each instance reports a running count per minute, so the largest count of
 * each (minute, status, code, instance) is taken, as the error rate takes it.
 */
export function refusalsQuery({ model, version, start, end }: PredictionWindow): Query {
  return {
    sql:
      'SELECT code, SUM(c) AS refused FROM (SELECT code, MAX(count) AS c FROM {{request_outcomes}} WHERE model = @model AND version = @version ' +
      `AND minute >= @from_minute AND minute < @to AND status >= 400 AND status < 500 AND status NOT IN (${AUTH_STATUSES.join(', ')}) ` +
      'GROUP BY minute, status, code, instance) AS k GROUP BY code ORDER BY code',
    params: { model, version, from_minute: new Date(Math.floor(start.getTime() / 60_000) * 60_000), to: end },
  };
}
