import type { ModelVersion } from '../../shared/domain/registry.js';
import type { ServingMetrics } from '../../shared/http/metrics.js';
import { runtimeMetrics } from '../../shared/http/runtime-metrics.js';
import type { PredictionLog } from '../../shared/services/prediction-log.js';
import type { Predictor } from './predictor.js';
import type { MetricFamily } from './rollout-parts.js';

/** The serving /metrics page: requests, model runs, the version served, the prediction log's health, the rollout parts' counters and the runtime's. */
export function renderMetrics(
  metrics: ServingMetrics,
  version: ModelVersion,
  served: { sha256: string },
  predictor: Predictor,
  predictionLog: PredictionLog | undefined,
  rolloutFamilies: MetricFamily[],
): string {
  const stats = predictionLog?.stats;
  const runs = predictor.batcher.stats;
  return metrics.render(
    [
      {
        name: 'mlops_model_runs_total',
        help: 'Runs of the model; concurrent requests coalesced into one run count once.',
        type: 'counter',
        samples: [{ value: runs.runs }],
      },
      {
        name: 'mlops_model_run_requests_total',
        help: 'Requests answered by those runs (divided by the runs: requests per run).',
        type: 'counter',
        samples: [{ value: runs.requests }],
      },
      {
        name: 'mlops_model_info',
        help: 'The model version this revision serves.',
        type: 'gauge',
        samples: [{ labels: { model: version.model, version: String(version.version), sha256: version.sha256, served_sha256: served.sha256 }, value: 1 }],
      },
      {
        name: 'mlops_prediction_log_published_total',
        help: 'Prediction records published to the predictions topic.',
        type: 'counter',
        samples: [{ value: stats?.published ?? 0 }],
      },
      {
        name: 'mlops_prediction_log_publish_failures_total',
        help: 'Failed publishes of prediction batches.',
        type: 'counter',
        samples: [{ value: stats?.publishFailures ?? 0 }],
      },
      {
        name: 'mlops_prediction_log_dropped_total',
        help: 'Prediction records given up (buffer over its memory budget, or still waiting at shutdown).',
        type: 'counter',
        samples: [{ value: stats?.dropped ?? 0 }],
      },
      { name: 'mlops_prediction_log_buffered', help: 'Prediction records waiting to be published.', type: 'gauge', samples: [{ value: stats?.buffered ?? 0 }] },
      {
        name: 'mlops_prediction_log_buffered_bytes',
        help: 'Estimated memory of the records waiting to be published.',
        type: 'gauge',
        samples: [{ value: stats?.bufferedBytes ?? 0 }],
      },
      ...rolloutFamilies,
    ],
    runtimeMetrics().lines(),
  );
}
