import { describe, expect, it } from 'vitest';
import {
  binCountsQuery,
  binnedCdfQuery,
  categoryCountsQuery,
  datasetSource,
  exactCdfQuery,
  keyShapesQuery,
  keysQuery,
  type PredictionWindow,
  predictionWindowSource,
  profileQuery,
  type Query,
  referenceQuantilesQuery,
} from '../../../../../shared/domain/drift/drift-queries.js';
import { isMonitorableKey, isMonitorablePath, monitoringDialect } from '../../../../../shared/domain/drift/sql-dialect.js';
import { latencyQuery, volumeQuery } from '../../../../../shared/domain/monitoring/health.js';
import type { ModelTask } from '../../../../../shared/domain/model-task.js';
import {
  binaryScoresQuery,
  classCountsQuery,
  oneVsRestScoresQuery,
  outputReading,
  performanceQuery,
} from '../../../../../shared/domain/monitoring/performance.js';
import type { SqlDialect } from '../../../../../shared/domain/sql.js';

const window: PredictionWindow = { model: 'churn', version: 3, start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-02T00:00:00Z') };
/** The tasks the lead's inference gives the platform's own writer, skl2onnx, onnxmltools and a probabilities-only export. */
const LEGACY: ModelTask = { kind: 'binary', classes: ['0', '1'], label: 'label', score: 'probability', fromTags: [] };
const SKL2ONNX: ModelTask = { kind: 'binary', classes: ['0', '1'], label: 'output_label', probabilities: 'output_probability', fromTags: [] };
const ONNXMLTOOLS: ModelTask = { kind: 'binary', classes: ['0', '1'], label: 'label', probabilities: 'probabilities', fromTags: [] };
const PROBABILITIES_ONLY: ModelTask = { kind: 'multiclass', classes: ['setosa', 'versicolor', 'virginica'], probabilities: 'probabilities', fromTags: [] };
const launch: PredictionWindow = { ...window, start: new Date('2025-12-01T00:00:00Z'), end: new Date('2025-12-02T00:00:00Z') };

/** Every query the monitoring run sends, built for one dialect. */
function queries(dialect: SqlDialect): Record<string, Query> {
  const sql = monitoringDialect(dialect);
  const comparison = { reference: datasetSource('train-2026'), current: predictionWindowSource('current', window, 'features') };
  const outputs = { reference: predictionWindowSource('reference', launch, 'outputs'), current: predictionWindowSource('current', window, 'outputs') };
  return {
    keys: keysQuery(sql, comparison.current),
    profile: profileQuery(sql, comparison, ['tenure', 'plan']),
    categoryCounts: categoryCountsQuery(sql, comparison, 'plan', false, 1001),
    exactCdf: exactCdfQuery(sql, outputs, 'probability'),
    outputKeyShapes: keyShapesQuery(sql, outputs.current),
    nestedCdf: exactCdfQuery(sql, outputs, ['output_probability', '1']),
    binnedCdf: binnedCdfQuery(sql, comparison, 'tenure', { lo: 0, hi: 100, bins: 10_000 }),
    exactQuantiles: referenceQuantilesQuery(sql, comparison.reference, 'tenure', { bins: 4, exact: true }),
    approximateQuantiles: referenceQuantilesQuery(sql, comparison.reference, 'tenure', { bins: 4, exact: false }),
    binCounts: binCountsQuery(sql, comparison, 'tenure', [12.5, 24, 31.25]),
    performance: performanceQuery(sql, window, outputReading(LEGACY)),
    classCounts: classCountsQuery(sql, window, outputReading(LEGACY)),
    binaryScores: binaryScoresQuery(sql, window, outputReading(LEGACY)),
    keyedBinaryScores: binaryScoresQuery(sql, window, outputReading(SKL2ONNX, { keyedProbabilities: true })),
    arrayBinaryScores: binaryScoresQuery(sql, window, outputReading(ONNXMLTOOLS)),
    argmaxPerformance: performanceQuery(sql, window, outputReading(PROBABILITIES_ONLY)),
    oneVsRestScores: oneVsRestScoresQuery(sql, window, outputReading(PROBABILITIES_ONLY)),
    volume: volumeQuery(window),
    exactLatency: latencyQuery(sql, window, true),
    approximateLatency: latencyQuery(sql, window, false),
  };
}

const DUCKDB_ONLY = [/json_extract_string/i, /TRY_CAST/, /quantile_cont/i, /approx_quantile\(/i, /json_keys\(doc\)/, /::/, /\$\w/, /\bBIGINT\b/, /\bDOUBLE\b/];

describe.each(['bigquery', 'duckdb'] as const)('monitoring SQL for %s', (dialect) => {
  it.each(Object.entries(queries(dialect)))('%s binds every @parameter it names and names tables as {{table}}', (_, query) => {
    const named = [...new Set([...query.sql.matchAll(/@(\w+)/g)].map((match) => match[1]!))].sort();
    expect(named.filter((name) => !(name in query.params))).toEqual([]);
    expect(query.sql).not.toMatch(/\bFROM (predictions|ground_truth|offline_features)\b/);
    expect(query.sql.split('(').length).toBe(query.sql.split(')').length);
  });
});

describe('the BigQuery SQL', () => {
  const built = queries('bigquery');

  it('uses no DuckDB-only function, type or syntax', () => {
    for (const [name, query] of Object.entries(built)) for (const pattern of DUCKDB_ONLY) expect(query.sql, `${name}: ${pattern}`).not.toMatch(pattern);
  });

  it('reads features with JSON_VALUE and SAFE_CAST, keys with JSON_KEYS, and dedupes streamed ground truth', () => {
    expect(built.profile!.sql).toContain(`SAFE_CAST(JSON_VALUE(doc, '$."tenure"') AS FLOAT64) AS x0`);
    expect(built.profile!.sql).toContain(`JSON_VALUE(doc, '$."plan"') AS t1`);
    expect(built.keys!.sql).toBe(
      'SELECT DISTINCT key FROM (SELECT features AS doc FROM {{predictions}} WHERE model = @cur_model AND version = @cur_version AND request_time >= @cur_start AND request_time < @cur_end LIMIT 1000) AS s CROSS JOIN UNNEST(JSON_KEYS(doc, 1)) AS key ORDER BY key',
    );
    expect(built.performance!.sql).toContain(
      'LEFT JOIN (SELECT prediction_id, ANY_VALUE(label) AS label, ANY_VALUE(value) AS value FROM {{ground_truth}} WHERE observed_time >= @start GROUP BY prediction_id) AS g',
    );
  });

  it('reads nested outputs with one JSONPath: a quoted key, then a quoted class label or an index', () => {
    expect(built.nestedCdf!.sql).toContain(`SAFE_CAST(JSON_VALUE(doc, '$."output_probability"."1"') AS FLOAT64) AS v`);
    expect(built.keyedBinaryScores!.sql).toContain(`SAFE_CAST(JSON_VALUE(doc, '$."output_probability"."1"') AS FLOAT64) AS probability`);
    expect(built.keyedBinaryScores!.sql).toContain(`JSON_VALUE(doc, '$."output_label"') AS predicted`);
    expect(built.arrayBinaryScores!.sql).toContain(`SAFE_CAST(JSON_VALUE(doc, '$."probabilities"[1]') AS FLOAT64) AS probability`);
    expect(built.binaryScores!.sql).toContain('actual IN (@positive_0, @positive_1)');
    expect(built.binaryScores!.params).toMatchObject({ positive_0: '1', positive_1: 'true' });
  });

  it('takes a probabilities-only model’s label as the most probable class, with class labels as parameters', () => {
    const sql = built.argmaxPerformance!.sql;
    expect(sql).toContain(`SAFE_CAST(JSON_VALUE(doc, '$."probabilities"[2]') AS FLOAT64) AS pr2`);
    expect(sql).toContain('GREATEST(pr0, pr1, pr2) AS top');
    expect(sql).toContain(
      'CASE WHEN pr0 IS NULL OR pr1 IS NULL OR pr2 IS NULL THEN NULL WHEN pr0 = top THEN @class_0 WHEN pr1 = top THEN @class_1 WHEN pr2 = top THEN @class_2 END AS predicted',
    );
    expect(sql).toContain('CASE g.label WHEN @class_0 THEN p.pr0 WHEN @class_1 THEN p.pr1 WHEN @class_2 THEN p.pr2 END AS actual_probability');
    expect(sql).toContain('CAST(NULL AS FLOAT64) AS predicted_value');
    expect(built.argmaxPerformance!.params).toMatchObject({ class_0: 'setosa', class_1: 'versicolor', class_2: 'virginica' });
    expect(built.oneVsRestScores!.sql).toContain('SUM(negatives) OVER (PARTITION BY k ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)');
  });

  it('finds object and array outputs with JSON_TYPE over the subscript of each key', () => {
    expect(built.outputKeyShapes!.sql).toBe(
      "SELECT key, MAX(CASE WHEN JSON_TYPE(doc[key]) IN ('object', 'array') THEN 1 ELSE 0 END) AS nested FROM (SELECT outputs AS doc FROM {{predictions}} WHERE model = @cur_model AND version = @cur_version AND request_time >= @cur_start AND request_time < @cur_end LIMIT 1000) AS s CROSS JOIN UNNEST(JSON_KEYS(doc, 1)) AS key GROUP BY key ORDER BY key",
    );
  });

  it('takes exact quantiles with analytic PERCENTILE_CONT, approximate ones from APPROX_QUANTILES at 1/1000', () => {
    const exact = built.exactQuantiles as ReturnType<typeof referenceQuantilesQuery>;
    expect(exact.sql).toMatch(
      /^SELECT PERCENTILE_CONT\(v, 0\.25\) OVER \(\) AS q0, PERCENTILE_CONT\(v, 0\.5\) OVER \(\) AS q1, PERCENTILE_CONT\(v, 0\.75\) OVER \(\) AS q2 FROM/,
    );
    expect(exact.sql).toMatch(/WHERE v IS NOT NULL LIMIT 1$/);
    expect(exact.read({ q0: 1, q1: 2, q2: 3 })).toEqual([1, 2, 3]);
    const approximate = built.approximateQuantiles as ReturnType<typeof referenceQuantilesQuery>;
    expect(approximate.sql).toMatch(/^SELECT APPROX_QUANTILES\(v, 1000\) AS q FROM/);
    expect(approximate.read({ q: Array.from({ length: 1001 }, (_, index) => index / 10) })).toEqual([25, 50, 75]);
  });

  it('computes KS and Wasserstein from running counts over distinct values, or over bins with their tolerance', () => {
    expect(built.exactCdf!.sql).toContain('SUM(r) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cr');
    expect(built.exactCdf!.sql).toContain('SUM(ABS(cr / nr - cc / nc) * dv) AS wasserstein');
    expect(built.binnedCdf!.sql).toContain('LEAST(GREATEST(CAST(FLOOR((v - @bin_lo) / @bin_width) AS INT64), 0), 9999)');
    expect(built.binnedCdf!.sql).toContain('MAX(GREATEST(r / nr, c / nc)) AS ks_tolerance');
    expect(built.binnedCdf!.params).toMatchObject({ bin_lo: 0, bin_width: 0.01 });
    expect(built.binCounts!.sql).toContain('CASE WHEN v < @edge_0 THEN 0 WHEN v < @edge_1 THEN 1 WHEN v < @edge_2 THEN 2 ELSE 3 END');
  });

  it('matches the reviewed text of every query', async () => {
    const text = Object.entries(built)
      .map(([name, query]) => `-- ${name}\n${query.sql}\n`)
      .join('\n');
    await expect(text).toMatchFileSnapshot('./__snapshots__/monitoring-sql.bigquery.sql');
  });
});

describe('the DuckDB SQL', () => {
  it('reads nested outputs with json_extract_string over the same JSONPaths, one parse per row', () => {
    const sql = monitoringDialect('duckdb');
    expect(sql.jsonNumber('doc', ['probabilities', 1])).toBe(`TRY_CAST(json_extract_string(doc, '$."probabilities"[1]') AS DOUBLE)`);
    expect(sql.jsonText('doc', ['output_probability', 'setosa'])).toBe(`json_extract_string(doc, '$."output_probability"."setosa"')`);
    expect(performanceQuery(sql, window, outputReading(SKL2ONNX, { keyedProbabilities: true })).sql).toContain(
      `json_extract_string(outputs, ['$."output_label"', '$."output_probability"."1"']) AS l`,
    );
  });
});

describe('feature names', () => {
  it('are monitored only when a JSONPath can quote them safely', () => {
    expect(['tenure', 'plan-type', 'f0', 'a:b'].every(isMonitorableKey)).toBe(true);
    expect(["x'); DROP TABLE t; --", 'a.b', 'with space', '', 'ü'].some(isMonitorableKey)).toBe(false);
  });

  it('refuse a nested path with an unsafe key or a bad index', () => {
    expect([['probabilities', 1], ['output_probability', 'a:b'], 'label'].every(isMonitorablePath)).toBe(true);
    expect([['output_probability', 'Iris setosa'], ['probabilities', -1], ['probabilities', 1.5], [], [0, 'x']].some(isMonitorablePath)).toBe(false);
    expect(() => monitoringDialect('bigquery').jsonText('doc', ['p', "x'"])).toThrow(
      expect.objectContaining({ code: 'MONITORING.INVALID_FEATURE', message: expect.stringMatching(/cannot be monitored/) }),
    );
  });
});
