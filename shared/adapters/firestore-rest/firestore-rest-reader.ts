import type { IncomingMessage } from 'node:http';
import { type FirestoreValue, decodeFields } from './firestore-value.js';

/** Options of the REST reader. */
export interface FirestoreRestReaderOptions {
  projectId: string;
  databaseId?: string;
  /** host:port of the Firestore emulator: plain HTTP with the emulator's owner token, as the SDK does. */
  emulatorHost?: string;
  /** The API's base URL when not the emulator. */
  apiEndpoint?: string;
  /** A bearer token for the API; the metadata server's (Cloud Run, Cloud Functions) when not given. */
  accessToken?: () => Promise<string>;
  /** Longest a read may take before it fails (and the caller falls back to the SDK). */
  timeoutMs?: number;
}

/** The metadata server's token endpoint, every Cloud Run and Cloud Functions instance has one; by address, as Google's auth library tries it first, so no DNS lookup. */
const METADATA_TOKEN_URL = 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token';

/** A read the REST path could not answer (transport, auth, a server error): the caller reads through the SDK instead. */
export class FirestoreRestError extends Error {}

/**
 * Reads single Firestore documents with one HTTP GET each on Node's own client: no Firestore SDK,
 * gRPC or auth library to load, which is most of a serving revision's cold start otherwise.
 */
export class FirestoreRestReader {
  private readonly documentsUrl: string;
  private readonly databaseName: string;
  private readonly token: () => Promise<string>;
  private readonly timeoutMs: number;

  constructor({
    projectId,
    databaseId = '(default)',
    emulatorHost,
    apiEndpoint = 'https://firestore.googleapis.com',
    accessToken,
    timeoutMs = 10_000,
  }: FirestoreRestReaderOptions) {
    const base = emulatorHost ? `http://${emulatorHost}` : apiEndpoint.replace(/\/$/, '');
    this.documentsUrl = `${base}/v1/projects/${encodeURIComponent(projectId)}/databases/${encodeURIComponent(databaseId)}/documents`;
    this.databaseName = `projects/${projectId}/databases/${databaseId}`;
    this.token = emulatorHost ? async () => 'owner' : (accessToken ?? metadataServerToken());
    this.timeoutMs = timeoutMs;
  }

  /** The document at `path` (collection, id, collection, id, ...) as the SDK's `data()` returns it; undefined when it does not exist. */
  async get(path: string[]): Promise<Record<string, unknown> | undefined> {
    const url = `${this.documentsUrl}/${path.map(encodeURIComponent).join('/')}`;
    const { status, body } = await requestJson(url, { headers: { authorization: `Bearer ${await this.token()}` }, timeoutMs: this.timeoutMs });
    if (status === 404) return undefined;
    if (status !== 200) throw new FirestoreRestError(`GET ${url} answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
    return decodeFields((body as { fields?: Record<string, FirestoreValue> }).fields ?? {});
  }

  /**
   * The documents at `paths` (each `collection/id/...`) in one `documents:batchGet`, as `get` decodes them,
   * by path; a document that does not exist is absent from the map.
   */
  async batchGet(paths: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    if (paths.length === 0) return found;
    const prefix = `${this.databaseName}/documents/`;
    const url = `${this.documentsUrl}:batchGet`;
    const headers = { authorization: `Bearer ${await this.token()}` };
    const { status, body } = await requestJson(url, {
      method: 'POST',
      payload: { documents: paths.map((path) => prefix + path) },
      headers,
      timeoutMs: this.timeoutMs,
    });
    if (status !== 200 || !Array.isArray(body)) throw new FirestoreRestError(`POST ${url} answered ${status}: ${JSON.stringify(body).slice(0, 300)}`);
    for (const { found: document } of body as { found?: { name: string; fields?: Record<string, FirestoreValue> } }[]) {
      if (document) found.set(document.name.slice(prefix.length), decodeFields(document.fields ?? {}));
    }
    return found;
  }
}

/** The instance's access token from the metadata server (`url` in tests), reused until a minute before it expires. */
export function metadataServerToken(url = METADATA_TOKEN_URL): () => Promise<string> {
  let cached: { token: string; expiresAt: number } | undefined;
  return async () => {
    if (cached && Date.now() < cached.expiresAt) return cached.token;
    const { status, body } = await requestJson(url, { headers: { 'metadata-flavor': 'Google' }, timeoutMs: 5000 });
    const { access_token: token, expires_in: expiresIn } = body as { access_token?: string; expires_in?: number };
    if (status !== 200 || !token) throw new FirestoreRestError(`The metadata server answered ${status} for a token.`);
    cached = { token, expiresAt: Date.now() + ((expiresIn ?? 0) - 60) * 1000 };
    return token;
  };
}

/** One request with a JSON answer, on node:http(s): fetch's first use loads its client (undici), tens of milliseconds at start. */
async function requestJson(
  url: string,
  { method = 'GET', payload, headers = {}, timeoutMs }: { method?: 'GET' | 'POST'; payload?: unknown; headers?: Record<string, string>; timeoutMs: number },
): Promise<{ status: number; body: unknown }> {
  const { request } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  const sent = payload === undefined ? undefined : JSON.stringify(payload);
  const sentHeaders = sent === undefined ? headers : { 'content-type': 'application/json', ...headers };
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => reject(new FirestoreRestError(`${method} ${url} failed: ${error.message}`, { cause: error }));
    const call = request(url, { method, headers: { accept: 'application/json', ...sentHeaders }, timeout: timeoutMs }, (response: IncomingMessage) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('error', fail);
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
        } catch (error) {
          fail(error as Error);
        }
      });
    });
    call.on('timeout', () => call.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    call.on('error', fail);
    call.end(sent);
  });
}
