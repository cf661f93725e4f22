/** ModelRegistry reads over Firestore's REST API on Node's own HTTP client, for a fast cold start; everything else through the Firestore SDK adapter. */
export type { FirestoreRestModelRegistryOptions } from './firestore-rest-model-registry.js';
export { FirestoreRestModelRegistry } from './firestore-rest-model-registry.js';
export type { FirestoreRestReaderOptions } from './firestore-rest-reader.js';
export { FirestoreRestError, FirestoreRestReader } from './firestore-rest-reader.js';
