import { PlatformError } from '../../domain/errors.js';
import { FirestoreRestReader, type FirestoreRestReaderOptions } from '../firestore-rest/index.js';
import type { OnlineFeatureReader } from '../../ports/online-feature-store.port.js';
import { entityPath } from './online-documents.js';

/** Options of the serving reader: firestore-rest's, with a shorter default timeout, after which the lookup fails with FEATURES.LOOKUP_FAILED. */
export type FirestoreOnlineReaderOptions = FirestoreRestReaderOptions;

/**
 * Online features for serving over Firestore's REST API on Node's own HTTP client: every lookup is one
 * `documents:batchGet` POST, and no Firestore SDK, gRPC or auth library loads in the serving revision.
 */
export class FirestoreOnlineReader implements OnlineFeatureReader {
  private readonly reader: FirestoreRestReader;

  constructor({ timeoutMs = 5000, ...options }: FirestoreOnlineReaderOptions) {
    this.reader = new FirestoreRestReader({ ...options, timeoutMs });
  }

  async read(dataset: string, entityIds: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const documents = await this.reader.batchGet([...new Set(entityIds)].map((id) => entityPath(dataset, id))).catch(lookupFailed);
    const found = new Map<string, Record<string, unknown>>();
    for (const { entity_id: entityId, features } of documents.values()) {
      if (typeof entityId === 'string' && typeof features === 'string') found.set(entityId, JSON.parse(features) as Record<string, unknown>);
    }
    return found;
  }
}

/** A lookup the store did not answer: transient, so the client may retry (503). */
function lookupFailed(error: unknown): never {
  throw new PlatformError('FEATURES.LOOKUP_FAILED', `The online feature store did not answer the lookup: ${(error as Error).message}`, {
    permanent: false,
    cause: error,
  });
}
