/** Scheduled job runs on Firestore, through the SDK (loaded on first use). */
export type { FirestoreJobRunStoreOptions } from './firestore-job-run-store.js';
export { FirestoreJobRunStore } from './firestore-job-run-store.js';
