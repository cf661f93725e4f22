/** ModelRegistry and TrackingStore backends on Firestore (native mode), with transactions for every state change. */
export type { FirestoreModelRegistryOptions } from './firestore-model-registry.js';
export { FirestoreModelRegistry } from './firestore-model-registry.js';
export type { FirestoreTrackingStoreOptions } from './firestore-tracking-store.js';
export { FirestoreTrackingStore } from './firestore-tracking-store.js';
