/** Every Pub/Sub topic of the platform, named once. */
export const TOPICS = {
  modelArtifacts: 'model-artifacts',
  modelRegistered: 'model-registered',
  modelPromotions: 'model-promotions',
  modelPromoted: 'model-promoted',
  predictions: 'predictions',
  groundTruth: 'ground-truth',
  monitorSchedule: 'monitor-schedule',
  driftAlerts: 'drift-alerts',
  batchScoring: 'batch-scoring',
  batchScored: 'batch-scored',
  driftComputed: 'drift-computed',
  rolloutChanged: 'rollout-changed',
  rolloutSchedule: 'rollout-schedule',
  retrainRequested: 'retrain-requested',
  scheduledJobs: 'scheduled-jobs',
} as const;

/** A topic name from TOPICS. */
export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** The dead-letter topic of a source topic. */
export const deadLetterTopicOf = (topic: string): string => `${topic}-dead-letter`;
