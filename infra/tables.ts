/** Column types shared by both warehouses; each adapter maps them to its own SQL types. */
export type ColumnType = 'STRING' | 'INT64' | 'FLOAT64' | 'BOOL' | 'TIMESTAMP' | 'JSON';

/** One column of a warehouse table. */
export interface ColumnSchema {
  name: string;
  type: ColumnType;
  required?: boolean;
  description: string;
}

/** One warehouse table: its columns, the key that makes writes idempotent, and its layout. */
export interface TableSchema {
  name: string;
  description: string;
  columns: ColumnSchema[];
  /** Columns whose values identify a row; a second write of the same key is not a new row. */
  key: string[];
  /** BigQuery partitions by this TIMESTAMP column's day. */
  partitionBy?: string;
  /** BigQuery clusters by these columns. */
  clusterBy?: string[];
}

const column = (name: string, type: ColumnType, description: string, required = false): ColumnSchema => ({ name, type, description, required });

/** The tables of the `mlops` dataset (a DuckDB schema locally). */
export const TABLES: TableSchema[] = [
  {
    name: 'offline_features',
    description: 'Feature rows for training and batch scoring, one per entity, event time and dataset.',
    columns: [
      column('dataset_id', 'STRING', 'Dataset the row belongs to.', true),
      column('entity_id', 'STRING', 'Entity the features describe.', true),
      column('event_time', 'TIMESTAMP', 'When the features were observed.', true),
      column('features', 'JSON', 'Feature values by name.', true),
      column('loaded_at', 'TIMESTAMP', 'When the row was loaded.', true),
    ],
    key: ['dataset_id', 'entity_id', 'event_time'],
    partitionBy: 'event_time',
    clusterBy: ['dataset_id'],
  },
  {
    name: 'predictions',
    description: 'Every prediction served, online or batch, exactly once.',
    columns: [
      column('prediction_id', 'STRING', 'Unique id returned to the caller.', true),
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column('request_time', 'TIMESTAMP', 'When the request arrived.', true),
      column('features', 'JSON', 'Input features by name.', true),
      column('outputs', 'JSON', 'Model outputs by name.', true),
      column('latency_ms', 'FLOAT64', 'Inference latency of the request.'),
      column('source', 'STRING', '"online" or "batch".', true),
    ],
    key: ['prediction_id'],
    partitionBy: 'request_time',
    clusterBy: ['model', 'version'],
  },
  {
    name: 'ground_truth',
    description: 'Observed outcomes, joined to predictions by prediction id; may arrive days later.',
    columns: [
      column('prediction_id', 'STRING', 'Prediction the outcome belongs to.', true),
      column('label', 'STRING', 'Observed class label, for classifiers.'),
      column('value', 'FLOAT64', 'Observed value, for regressors.'),
      column('observed_time', 'TIMESTAMP', 'When the outcome was observed.', true),
    ],
    key: ['prediction_id'],
    partitionBy: 'observed_time',
  },
  {
    name: 'drift_metrics',
    description: 'One row per model, version, feature, method and window.',
    columns: [
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column('feature', 'STRING', 'Input feature or output name.', true),
      column('method', 'STRING', 'Statistic used, e.g. ks, psi, wasserstein, jensen_shannon, chi_square.', true),
      column('value', 'FLOAT64', 'Statistic or p-value.', true),
      column('threshold', 'FLOAT64', 'Threshold the value was compared with.', true),
      column('drifted', 'BOOL', 'Whether the threshold was crossed.', true),
      column('window_start', 'TIMESTAMP', 'Start of the current window.', true),
      column('window_end', 'TIMESTAMP', 'End of the current window.', true),
      column('reference_size', 'INT64', 'Rows in the reference sample.', true),
      column('current_size', 'INT64', 'Rows in the current window.', true),
      column('computed_at', 'TIMESTAMP', 'When the row was computed.', true),
    ],
    key: ['model', 'version', 'feature', 'method', 'window_start', 'window_end'],
    partitionBy: 'window_end',
    clusterBy: ['model', 'version'],
  },
];

/** Looks a table up by name; throws when infra/ does not define it. */
export function tableSchema(name: string): TableSchema {
  const table = TABLES.find((candidate) => candidate.name === name);
  if (!table) throw new Error(`No table named "${name}" in infra/tables.ts`);
  return table;
}
