/** The online feature store on Firestore: written through the SDK (loaded on first use), read at serving time over REST. */
export type { FirestoreOnlineFeatureStoreOptions } from './firestore-online-store.js';
export { FirestoreOnlineFeatureStore } from './firestore-online-store.js';
export type { FirestoreOnlineReaderOptions } from './firestore-online-reader.js';
export { FirestoreOnlineReader } from './firestore-online-reader.js';
