// The two Grafana dashboards, as code. `npx tsx scripts/grafana-dashboards.ts` writes them to
// infra/grafana/dashboards/*.json, which Grafana's file provisioning (provisioning/dashboards/mlops.yaml)
// loads; test/unit/infra/grafana/grafana.test.ts fails when those files differ from what these functions build.
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { bars, Format, modelVariable, sql, tablePanel, textVariable, timeSeries } from './panels.js';

/** How a query names the Grafana variable `name` (`${name}`), without a template literal substituting it. */
const variable = (name: string): string => `\${${name}}`;
/** The models picked in the `model` variable, as a list of SQL strings. */
const MODELS = variable('model:singlequote');
const LABEL_OUTPUT = variable('label_output');
const VALUE_OUTPUT = variable('value_output');

/** A dashboard with the settings both share: UTC, the last 7 days, refreshed every 5 minutes, a shared crosshair and links to each other. */
function mlopsDashboard(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['mlops'])
    .editable()
    .timezone('utc')
    .version(1)
    .refresh('5m')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-7d', to: 'now' })
    .annotations([])
    .link(new dashboard.DashboardLinkBuilder('MLOps dashboards').type(dashboard.DashboardLinkType.Dashboards).tags(['mlops']).asDropdown(false));
}

/** One row per labelled prediction: its time, model, version, the class it predicted (`$label_output`) and the observed label. */
const CLASSIFIED_PREDICTIONS = `FROM (
  SELECT p.predicted_at, p.model, p.version, p.predicted_label, g.label
  FROM (
    SELECT prediction_id, ANY_VALUE(request_time) AS predicted_at, ANY_VALUE(model) AS model, ANY_VALUE(version) AS version,
      ANY_VALUE(JSON_VALUE(outputs, '$.${LABEL_OUTPUT}')) AS predicted_label
    FROM mlops.predictions
    WHERE $__timeFilter(request_time) AND model IN (${MODELS})
    GROUP BY prediction_id
  ) AS p
  JOIN (
    SELECT prediction_id, ANY_VALUE(label) AS label FROM mlops.ground_truth WHERE label IS NOT NULL GROUP BY prediction_id
  ) AS g USING (prediction_id)
)`;

const SERVING_SQL = {
  models: 'SELECT DISTINCT model FROM mlops.predictions WHERE $__timeFilter(request_time) ORDER BY model',
  volume: `SELECT $__timeGroup(request_time, $__interval) AS time, model, COUNT(DISTINCT prediction_id) AS predictions
FROM mlops.predictions
WHERE $__timeFilter(request_time) AND model IN (${MODELS})
GROUP BY time, model
ORDER BY time`,
  latency: `SELECT $__timeGroup(request_time, $__interval) AS time,
  APPROX_QUANTILES(latency_ms, 100)[OFFSET(50)] AS p50,
  APPROX_QUANTILES(latency_ms, 100)[OFFSET(95)] AS p95,
  APPROX_QUANTILES(latency_ms, 100)[OFFSET(99)] AS p99
FROM mlops.predictions
WHERE $__timeFilter(request_time) AND model IN (${MODELS}) AND latency_ms IS NOT NULL AND source = 'online'
GROUP BY time
ORDER BY time`,
  errorRate: `SELECT $__timeGroup(predicted_at, $__interval) AS time, model, COUNTIF(predicted_label != label) / COUNT(*) AS error_rate
${CLASSIFIED_PREDICTIONS}
GROUP BY time, model
ORDER BY time`,
  versionTimeline: `SELECT $__timeGroup(request_time, $__interval) AS time, FORMAT('%s v%d', model, version) AS model_version, COUNT(DISTINCT prediction_id) AS predictions
FROM mlops.predictions
WHERE $__timeFilter(request_time) AND model IN (${MODELS})
GROUP BY time, model_version
ORDER BY time`,
  versionsServed: `SELECT model, version, MIN(request_time) AS first_prediction, MAX(request_time) AS last_prediction, COUNT(DISTINCT prediction_id) AS predictions
FROM mlops.predictions
WHERE $__timeFilter(request_time) AND model IN (${MODELS})
GROUP BY model, version
ORDER BY model, version DESC`,
};

/** Serving: prediction volume, latency percentiles, error rate against ground truth and which versions served. */
export function servingDashboard(): dashboard.Dashboard {
  return mlopsDashboard(
    'mlops-serving',
    'MLOps · Serving',
    'Prediction traffic, latency, error rate and model versions, from the mlops.predictions and mlops.ground_truth BigQuery tables.',
  )
    .withVariable(modelVariable(SERVING_SQL.models))
    .withVariable(textVariable('label_output', 'Label output', 'label', "Output holding a classifier's predicted class (the exporter writes `label`)."))
    .withPanel(
      bars(timeSeries(1, 'Prediction volume', { x: 0, y: 0, w: 12, h: 8 }), 60, common.StackingMode.Normal)
        .description('Predictions served per interval, by model (distinct prediction ids, online and batch).')
        .unit('short')
        .withTarget(sql(Format.Timeseries, SERVING_SQL.volume)),
    )
    .withPanel(
      timeSeries(2, 'Inference latency p50 / p95 / p99', { x: 12, y: 0, w: 12, h: 8 })
        .description('latency_ms as logged by the serving revision: time spent in the model for the request (online predictions).')
        .unit('ms')
        .withTarget(sql(Format.Timeseries, SERVING_SQL.latency)),
    )
    .withPanel(
      timeSeries(3, 'Error rate (against ground truth)', { x: 0, y: 8, w: 12, h: 8 })
        .description(
          'No table records failed requests: only successful predictions reach BigQuery. The error rate computed from what exists is the share of labelled ' +
            'predictions whose predicted class ($label_output) differs from the observed label in mlops.ground_truth, by prediction time. HTTP error rates ' +
            'of the serving services are in Cloud Monitoring (run.googleapis.com/request_count by response_code_class).',
        )
        .unit('percentunit')
        .withTarget(sql(Format.Timeseries, SERVING_SQL.errorRate)),
    )
    .withPanel(
      bars(timeSeries(4, 'Model-version timeline', { x: 12, y: 8, w: 12, h: 8 }), 80, common.StackingMode.Percent)
        .description("Predictions per interval by model and version: a promotion shows as one version's band giving way to the next.")
        .unit('short')
        .withTarget(sql(Format.Timeseries, SERVING_SQL.versionTimeline)),
    )
    .withPanel(
      tablePanel(5, 'Versions served', { x: 0, y: 16, w: 24, h: 7 })
        .description('First and last prediction of each model version in the time range.')
        .unit('short')
        .withTarget(sql(Format.Table, SERVING_SQL.versionsServed)),
    )
    .build();
}

const QUALITY_SQL = {
  models: 'SELECT DISTINCT model FROM mlops.drift_metrics WHERE $__timeFilter(window_end) ORDER BY model',
  driftPerFeature: `SELECT window_end AS time, FORMAT('%s v%d %s (%s)', model, version, feature, method) AS series, MAX(value) AS value
FROM mlops.drift_metrics
WHERE $__timeFilter(window_end) AND model IN (${MODELS})
GROUP BY time, series
ORDER BY time`,
  featuresDrifted: `SELECT window_end AS time, model, COUNTIF(drifted) AS drifted_features
FROM mlops.drift_metrics
WHERE $__timeFilter(window_end) AND model IN (${MODELS})
GROUP BY time, model
ORDER BY time`,
  latestDrift: `SELECT model, version, feature, method, value, threshold, drifted, reference_size, current_size, window_end
FROM mlops.drift_metrics
WHERE $__timeFilter(window_end) AND model IN (${MODELS})
QUALIFY ROW_NUMBER() OVER (PARTITION BY model, version, feature, method ORDER BY window_end DESC) = 1
ORDER BY drifted DESC, value DESC`,
  accuracy: `SELECT $__timeGroup(predicted_at, $__interval) AS time, FORMAT('%s v%d', model, version) AS model_version, COUNTIF(predicted_label = label) / COUNT(*) AS accuracy
${CLASSIFIED_PREDICTIONS}
GROUP BY time, model_version
ORDER BY time`,
  meanAbsoluteError: `SELECT $__timeGroup(predicted_at, $__interval) AS time, FORMAT('%s v%d', model, version) AS model_version, AVG(ABS(predicted_value - observed_value)) AS mae
FROM (
  SELECT p.predicted_at, p.model, p.version, p.predicted_value, g.observed_value
  FROM (
    SELECT prediction_id, ANY_VALUE(request_time) AS predicted_at, ANY_VALUE(model) AS model, ANY_VALUE(version) AS version,
      ANY_VALUE(SAFE_CAST(JSON_VALUE(outputs, '$.${VALUE_OUTPUT}') AS FLOAT64)) AS predicted_value
    FROM mlops.predictions
    WHERE $__timeFilter(request_time) AND model IN (${MODELS})
    GROUP BY prediction_id
  ) AS p
  JOIN (
    SELECT prediction_id, ANY_VALUE(value) AS observed_value FROM mlops.ground_truth WHERE value IS NOT NULL GROUP BY prediction_id
  ) AS g USING (prediction_id)
)
WHERE predicted_value IS NOT NULL
GROUP BY time, model_version
ORDER BY time`,
};

/** Model quality: drift per feature from the monitoring job, accuracy and mean absolute error from ground truth. */
export function modelQualityDashboard(): dashboard.Dashboard {
  return mlopsDashboard(
    'mlops-model-quality',
    'MLOps · Drift and performance',
    'Drift per feature from mlops.drift_metrics, and performance against ground truth from mlops.predictions joined with mlops.ground_truth.',
  )
    .withVariable(modelVariable(QUALITY_SQL.models))
    .withVariable(textVariable('label_output', 'Label output', 'label', "Output holding a classifier's predicted class."))
    .withVariable(textVariable('value_output', 'Value output', 'value', "Output holding a regressor's prediction."))
    .withPanel(
      timeSeries(1, 'Drift per feature', { x: 0, y: 0, w: 16, h: 9 })
        .description('The drift statistic of each feature and method per monitoring window (one row per model, version, feature, method and window).')
        .unit('short')
        .withTarget(sql(Format.Timeseries, QUALITY_SQL.driftPerFeature)),
    )
    .withPanel(
      bars(timeSeries(2, 'Features drifted per window', { x: 16, y: 0, w: 8, h: 9 }), 60)
        .description('How many feature/method pairs crossed their threshold in each window.')
        .unit('short')
        .withTarget(sql(Format.Timeseries, QUALITY_SQL.featuresDrifted)),
    )
    .withPanel(
      tablePanel(3, 'Latest drift by feature', { x: 0, y: 9, w: 24, h: 8 })
        .description('The most recent window of each model, version, feature and method; drifted rows first.')
        .unit('short')
        .withTarget(sql(Format.Table, QUALITY_SQL.latestDrift)),
    )
    .withPanel(
      timeSeries(4, 'Accuracy by version (classifiers)', { x: 0, y: 17, w: 12, h: 8 })
        .description('Share of labelled predictions whose predicted class ($label_output) matches the observed label, by prediction time and model version.')
        .unit('percentunit')
        .withTarget(sql(Format.Timeseries, QUALITY_SQL.accuracy)),
    )
    .withPanel(
      timeSeries(5, 'Mean absolute error by version (regressors)', { x: 12, y: 17, w: 12, h: 8 })
        .description('Mean |predicted $value_output - observed value| over predictions with ground truth, by prediction time and model version.')
        .unit('short')
        .withTarget(sql(Format.Timeseries, QUALITY_SQL.meanAbsoluteError)),
    )
    .build();
}

/** Every provisioned dashboard, by its file name under infra/grafana/dashboards/. */
export const DASHBOARDS: Record<string, () => dashboard.Dashboard> = {
  'mlops-serving.json': servingDashboard,
  'mlops-model-quality.json': modelQualityDashboard,
};

/** A dashboard as its JSON file holds it (builders carry functions and undefined fields that JSON drops). */
export function dashboardJson(build: () => dashboard.Dashboard): unknown {
  return JSON.parse(JSON.stringify(build()));
}
