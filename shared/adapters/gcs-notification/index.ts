/** The wire format of Cloud Storage's Pub/Sub notifications (JSON_API_V1): what the bucket publishes to model-artifacts, and what the local bucket imitates. */
export type { FinalizedObject } from './gcs-notification.js';
export { BUCKET_NOTIFICATION, bucketNotificationFor, objectFinalizeNotification } from './gcs-notification.js';
