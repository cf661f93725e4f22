import { tableResource } from '../shared/adapters/bigquery/index.js';
import type { TableSchema } from '../shared/domain/tables.js';
import { bucketOf, type DeployConfig, firestoreLocationOf } from './deploy-config.js';
import { bindingStep } from './plan-iam.js';
import { apiCall, gcloud, type Stack, type Step, variable } from './plan-steps.js';
import type { Component } from './stack.js';

/**
 * The component each table serves. A table infra/ adds without an entry here is `core`: always
 * created, since something in the platform writes it.
 */
export const TABLE_COMPONENTS: Record<string, Component> = {
  offline_features: 'batch-scoring',
  predictions: 'prediction-log',
  ground_truth: 'monitoring',
  drift_metrics: 'monitoring',
};

/** The artifact bucket, and its notification to the topic register-model listens on (owned by that function's component). */
export function bucketSteps(stack: Stack, config: DeployConfig, functions: Stack['functions']): Step[] {
  const bucket = bucketOf(config);
  const { project } = config;
  const notification = stack.bucketNotification;
  const listener = stack.functions.find((spec) => spec.trigger.type === 'topic' && spec.trigger.topic === notification.topic);
  const component = listener?.component ?? 'core';
  const bucketStep: Step = {
    id: `bucket:${bucket}`,
    kind: 'bucket',
    name: bucket,
    component: 'core',
    summary: `Artifact bucket gs://${bucket} in ${config.region}`,
    check: { call: gcloud('storage', 'buckets', 'describe', `gs://${bucket}`, `--project=${project}`, '--format=json') },
    apply: gcloud(
      'storage',
      'buckets',
      'create',
      `gs://${bucket}`,
      `--project=${project}`,
      `--location=${config.region}`,
      '--uniform-bucket-level-access',
      '--public-access-prevention',
    ),
    destroy: [gcloud('storage', 'rm', '--recursive', `gs://${bucket}`, `--project=${project}`)],
    holdsData: true,
  };
  if (listener && !functions.includes(listener)) return [bucketStep];
  const topic = `//pubsub.googleapis.com/projects/${project}/topics/${notification.topic}`;
  const body = {
    topic: `projects/${project}/topics/${notification.topic}`,
    payload_format: notification.payloadFormat,
    event_types: [...notification.eventTypes],
    object_name_prefix: notification.objectNamePrefix,
  };
  const agent: Step = {
    id: 'lookup:GCS_SERVICE_AGENT',
    kind: 'lookup',
    name: 'GCS_SERVICE_AGENT',
    component,
    summary: "Read (and create if needed) the project's Cloud Storage service agent, which publishes bucket notifications",
    apply: gcloud('storage', 'service-agent', `--project=${project}`),
    output: 'GCS_SERVICE_AGENT',
  };
  return [
    bucketStep,
    agent,
    bindingStep({
      scope: { type: 'topic', project, topic: notification.topic },
      member: `serviceAccount:${variable('GCS_SERVICE_AGENT')}`,
      role: 'roles/pubsub.publisher',
      component,
    }),
    {
      id: `bucket-notification:${bucket}:${notification.topic}`,
      kind: 'bucket-notification',
      name: `${bucket} -> ${notification.topic}`,
      component,
      summary: `Notify ${notification.topic} on ${notification.eventTypes.join(', ')} under ${notification.objectNamePrefix} (${notification.payloadFormat})`,
      check: { call: apiCall('storage', 'notifications.list', `b/${bucket}`), expect: [{ ...body, topic }] },
      apply: apiCall('storage', 'notifications.insert', `b/${bucket}`, body),
      destroy: [apiCall('storage', 'notifications.delete', `b/${bucket}`, { topic })],
    },
  ];
}

/** The registry's Firestore database in native mode; it holds data, so teardown keeps it unless asked. */
export function firestoreStep(config: DeployConfig): Step {
  const where = ['--database=(default)', `--project=${config.project}`];
  const location = firestoreLocationOf(config);
  return {
    id: 'firestore:(default)',
    kind: 'firestore',
    name: '(default)',
    component: 'core',
    summary: `Firestore database (default), native mode, in ${location}: the model registry`,
    check: { call: gcloud('firestore', 'databases', 'describe', ...where, '--format=json') },
    apply: gcloud('firestore', 'databases', 'create', ...where, `--location=${location}`, '--type=firestore-native'),
    destroy: [gcloud('firestore', 'databases', 'delete', ...where, '--quiet')],
    holdsData: true,
  };
}

/** The dataset (always: an empty dataset is free) and the tables of the enabled components, partitioned and clustered as infra/ says. */
export function warehouseSteps(stack: Stack, config: DeployConfig): Step[] {
  const { project } = config;
  const { dataset, location } = config.bigquery;
  const datasetName = `projects/${project}/datasets/${dataset}`;
  const datasetStep: Step = {
    id: `dataset:${dataset}`,
    kind: 'dataset',
    name: dataset,
    component: 'core',
    summary: `BigQuery dataset ${dataset} in ${location}`,
    check: { call: apiCall('bigquery', 'datasets.get', datasetName) },
    apply: apiCall('bigquery', 'datasets.insert', datasetName, {
      datasetReference: { projectId: project, datasetId: dataset },
      location,
      description: 'MLOps platform: predictions, ground truth, drift metrics, offline features.',
    }),
    destroy: [apiCall('bigquery', 'datasets.delete', datasetName, { deleteContents: true })],
    holdsData: true,
  };
  const tables = stack.tables.filter((table) => {
    const owner = TABLE_COMPONENTS[table.name];
    return owner === undefined || config.components[owner];
  });
  return [datasetStep, ...tables.map((table) => tableStep(table, project, dataset))];
}

function tableStep(table: TableSchema, projectId: string, datasetId: string): Step {
  const name = `projects/${projectId}/datasets/${datasetId}/tables/${table.name}`;
  const layout = [table.partitionBy && `partitioned by day of ${table.partitionBy}`, table.clusterBy?.length && `clustered by ${table.clusterBy.join(', ')}`];
  return {
    id: `table:${table.name}`,
    kind: 'table',
    name: table.name,
    component: TABLE_COMPONENTS[table.name] ?? 'core',
    summary: `Table ${datasetId}.${table.name}${layout.some(Boolean) ? `, ${layout.filter(Boolean).join(', ')}` : ''}`,
    check: { call: apiCall('bigquery', 'tables.get', name) },
    apply: apiCall('bigquery', 'tables.insert', name, { tableReference: { projectId, datasetId, tableId: table.name }, ...tableResource(table) }),
    destroy: [apiCall('bigquery', 'tables.delete', name)],
    holdsData: true,
  };
}
