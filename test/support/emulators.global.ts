import type { TestProject } from 'vitest/node';
import { locateEmulators, startFirestoreEmulator, startPubSubEmulator } from '../../scripts/lib/emulators.js';
import { freePort } from '../../shared/processes/processes.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pubsubHost: string;
    firestoreHost: string;
  }
}

/** Starts Google's Pub/Sub and Firestore emulators once for the integration tier, on free ports. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binaries = locateEmulators();
  const [pubsub, firestore] = await Promise.all([
    freePort().then((port) => startPubSubEmulator(binaries.pubsub, '127.0.0.1', port)),
    freePort().then((port) => startFirestoreEmulator(binaries.firestoreJar, '127.0.0.1', port)),
  ]);
  project.provide('pubsubHost', pubsub.host);
  project.provide('firestoreHost', firestore.host);
  return async () => {
    await Promise.all([pubsub.stop(), firestore.stop()]);
  };
}
