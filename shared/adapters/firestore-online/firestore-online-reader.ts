import { PlatformError } from '../../domain/errors.js';
import { metadataServerToken, requestJson } from '../firestore-rest/index.js';
import type { OnlineFeatureReader } from '../../ports/online-feature-store.port.js';
import { entityPath } from './online-documents.js';

/** Options of the REST reader (as firestore-rest's reader takes them). */
export interface FirestoreOnlineReaderOptions {
  projectId: string;
  databaseId?: string;
  /** host:port of the Firestore emulator: plain HTTP with the emulator's owner token, as the SDK does. */
  emulatorHost?: string;
  /** The API's base URL when not the emulator. */
  apiEndpoint?: string;
  /** A bearer token for the API; the metadata server's (Cloud Run) when not given. */
  accessToken?: () => Promise<string>;
  /** Longest a lookup may take before the request fails with FEATURES.LOOKUP_FAILED. */
  timeoutMs?: number;
}

/** One result of `documents:batchGet`: a document found, or the name of one missing. */
interface BatchGetResult {
  found?: { name: string; fields?: Record<string, { stringValue?: string }> };
  missing?: string;
}

/**
 * Online features for serving over Firestore's REST API on Node's own HTTP client: every lookup is one
 * `documents:batchGet` POST, and no Firestore SDK, gRPC or auth library loads in the serving revision.
 */
export class FirestoreOnlineReader implements OnlineFeatureReader {
  private readonly batchGetUrl: string;
  private readonly databaseName: string;
  private readonly token: () => Promise<string>;
  private readonly timeoutMs: number;

  constructor({
    projectId,
    databaseId = '(default)',
    emulatorHost,
    apiEndpoint = 'https://firestore.googleapis.com',
    accessToken,
    timeoutMs = 5000,
  }: FirestoreOnlineReaderOptions) {
    const base = emulatorHost ? `http://${emulatorHost}` : apiEndpoint.replace(/\/$/, '');
    this.databaseName = `projects/${projectId}/databases/${databaseId}`;
    this.batchGetUrl = `${base}/v1/projects/${encodeURIComponent(projectId)}/databases/${encodeURIComponent(databaseId)}/documents:batchGet`;
    this.token = emulatorHost ? async () => 'owner' : (accessToken ?? metadataServerToken());
    this.timeoutMs = timeoutMs;
  }

  async read(dataset: string, entityIds: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const documents = [...new Set(entityIds)].map((id) => `${this.databaseName}/documents/${entityPath(dataset, id)}`);
    const found = new Map<string, Record<string, unknown>>();
    if (documents.length === 0) return found;
    const headers = { authorization: `Bearer ${await this.token().catch(lookupFailed)}` };
    const { status, body } = await requestJson(this.batchGetUrl, { method: 'POST', payload: { documents }, headers, timeoutMs: this.timeoutMs }).catch(
      lookupFailed,
    );
    if (status !== 200 || !Array.isArray(body)) lookupFailed(new Error(`batchGet answered ${status}: ${JSON.stringify(body).slice(0, 300)}`));
    for (const { found: document } of body as BatchGetResult[]) {
      const entityId = document?.fields?.entity_id?.stringValue;
      const features = document?.fields?.features?.stringValue;
      if (entityId !== undefined && features !== undefined) found.set(entityId, JSON.parse(features) as Record<string, unknown>);
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
