import type { Row, Warehouse } from '../../../shared/ports/warehouse.port.js';

// The panels of the monitoring families (data quality, feature importance, fairness), read from
// their tables in DuckDB's SQL like the queries of dashboard-queries.ts.

/** One data_quality row of the latest window: a check of a feature (or a refusal code on `__requests__`). */
export interface QualityPoint {
  version: number;
  feature: string;
  check: string;
  value: number;
  failing: number;
  rows: number;
  threshold: number | null;
  crossed: boolean;
  referenceSize: number;
  windowStart: string;
  windowEnd: string;
}

/** One feature_attributions row: a feature's importance in a window against the reference's (nDCG on `__dataset__`). */
export interface AttributionPoint {
  version: number;
  feature: string;
  method: string;
  referenceImportance: number | null;
  currentImportance: number | null;
  referenceShare: number | null;
  currentShare: number | null;
  value: number;
  threshold: number;
  drifted: boolean;
  referenceSize: number;
  currentSize: number;
  windowStart: string;
  windowEnd: string;
}

/** One fairness_metrics row of the latest window: a group's metric, or a comparison across groups (group `__all__`). */
export interface FairnessPoint {
  version: number;
  attribute: string;
  group: string;
  metric: string;
  value: number | null;
  predictions: number;
  labelled: number;
  threshold: number | null;
  flagged: boolean;
  tooSmall: boolean;
  windowStart: string;
  windowEnd: string;
}

const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** The rows of a family's table for the model's most recent window (of whichever version it was computed for). */
function latestWindowRows(warehouse: Warehouse, table: string, model: string, orderBy: string): Promise<Row[]> {
  return warehouse.query(
    `WITH latest AS (SELECT version, window_end FROM {{${table}}} WHERE model = @model ORDER BY window_end DESC, version DESC LIMIT 1)
     SELECT t.* FROM {{${table}}} t JOIN latest USING (version, window_end) WHERE t.model = @model ORDER BY ${orderBy}`,
    { model },
  );
}

/** Every check of the latest data quality window, crossed ones first. */
export async function qualityLatest(warehouse: Warehouse, model: string): Promise<QualityPoint[]> {
  const rows = await latestWindowRows(warehouse, 'data_quality', model, 't.crossed DESC, t.feature, t."check"');
  return rows.map((row) => ({
    version: Number(row.version),
    feature: String(row.feature),
    check: String(row.check),
    value: Number(row.value),
    failing: Number(row.failing),
    rows: Number(row.rows),
    threshold: nullableNumber(row.threshold),
    crossed: Boolean(row.crossed),
    referenceSize: Number(row.reference_size),
    windowStart: String(row.window_start),
    windowEnd: String(row.window_end),
  }));
}

/** Feature importance of every window computed for the model, oldest first (the latest 5000 rows). */
export async function attributionSeries(warehouse: Warehouse, model: string): Promise<AttributionPoint[]> {
  const rows = await warehouse.query(
    `SELECT * FROM (SELECT * FROM {{feature_attributions}} WHERE model = @model ORDER BY window_end DESC LIMIT 5000)
     ORDER BY window_end, version, feature`,
    { model },
  );
  return rows.map((row) => ({
    version: Number(row.version),
    feature: String(row.feature),
    method: String(row.method),
    referenceImportance: nullableNumber(row.reference_importance),
    currentImportance: nullableNumber(row.current_importance),
    referenceShare: nullableNumber(row.reference_share),
    currentShare: nullableNumber(row.current_share),
    value: Number(row.value),
    threshold: Number(row.threshold),
    drifted: Boolean(row.drifted),
    referenceSize: Number(row.reference_size),
    currentSize: Number(row.current_size),
    windowStart: String(row.window_start),
    windowEnd: String(row.window_end),
  }));
}

/** Every group metric and comparison of the latest fairness window, by attribute and group. */
export async function fairnessLatest(warehouse: Warehouse, model: string): Promise<FairnessPoint[]> {
  const rows = await latestWindowRows(warehouse, 'fairness_metrics', model, 't.attribute, t.group_value, t.metric');
  return rows.map((row) => ({
    version: Number(row.version),
    attribute: String(row.attribute),
    group: String(row.group_value),
    metric: String(row.metric),
    value: nullableNumber(row.value),
    predictions: Number(row.predictions),
    labelled: Number(row.labelled),
    threshold: nullableNumber(row.threshold),
    flagged: Boolean(row.flagged),
    tooSmall: Boolean(row.too_small),
    windowStart: String(row.window_start),
    windowEnd: String(row.window_end),
  }));
}
