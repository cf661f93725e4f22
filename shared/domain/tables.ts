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
      column('source', 'STRING', '"online", "batch" or "shadow" (a shadow revision\'s answer to a copy of a production request).', true),
      column('shadow_of', 'STRING', 'The production prediction id a shadow answer copies; null on every other prediction.'),
      column('entity_id', 'STRING', 'The entity whose online features the prediction used (a request naming entity_ids); null otherwise.'),
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
      column('attributes', 'JSON', 'Sensitive attributes sent with the outcome, e.g. {"sex": "F"}, for fairness monitoring; null when none were sent.'),
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
  {
    name: 'model_performance',
    description: 'Performance from ground truth: one row per model, version, metric and window.',
    columns: [
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column('metric', 'STRING', 'accuracy, precision, recall, f1, roc_auc, log_loss, mae, rmse, r2 or labelled_share.', true),
      column('value', 'FLOAT64', 'The metric over the labelled predictions of the window.', true),
      column('labelled', 'INT64', 'Predictions of the window with ground truth (the sample size).', true),
      column('predictions', 'INT64', 'Predictions of the window.', true),
      column('window_start', 'TIMESTAMP', 'Start of the window.', true),
      column('window_end', 'TIMESTAMP', 'End of the window.', true),
      column('computed_at', 'TIMESTAMP', 'When the row was computed.', true),
    ],
    key: ['model', 'version', 'metric', 'window_start', 'window_end'],
    partitionBy: 'window_end',
    clusterBy: ['model', 'version'],
  },
  {
    name: 'request_outcomes',
    description: 'Requests a serving instance refused (4xx) or failed (5xx), counted per model, version, minute, status and error code; never their bodies.',
    columns: [
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column('minute', 'TIMESTAMP', 'Start of the minute the requests arrived in.', true),
      column('status', 'INT64', 'HTTP status answered.', true),
      column('code', 'STRING', 'The platform error code answered (e.g. MODEL.INVALID_INPUT).', true),
      column('instance', 'STRING', 'The serving instance that counted them: each reports its own running count.', true),
      column('count', 'INT64', 'Requests so answered by that instance in that minute.', true),
    ],
    key: ['model', 'version', 'minute', 'status', 'code', 'instance'],
    partitionBy: 'minute',
    clusterBy: ['model', 'version'],
  },
  {
    name: 'service_health',
    description: 'Request volume and latency per model, version and window.',
    columns: [
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column('predictions', 'INT64', 'Predictions logged in the window (one per instance).', true),
      column('online_predictions', 'INT64', 'Of which served online.', true),
      column('batch_predictions', 'INT64', 'Of which batch-scored.', true),
      column('latency_p50_ms', 'FLOAT64', 'Median online inference latency.'),
      column('latency_p95_ms', 'FLOAT64', '95th percentile online inference latency.'),
      column('latency_p99_ms', 'FLOAT64', '99th percentile online inference latency.'),
      column('error_rate', 'FLOAT64', 'Refused (4xx other than 401/403) and failed (5xx) requests / those plus online predictions; null before any.'),
      column('window_start', 'TIMESTAMP', 'Start of the window.', true),
      column('window_end', 'TIMESTAMP', 'End of the window.', true),
      column('computed_at', 'TIMESTAMP', 'When the row was computed.', true),
    ],
    key: ['model', 'version', 'window_start', 'window_end'],
    partitionBy: 'window_end',
    clusterBy: ['model', 'version'],
  },
  {
    name: 'data_quality',
    description:
      "Data quality per model, version, feature, check and window: the share of the window's predictions failing the check, against its threshold. Feature __requests__ holds the refused requests by error code.",
    columns: [
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column('feature', 'STRING', 'Input feature, or __requests__ for refused requests.', true),
      column('check', 'STRING', 'missing, out_of_range, unseen_category or type_violation; refused:<error code> for __requests__.', true),
      column('value', 'FLOAT64', "Share of the window's predictions (for refusals: of its requests) failing the check.", true),
      column('failing', 'INT64', 'Predictions (or requests) failing the check.', true),
      column('rows', 'INT64', 'Predictions in the window (for refusals: requests, refused ones included).', true),
      column('threshold', 'FLOAT64', 'Largest share allowed before the check alerts; null for a check that only reports.'),
      column('crossed', 'BOOL', 'Whether the value is above the threshold.', true),
      column('reference_size', 'INT64', 'Rows of the reference the range and categories come from.', true),
      column('window_start', 'TIMESTAMP', 'Start of the window.', true),
      column('window_end', 'TIMESTAMP', 'End of the window.', true),
      column('computed_at', 'TIMESTAMP', 'When the row was computed.', true),
    ],
    key: ['model', 'version', 'feature', 'check', 'window_start', 'window_end'],
    partitionBy: 'window_end',
    clusterBy: ['model', 'version'],
  },
  {
    name: 'feature_attributions',
    description:
      'Feature importance per model, version, feature and window: mean absolute attribution over a sample of the window and of the reference, and its drift. Feature __dataset__ holds the ranking agreement (nDCG).',
    columns: [
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column('feature', 'STRING', 'Input feature, or __dataset__ for the ranking agreement.', true),
      column('method', 'STRING', 'linear (exact, read from the graph) or sampled_shapley; ndcg on __dataset__.', true),
      column('reference_importance', 'FLOAT64', 'Mean absolute attribution over the reference sample.'),
      column('current_importance', 'FLOAT64', 'Mean absolute attribution over the window sample.'),
      column('reference_share', 'FLOAT64', "The feature's share of the reference's total importance."),
      column('current_share', 'FLOAT64', "The feature's share of the window's total importance."),
      column(
        'value',
        'FLOAT64',
        "Attribution drift: |current_importance − reference_importance| / the reference's total importance; nDCG of the window's ranking on __dataset__.",
        true,
      ),
      column('threshold', 'FLOAT64', 'Threshold the value was compared with.', true),
      column('drifted', 'BOOL', 'Whether the threshold was crossed (above for shares, below for nDCG).', true),
      column('reference_size', 'INT64', 'Reference rows explained.', true),
      column('current_size', 'INT64', 'Window predictions explained.', true),
      column('window_start', 'TIMESTAMP', 'Start of the window.', true),
      column('window_end', 'TIMESTAMP', 'End of the window.', true),
      column('computed_at', 'TIMESTAMP', 'When the row was computed.', true),
    ],
    key: ['model', 'version', 'feature', 'window_start', 'window_end'],
    partitionBy: 'window_end',
    clusterBy: ['model', 'version'],
  },
  {
    name: 'fairness_metrics',
    description: 'Fairness per model, version, sensitive attribute, group, metric and window; group __all__ holds the comparisons across groups.',
    columns: [
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column('attribute', 'STRING', 'The sensitive attribute (a feature, or an attribute sent with ground truth).', true),
      column('group_value', 'STRING', "The attribute's value, or __all__ for a comparison across groups.", true),
      column(
        'metric',
        'STRING',
        'selection_rate, accuracy, true_positive_rate, false_positive_rate per group; demographic_parity_difference, disparate_impact_ratio, equalized_odds_difference on __all__.',
        true,
      ),
      column('value', 'FLOAT64', 'The metric; null when its group is too small or it has no denominator.'),
      column('predictions', 'INT64', 'Predictions of the group in the window (on __all__: of the groups compared).', true),
      column('labelled', 'INT64', 'Of which with ground truth.', true),
      column('threshold', 'FLOAT64', 'Threshold of a comparison; null on per-group rows.'),
      column('flagged', 'BOOL', 'Whether a comparison crossed its threshold.', true),
      column(
        'too_small',
        'BOOL',
        'Whether the group had fewer predictions (or labelled ones, for accuracy and rates) than the minimum: reported as too small, never as fair.',
        true,
      ),
      column('window_start', 'TIMESTAMP', 'Start of the window.', true),
      column('window_end', 'TIMESTAMP', 'End of the window.', true),
      column('computed_at', 'TIMESTAMP', 'When the row was computed.', true),
    ],
    key: ['model', 'version', 'attribute', 'group_value', 'metric', 'window_start', 'window_end'],
    partitionBy: 'window_end',
    clusterBy: ['model', 'version'],
  },
  {
    name: 'drift_alerts',
    description: 'Alert state per model, version and feature: an alert is sent when it opens, again only after it resolved.',
    columns: [
      column('model', 'STRING', 'Model name.', true),
      column('version', 'INT64', 'Model version.', true),
      column(
        'feature',
        'STRING',
        'Input feature, outputs.<name> or __dataset__ for drift; quality:<feature>, attribution:<feature> or fairness:<attribute> for the other families.',
        true,
      ),
      column('status', 'STRING', '"open" or "resolved".', true),
      column('alert_id', 'STRING', 'Id of the alert last opened.', true),
      column('method', 'STRING', 'Method of the last observation.', true),
      column('value', 'FLOAT64', 'Value of the last observation.', true),
      column('threshold', 'FLOAT64', 'Threshold of the last observation.', true),
      column('opened_at', 'TIMESTAMP', 'When the alert last opened.', true),
      column('updated_at', 'TIMESTAMP', 'When the state was last written.', true),
      column('window_end', 'TIMESTAMP', 'End of the last window observed.', true),
    ],
    key: ['model', 'version', 'feature'],
    clusterBy: ['model', 'version'],
  },
];

/** Looks a table up by name; throws when the platform does not define it. */
export function tableSchema(name: string): TableSchema {
  const table = TABLES.find((candidate) => candidate.name === name);
  if (!table) throw new Error(`No table named "${name}" in shared/domain/tables.ts`);
  return table;
}
