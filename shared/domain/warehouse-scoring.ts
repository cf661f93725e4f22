import type { ModelSignature, TensorElementType, TensorSpec } from './model-signature.js';
import type { ModelVersion } from './registry.js';
import type { InputPlan, InputSlot } from './serving/input-plan.js';
import { NAN_LIKE_TEXTS } from './quality/quality-settings.js';
import type { SqlDialect } from './sql.js';

/** Whether BigQuery ML can import a version's ONNX file and score it with ML.PREDICT, and why not when it cannot. */
export type BigQueryMlSupport = { importable: true } | { importable: false; reason: string };

/** A half-open range of entity ids, `[from, to)`; a null bound is open. */
export interface EntityRange {
  from: string | null;
  to: string | null;
}

/** One shard of a fanned-out run: its entity range and how many rows it holds. */
export interface ScoringShard extends EntityRange {
  index: number;
  rows: number;
}

/** One row of the split-point query: the first entity of a shard and the rows the shard holds. */
export interface SplitPoint {
  start_entity: string;
  row_count: number;
}

/** How long one shard may take and how fast it scores, to size shards. */
export interface ShardSizing {
  /** Rows one function instance scores per second (BENCHMARKS.md, "Batch scoring": ~30,000 rows/s with the small model on DuckDB). */
  rowsPerSecond: number;
  /**
   * The function's timeout: 540 s, the most an event-driven function may run ("9 minutes (540 seconds) for
   * event-driven functions", https://cloud.google.com/functions/docs/configuring/timeout), as infra/stack.ts sets score-batch.
   */
  timeLimitSeconds?: number;
  /** Each shard is planned to take at most this fraction's inverse of the limit: 3 leaves room for a slower instance and a cold start. */
  safetyFactor?: number;
}

// ONNX element types ML.PREDICT converts to and from BigQuery types (FLOAT64, INT64, BOOL, STRING): see
// https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-onnx (inputs and outputs).
const BIGQUERY_TYPES: Partial<Record<TensorElementType, string>> = {
  float32: 'FLOAT64',
  float64: 'FLOAT64',
  int32: 'INT64',
  int64: 'INT64',
  bool: 'BOOL',
  string: 'STRING',
};
// ML.PREDICT matches input columns to the model's inputs by name, and outputs come back as columns of their names.
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUL = { bigquery: 'CODE_POINTS_TO_STRING([0])', duckdb: 'chr(0)' } as const;

/**
 * Whether BigQuery ML can import the version's uploaded file as it is and feed it from offline_features.
 * `plan` is the version's input plan (planInputs), the same one onnxruntime batch scoring uses.
 */
export function bigQueryMlSupport(version: Pick<ModelVersion, 'artifactUri' | 'signature' | 'served'>, plan: InputPlan): BigQueryMlSupport {
  const reason = unsupportedReason(version, plan);
  return reason ? { importable: false, reason } : { importable: true };
}

function unsupportedReason(
  { artifactUri, signature, served }: Pick<ModelVersion, 'artifactUri' | 'signature' | 'served'>,
  plan: InputPlan,
): string | undefined {
  // The tutorial's own export says "Disable zipmap as it is not supported in BigQuery ML"
  // (https://cloud.google.com/bigquery/docs/making-predictions-with-sklearn-models-in-onnx-format).
  if (served?.derived) {
    return `the uploaded graph is not the one served (${served.changes.join('; ')}) and BigQuery ML imports the uploaded file, which it cannot take with a ZipMap: re-export with zipmap disabled (skl2onnx: options={id(model): {'zipmap': False}})`;
  }
  if (!artifactUri.startsWith('gs://')) return `its artifact ${artifactUri} is not in Cloud Storage; MODEL_PATH must be a gs:// URI`;
  if (plan.fixedBatch !== undefined)
    return `its batch dimension is fixed at ${plan.fixedBatch}; ML.PREDICT feeds rows in batches of its own size, so export it with a dynamic batch dimension`;
  for (const spec of [...signature.inputs, ...signature.outputs]) {
    const problem = tensorProblem(spec);
    if (problem) return problem;
  }
  return undefined;
}

function tensorProblem(spec: TensorSpec): string | undefined {
  if (!COLUMN_NAME.test(spec.name))
    return `'${spec.name}' is not a BigQuery column name (letters, digits, underscores), and ML.PREDICT matches inputs and outputs by column name`;
  if (!BIGQUERY_TYPES[spec.type]) return `'${spec.name}' is ${spec.type}, which has no BigQuery type (FLOAT64, INT64, BOOL or STRING)`;
  // BigQuery has no ARRAY of ARRAYs, so a row of a tensor can be a scalar or one array at most.
  if (spec.shape.length > 2)
    return `'${spec.name}' has ${spec.shape.length} dimensions; a BigQuery column holds a scalar or one ARRAY per row, so at most [batch, k]`;
  return undefined;
}

/**
 * The BigQuery ML model a version is imported as, one per version. A model name follows table naming: letters,
 * digits and underscores, up to 1,024 characters (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-onnx).
 */
export function bigQueryMlModelName(model: string, version: number): string {
  return `mlops_${model.replace(/[^A-Za-z0-9_]/g, '_')}_v${version}`;
}

/**
 * Imports the version's ONNX file into the dataset; `{{name}}` is qualified by the warehouse. BigQuery ML reads the
 * file with the credentials of whoever runs the statement (CREATE MODEL page above), so they need read access to it.
 */
export function createModelSql(modelName: string, artifactUri: string): string {
  return `CREATE OR REPLACE MODEL {{${modelName}}} OPTIONS(MODEL_TYPE = 'ONNX', MODEL_PATH = ${stringLiteral(artifactUri)})`;
}

/**
 * The prediction id of a batch row in SQL, the same text and hash as score-batch's `batchPredictionId`:
 * sha256 over model, version, dataset, entity and the event time as JavaScript's toISOString prints it
 * (milliseconds, UTC, Z), NUL-separated, first 32 hex digits. Binds `@model`, `@version`, `@dataset`.
 */
export function batchPredictionIdSql(dialect: SqlDialect, entity = 'entity_id', time = 'event_time'): string {
  const nul = NUL[dialect];
  if (dialect === 'bigquery') {
    const text = `FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', ${time}, 'UTC')`;
    return `CONCAT('batch-', SUBSTR(TO_HEX(SHA256(CONCAT(@model, ${nul}, CAST(@version AS STRING), ${nul}, @dataset, ${nul}, ${entity}, ${nul}, ${text}))), 1, 32))`;
  }
  const text = `strftime(timezone('UTC', ${time}), '%Y-%m-%dT%H:%M:%S.%gZ')`;
  return `'batch-' || substr(sha256(concat(@model, ${nul}, CAST(@version AS VARCHAR), ${nul}, @dataset, ${nul}, ${entity}, ${nul}, ${text})), 1, 32)`;
}

/** The `WHERE` conditions that keep a query to an entity range; bounds bind as `@range_from` and `@range_to`. */
export function rangeConditions(range: EntityRange | undefined, column = 'entity_id'): string {
  const from = range?.from != null ? ` AND ${column} >= @range_from` : '';
  const to = range?.to != null ? ` AND ${column} < @range_to` : '';
  return from + to;
}

/** The query parameters `rangeConditions` binds. */
export function rangeParams(range: EntityRange | undefined): Record<string, string> {
  return { ...(range?.from != null && { range_from: range.from }), ...(range?.to != null && { range_to: range.to }) };
}

/**
 * One INSERT that scores every row of the dataset (within `range`) not yet scored by this version inside BigQuery:
 * features unpacked from the JSON column into the model's input columns as onnxruntime scoring takes them (rows it
 * would skip are left out), outputs packed into the same `outputs` JSON online rows carry, ids as score-batch makes
 * them, source 'batch'. Rows whose id is already in predictions are not scored again, so a re-run adds nothing.
 * Binds `@dataset`, `@model`, `@version` and the range's parameters.
 */
export function mlPredictInsertSql(modelName: string, signature: ModelSignature, plan: InputPlan, range?: EntityRange): string {
  const values = plan.slots.map((_, position) => `${slotValue(plan, position)} AS v${position}`);
  const valid = plan.slots.map((slot, position) => slotValid(slot, `v${position}`)).join(' AND ');
  const logged = plan.slots.map((slot, position) => `${stringLiteral(slot.name)}, ${slotLogged(slot, `v${position}`)}`).join(', ');
  const inputs = plan.tensors.map((tensor, index) => `${tensorColumn(plan, index)} AS \`${tensor.name}\``).join(', ');
  const outputs = signature.outputs.map((spec) => `${stringLiteral(spec.name)}, ${outputValue(spec)}`).join(', ');
  const id = batchPredictionIdSql('bigquery');
  return [
    'INSERT INTO {{predictions}} (prediction_id, model, version, request_time, features, outputs, latency_ms, source, shadow_of)',
    `SELECT mlops_prediction_id, @model, @version, CURRENT_TIMESTAMP(), mlops_features, JSON_OBJECT(${outputs}), NULL, 'batch', NULL`,
    `FROM ML.PREDICT(MODEL {{${modelName}}}, (`,
    `  SELECT mlops_prediction_id, JSON_OBJECT(${logged}) AS mlops_features, ${inputs}`,
    `  FROM (SELECT ${id} AS mlops_prediction_id, ${values.join(', ')}`,
    `    FROM {{offline_features}} WHERE dataset_id = @dataset${rangeConditions(range)}`,
    // A key streamed twice is one row (insertId dedupe is best effort): score it once.
    '    QUALIFY ROW_NUMBER() OVER (PARTITION BY entity_id, event_time ORDER BY loaded_at) = 1)',
    `  WHERE ${valid}`,
    "  AND NOT EXISTS (SELECT 1 FROM {{predictions}} AS done WHERE done.model = @model AND done.version = @version AND done.source = 'batch' AND done.prediction_id = mlops_prediction_id)",
    '))',
  ].join('\n');
}

// Where a slot's value sits in the row's features: under its field's key, or (for a wide field) at its index in that
// key's array or else under its flat log name, as onnxruntime scoring reads a logged or CSV-loaded row.
function slotJson(plan: InputPlan, position: number): string {
  const slot = plan.slots[position]!;
  const field = plan.fields.find(({ first, width }) => position >= first && position < first + width)!;
  if (field.width === 1) return `features[${stringLiteral(field.key)}]`;
  return `COALESCE(features[${stringLiteral(field.key)}][${position - field.first}], features[${stringLiteral(slot.name)}])`;
}

// The typed value as onnxruntime scoring coerces it (input-plan's `coerce`); NULL where it would refuse the row.
function slotValue(plan: InputPlan, position: number): string {
  const slot = plan.slots[position]!;
  const json = slotJson(plan, position);
  switch (slot.rule.kind) {
    case 'float':
      return slot.rule.missing ? `COALESCE(SAFE.FLOAT64(${json}), IF(${missingJson(json)}, CAST('NaN' AS FLOAT64), NULL))` : `SAFE.FLOAT64(${json})`;
    case 'integer':
      return `SAFE.INT64(${json})`;
    case 'boolean':
      return `COALESCE(SAFE.BOOL(${json}), CASE SAFE.INT64(${json}) WHEN 0 THEN FALSE WHEN 1 THEN TRUE END)`;
    default:
      return `LAX_STRING(${json})`;
  }
}

function missingJson(json: string): string {
  const texts = NAN_LIKE_TEXTS.map(stringLiteral).join(', ');
  return `${json} IS NULL OR JSON_TYPE(${json}) = 'null' OR LAX_STRING(${json}) IN (${texts})`;
}

function slotValid({ rule }: InputSlot, value: string): string {
  // NULL (refused) fails every comparison; NaN passes only as a missing value the model takes.
  if (rule.kind === 'float') return rule.missing ? `(IS_NAN(${value}) OR ABS(${value}) <= ${rule.max})` : `ABS(${value}) <= ${rule.max}`;
  if (rule.kind === 'integer') return `${value} BETWEEN ${rule.min} AND ${rule.max}`;
  return `${value} IS NOT NULL`;
}

// A missing value goes to the model as NaN and into the log as null, as /predict logs it.
function slotLogged({ rule }: InputSlot, value: string): string {
  return rule.kind === 'float' && rule.missing ? `IF(IS_NAN(${value}), NULL, ${value})` : value;
}

function tensorColumn(plan: InputPlan, tensor: number): string {
  const positions = plan.slots.flatMap((slot, position) => (slot.tensor === tensor ? [`v${position}`] : []));
  const { rank, width } = plan.tensors[tensor]!;
  return rank === 1 || (width === 1 && plan.layout === 'columns') ? positions[0]! : `[${positions.join(', ')}]`;
}

// As the log shapes each output row (predict-codec's rowsOf): a scalar for [batch] and [batch, 1], an array for [batch, k].
function outputValue({ name, shape }: TensorSpec): string {
  const column = `\`${name}\``;
  return shape.length === 2 && shape[1] === 1 ? `${column}[SAFE_OFFSET(0)]` : column;
}

function stringLiteral(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The split-point query: the first entity of each shard of about `@shard_rows` rows, in entity order, on DuckDB
 * and BigQuery alike. An entity's rows never straddle two shards. Binds `@dataset` and `@shard_rows`.
 */
export function splitPointsSql(): string {
  return `SELECT MIN(entity_id) AS start_entity, SUM(row_count) AS row_count FROM (
  SELECT entity_id, row_count, CAST(FLOOR((SUM(row_count) OVER (ORDER BY entity_id) - row_count) / @shard_rows) AS INT64) AS shard
  FROM (SELECT entity_id, COUNT(*) AS row_count FROM {{offline_features}} WHERE dataset_id = @dataset GROUP BY entity_id) AS entities
) AS numbered GROUP BY shard ORDER BY start_entity`;
}

/** The most rows one shard may hold to finish within the time limit at the measured rate, with the safety factor. */
export function shardRows({ rowsPerSecond, timeLimitSeconds = 540, safetyFactor = 3 }: ShardSizing): number {
  return Math.max(1, Math.floor((rowsPerSecond * timeLimitSeconds) / safetyFactor));
}

/** Shards from split points: each from its first entity up to the next shard's; the first starts open and the last ends open. */
export function shardsFrom(points: readonly SplitPoint[]): ScoringShard[] {
  return points.map((point, index) => ({
    index,
    from: index === 0 ? null : point.start_entity,
    to: points[index + 1]?.start_entity ?? null,
    rows: Number(point.row_count),
  }));
}

/** A shard's deterministic key: the same plan of the same version and dataset makes the same keys, so a redelivery is recognisable. */
export function shardKey(model: string, version: number, dataset: string, shard: EntityRange): string {
  return `${model}@${version}/${dataset}/[${shard.from ?? ''},${shard.to ?? ''})`;
}
