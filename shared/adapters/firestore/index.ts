/** ModelRegistry, TrackingStore and LoggedModelStore backends on Firestore (native mode), with transactions for every state change. */
export type { FirestoreLoggedModelStoreOptions } from './firestore-logged-model-store.js';
export { FirestoreLoggedModelStore } from './firestore-logged-model-store.js';
export type { FirestoreModelRegistryOptions } from './firestore-model-registry.js';
export { FirestoreModelRegistry } from './firestore-model-registry.js';
export type { FirestoreRetrainStoreOptions } from './firestore-retrain-store.js';
export { FirestoreRetrainStore } from './firestore-retrain-store.js';
export type { FirestoreTrackingStoreOptions } from './firestore-tracking-store.js';
export { FirestoreTrackingStore } from './firestore-tracking-store.js';
export type { FirestoreWebhookStoreOptions } from './firestore-webhook-store.js';
export { FirestoreWebhookStore } from './firestore-webhook-store.js';
