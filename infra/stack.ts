import { BUCKET_NOTIFICATION } from '../shared/adapters/gcs-notification/index.js';
import { TABLES } from '../shared/domain/tables.js';
import { deadLetterTopicOf, TOPICS, type TopicName } from '../shared/domain/topics.js';
import { WEBHOOK_SOURCE_TOPICS, type WebhookSourceTopic } from '../shared/domain/webhooks.js';

/** Components a deployment can switch on or off; every resource belongs to one. */
export type Component = 'registry' | 'serving' | 'prediction-log' | 'monitoring' | 'batch-scoring' | 'tracking';

/** How a function is invoked: by messages on a topic, or over HTTPS. */
export type Trigger = { type: 'topic'; topic: TopicName } | { type: 'http' };

/** One Cloud Function (gen2): where its entry lives, how it is triggered and sized. */
export interface FunctionSpec {
  name: string;
  /** The name the entry registers with the Functions Framework. */
  entryPoint: string;
  /** Entry module, relative to the project root. */
  source: string;
  component: Component;
  trigger: Trigger;
  memory: string;
  timeoutSeconds: number;
  maxInstances: number;
  /** Roles the function's own service account needs, and nothing more. */
  roles: string[];
  /** Deployed once per served model (its own service), by serving-rollout, not by the runner's function host. */
  perModel?: boolean;
  /**
   * Entry module of a direct HTTP server (no Functions Framework in front). When set, the bundle also
   * holds it as `server.js`, and the function is deployed as a Cloud Run service that starts it.
   */
  server?: string;
  /** Functions whose service accounts this one's may act as (iam.serviceAccountUser on those accounts only). */
  actAs?: string[];
}

/** Redelivery settings shared by every subscription. */
export const RETRY_POLICY = { minimumBackoffSeconds: 10, maximumBackoffSeconds: 600 } as const;
/** Deliveries before Pub/Sub gives a message up to its dead-letter topic. */
export const MAX_DELIVERY_ATTEMPTS = 5;

const fn = (spec: Omit<FunctionSpec, 'memory' | 'timeoutSeconds' | 'maxInstances'> & Partial<FunctionSpec>): FunctionSpec => ({
  memory: '512Mi',
  timeoutSeconds: 60,
  maxInstances: 10,
  ...spec,
});

/** The component each webhook source topic's events come from. */
const WEBHOOK_COMPONENTS: Record<WebhookSourceTopic, Component> = {
  'model-registered': 'registry',
  'model-promoted': 'registry',
  'rollout-changed': 'serving',
  'drift-alerts': 'monitoring',
};

/** Every function of the platform. */
export const FUNCTIONS: FunctionSpec[] = [
  fn({
    name: 'register-model',
    entryPoint: 'registerModel',
    source: 'functions/register-model/index.ts',
    component: 'registry',
    trigger: { type: 'topic', topic: TOPICS.modelArtifacts },
    memory: '1Gi',
    timeoutSeconds: 300,
    roles: ['roles/storage.objectViewer', 'roles/datastore.user', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'promote-model',
    entryPoint: 'promoteModel',
    source: 'functions/promote-model/index.ts',
    component: 'registry',
    trigger: { type: 'topic', topic: TOPICS.modelPromotions },
    memory: '256Mi',
    roles: ['roles/datastore.user', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'serving-rollout',
    entryPoint: 'rollOutServing',
    source: 'functions/serving-rollout/index.ts',
    component: 'serving',
    trigger: { type: 'topic', topic: TOPICS.modelPromoted },
    memory: '256Mi',
    timeoutSeconds: 540,
    maxInstances: 5,
    // Copies of the serving service keep its invokerIamDisabled setting, which needs run.services.setIamPolicy:
    // roles/run.developer lacks it. New services run as serve's account, hence actAs.
    roles: ['roles/datastore.user', 'roles/run.admin'],
    actAs: ['serve'],
  }),
  fn({
    name: 'rollout-serving',
    entryPoint: 'routeRollout',
    source: 'functions/serving-rollout/index.ts',
    component: 'serving',
    trigger: { type: 'topic', topic: TOPICS.rolloutChanged },
    memory: '256Mi',
    timeoutSeconds: 540,
    maxInstances: 5,
    // Moves Cloud Run traffic between revisions of the copies serving-rollout made: the same rights as it.
    roles: ['roles/datastore.user', 'roles/run.admin'],
    actAs: ['serve'],
  }),
  fn({
    name: 'analyse-rollouts',
    entryPoint: 'analyseRollouts',
    source: 'functions/analyse-rollouts/index.ts',
    component: 'serving',
    trigger: { type: 'topic', topic: TOPICS.rolloutSchedule },
    timeoutSeconds: 300,
    // One run at a time: each run reads every active rollout, judges its step and writes it back.
    maxInstances: 1,
    // Reads the arms' figures from the warehouse (query jobs), moves rollouts in the registry, publishes their changes.
    roles: ['roles/datastore.user', 'roles/bigquery.dataViewer', 'roles/bigquery.jobUser', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'serve',
    entryPoint: 'serve',
    source: 'functions/serve/index.ts',
    server: 'functions/serve/server.ts',
    component: 'serving',
    trigger: { type: 'http' },
    memory: '1Gi',
    maxInstances: 100,
    perModel: true,
    roles: ['roles/datastore.viewer', 'roles/storage.objectViewer', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'ingest-predictions',
    entryPoint: 'ingestPredictions',
    source: 'functions/ingest-predictions/index.ts',
    component: 'prediction-log',
    trigger: { type: 'topic', topic: TOPICS.predictions },
    roles: ['roles/bigquery.dataEditor', 'roles/bigquery.jobUser'],
  }),
  fn({
    name: 'ingest-ground-truth',
    entryPoint: 'ingestGroundTruth',
    source: 'functions/ingest-ground-truth/index.ts',
    component: 'prediction-log',
    trigger: { type: 'topic', topic: TOPICS.groundTruth },
    roles: ['roles/bigquery.dataEditor', 'roles/bigquery.jobUser'],
  }),
  fn({
    name: 'data-api',
    entryPoint: 'dataApi',
    source: 'functions/data-api/index.ts',
    component: 'prediction-log',
    trigger: { type: 'http' },
    roles: ['roles/bigquery.dataEditor', 'roles/bigquery.jobUser', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'score-batch',
    entryPoint: 'scoreBatch',
    source: 'functions/score-batch/index.ts',
    component: 'batch-scoring',
    trigger: { type: 'topic', topic: TOPICS.batchScoring },
    memory: '2Gi',
    timeoutSeconds: 540,
    maxInstances: 3,
    roles: ['roles/bigquery.dataEditor', 'roles/bigquery.jobUser', 'roles/datastore.viewer', 'roles/storage.objectViewer', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'run-job',
    entryPoint: 'runJob',
    source: 'functions/run-job/index.ts',
    // The declared jobs of mlops.deploy.json: they need the registry whatever they do, and run whatever else is switched off.
    component: 'registry',
    trigger: { type: 'topic', topic: TOPICS.scheduledJobs },
    // A batch-score job scores in this process on DuckDB, as score-batch does.
    memory: '2Gi',
    timeoutSeconds: 540,
    maxInstances: 3,
    // BigQuery: batch-score writes predictions, materialize and retrain read tables. Firestore: job_runs and the online store
    // are written, the registry read. Storage: model files read, reports written. Pub/Sub: drift runs, shards, retrain requests.
    roles: ['roles/bigquery.dataEditor', 'roles/bigquery.jobUser', 'roles/datastore.user', 'roles/storage.objectUser', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'compute-drift',
    entryPoint: 'computeDrift',
    source: 'functions/compute-drift/index.ts',
    component: 'monitoring',
    trigger: { type: 'topic', topic: TOPICS.monitorSchedule },
    memory: '1Gi',
    timeoutSeconds: 540,
    // One run at a time: alert state is read, moved and written per run.
    maxInstances: 1,
    // Model files are read to explain the window's predictions, and each version's explanation background is written beside them.
    roles: ['roles/bigquery.dataEditor', 'roles/bigquery.jobUser', 'roles/datastore.viewer', 'roles/storage.objectUser', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'notify-alerts',
    entryPoint: 'notifyAlerts',
    source: 'functions/notify-alerts/index.ts',
    component: 'monitoring',
    trigger: { type: 'topic', topic: TOPICS.driftAlerts },
    memory: '256Mi',
    maxInstances: 3,
    roles: ['roles/pubsub.publisher'],
  }),
  fn({
    name: 'trigger-retrain',
    entryPoint: 'triggerRetrain',
    source: 'functions/trigger-retrain/index.ts',
    component: 'monitoring',
    trigger: { type: 'topic', topic: TOPICS.driftComputed },
    memory: '256Mi',
    maxInstances: 3,
    // datastore.user: each model's retrain episode is written in a transaction; tags are read from the registry.
    roles: ['roles/datastore.user', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'deliver-retrain',
    entryPoint: 'deliverRetrain',
    source: 'functions/deliver-retrain/index.ts',
    component: 'monitoring',
    trigger: { type: 'topic', topic: TOPICS.retrainRequested },
    // A retrain command or webhook may take minutes; 540 s is an event function's ceiling.
    timeoutSeconds: 540,
    maxInstances: 3,
    // The window is read from BigQuery and exported to the bucket; deliveries and audit entries go to Firestore.
    // run.developer: starting a job with a container override needs run.jobs.runWithOverrides, which run.invoker
    // lacks (https://cloud.google.com/run/docs/execute/jobs, "Required roles").
    roles: [
      'roles/bigquery.dataViewer',
      'roles/bigquery.jobUser',
      'roles/datastore.user',
      'roles/storage.objectUser',
      'roles/pubsub.publisher',
      'roles/run.developer',
    ],
  }),
  // One function per source topic, all running the same entry: each gets its own subscription (and so
  // its own redelivery), and a receiver that is down holds back only the deliveries of that topic.
  // Each belongs to the component whose events it sends: no rollouts without serving, no alerts without monitoring.
  ...WEBHOOK_SOURCE_TOPICS.map((topic) =>
    fn({
      name: `deliver-webhooks-${topic}`,
      entryPoint: 'deliverWebhooks',
      source: 'functions/deliver-webhooks/index.ts',
      component: WEBHOOK_COMPONENTS[topic],
      trigger: { type: 'topic', topic },
      memory: '256Mi',
      maxInstances: 3,
      // Reads the subscriptions and records each delivery (Firestore); dead-letters what can never be delivered.
      roles: ['roles/datastore.user', 'roles/pubsub.publisher'],
    }),
  ),
  fn({
    name: 'monitoring-api',
    entryPoint: 'monitoringApi',
    source: 'functions/monitoring-api/index.ts',
    component: 'monitoring',
    trigger: { type: 'http' },
    memory: '256Mi',
    // datastore.viewer: `mlops rollout compare` reads the rollout and the candidate's task from the registry.
    roles: ['roles/bigquery.dataViewer', 'roles/bigquery.jobUser', 'roles/datastore.viewer'],
  }),
  fn({
    name: 'registry-api',
    entryPoint: 'registryApi',
    source: 'functions/registry-api/index.ts',
    component: 'registry',
    trigger: { type: 'http' },
    memory: '256Mi',
    roles: ['roles/datastore.user', 'roles/pubsub.publisher'],
  }),
  fn({
    name: 'tracking',
    entryPoint: 'tracking',
    source: 'functions/tracking/index.ts',
    component: 'tracking',
    trigger: { type: 'http' },
    memory: '512Mi',
    // MLflow's model-versions/create waits up to 50 s for register-model; MLflow's client gives a request 120 s.
    timeoutSeconds: 110,
    // pubsub.publisher: setting an alias through MLflow's API announces it on model-promoted, as `mlops promote` does.
    roles: ['roles/datastore.user', 'roles/storage.objectAdmin', 'roles/pubsub.publisher'],
  }),
];

/** A push subscription feeding one topic to one function, with its dead-letter topic. */
export interface SubscriptionSpec {
  name: string;
  topic: TopicName;
  function: string;
  deadLetterTopic: string;
  ackDeadlineSeconds: number;
}

/** Subscriptions derived from the functions' topic triggers, so the topology is stated once. */
export const SUBSCRIPTIONS: SubscriptionSpec[] = FUNCTIONS.flatMap((spec) =>
  spec.trigger.type === 'topic'
    ? [
        {
          name: `${spec.name}-sub`,
          topic: spec.trigger.topic,
          function: spec.name,
          deadLetterTopic: deadLetterTopicOf(spec.trigger.topic),
          ackDeadlineSeconds: Math.min(600, Math.max(10, spec.timeoutSeconds)),
        },
      ]
    : [],
);

/** Every topic to create: the platform's topics plus one dead-letter topic per subscribed topic. */
export const ALL_TOPICS: string[] = [...Object.values(TOPICS), ...new Set(SUBSCRIPTIONS.map((sub) => sub.deadLetterTopic))];

/** A Cloud Scheduler job publishing a fixed message to a topic on a cron schedule. */
export interface SchedulerJobSpec {
  name: string;
  schedule: string;
  topic: TopicName;
  message: Record<string, unknown>;
  component: Component;
  /** What the Cloud Scheduler job says it does (at most 500 characters); by default the message and topic. */
  description?: string;
}

/** Scheduled work: drift monitoring every hour; the analysis of running rollouts every minute (a run with none active reads one query's worth of Firestore). */
export const SCHEDULER_JOBS: SchedulerJobSpec[] = [
  { name: 'monitor-hourly', schedule: '0 * * * *', topic: TOPICS.monitorSchedule, message: { trigger: 'schedule' }, component: 'monitoring' },
  { name: 'rollout-analysis', schedule: '* * * * *', topic: TOPICS.rolloutSchedule, message: { trigger: 'schedule' }, component: 'serving' },
];

/** The whole stack as data, read by both the deploy and the local runner. */
export const STACK = {
  topics: ALL_TOPICS,
  subscriptions: SUBSCRIPTIONS,
  functions: FUNCTIONS,
  tables: TABLES,
  schedulerJobs: SCHEDULER_JOBS,
  bucketNotification: BUCKET_NOTIFICATION,
};
