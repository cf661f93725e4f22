import type { RunModels } from '../../../shared/domain/logged-model.js';
import type { Experiment, MetricPoint, Run } from '../../../shared/domain/tracking.js';
import { runArtifactUri } from './artifact-paths.js';
import { keyValues } from './protocol.js';

// The shapes of mlflow/protos/service.proto as MLflow's server writes them (message_to_json): snake_case
// names, int64 fields (times, steps) as JSON numbers, an unset optional field left out.

/** The tag MLflow's clients read a run's name from; kept equal to the run's name. */
export const RUN_NAME_TAG = 'mlflow.runName';
/** The tag MLflow's clients record the user in; RunInfo.user_id is read from it. */
export const USER_TAG = 'mlflow.user';

/** MLflow's Metric. */
export interface MetricJson {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

/** MLflow's RunInfo. */
export interface RunInfoJson {
  run_id: string;
  run_uuid: string;
  run_name: string;
  experiment_id: string;
  user_id: string;
  status: Run['status'];
  start_time: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: 'active' | 'deleted';
}

/** MLflow's Run: its info, its data (latest metric values, params, tags), the logged models it used and made, and no dataset inputs. */
export interface RunJson {
  info: RunInfoJson;
  data: { metrics: MetricJson[]; params: { key: string; value: string }[]; tags: { key: string; value: string }[] };
  inputs: { dataset_inputs: []; model_inputs: { model_id: string }[] };
  outputs: { model_outputs: { model_id: string; step: number }[] };
}

/** MLflow's Experiment. */
export interface ExperimentJson {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: 'active';
  creation_time: number;
  last_update_time: number;
  tags: { key: string; value: string }[];
}

/** A run's RunInfo: times in ms, the user from its mlflow.user tag, artifacts through the proxy. */
export function runInfoJson(run: Run): RunInfoJson {
  const info: RunInfoJson = {
    run_id: run.id,
    run_uuid: run.id,
    run_name: run.name,
    experiment_id: run.experimentId,
    user_id: run.tags[USER_TAG] ?? '',
    status: run.status,
    start_time: Date.parse(run.startTime),
    artifact_uri: runArtifactUri(run.experimentId, run.id),
    lifecycle_stage: run.lifecycleStage ?? 'active',
  };
  if (run.endTime !== null) info.end_time = Date.parse(run.endTime);
  return info;
}

/**
 * A run as MLflow's Run; the mlflow.runName tag always says the run's current name, as MLflow's server keeps it.
 * `models` are the logged models it used and made (runs/log-inputs, runs/outputs): MLflow 3's
 * `register_model("runs:/<run>/model")` finds the model in them. Search leaves them out, to spare a read per run.
 */
export function runJson(run: Run, models: RunModels = { inputs: [], outputs: [] }): RunJson {
  const metrics = Object.keys(run.metrics)
    .sort()
    .map((key) =>
      metricJson({ key, value: run.metrics[key]!, step: run.metricSummaries[key]?.step ?? 0, timestamp: run.metricSummaries[key]?.timestamp ?? 0 }),
    );
  return {
    info: runInfoJson(run),
    data: { metrics, params: keyValues(run.params), tags: keyValues({ ...run.tags, [RUN_NAME_TAG]: run.name }) },
    inputs: { dataset_inputs: [], model_inputs: models.inputs.map(({ modelId }) => ({ model_id: modelId })) },
    outputs: { model_outputs: models.outputs.map(({ modelId, step }) => ({ model_id: modelId, step })) },
  };
}

/** One metric point as MLflow's Metric. */
export function metricJson({ key, value, timestamp, step }: MetricPoint): MetricJson {
  return { key, value, timestamp, step };
}

/** An experiment as MLflow's Experiment: its artifacts live under `mlflow-artifacts:/<id>`, and it never changes once made. */
export function experimentJson(experiment: Experiment): ExperimentJson {
  const created = Date.parse(experiment.createdAt);
  return {
    experiment_id: experiment.id,
    name: experiment.name,
    artifact_location: `mlflow-artifacts:/${experiment.id}`,
    lifecycle_stage: 'active',
    creation_time: created,
    last_update_time: created,
    tags: keyValues(experiment.tags),
  };
}
