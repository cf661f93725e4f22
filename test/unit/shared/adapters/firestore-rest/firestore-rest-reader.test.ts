import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FirestoreRestModelRegistry } from '../../../../../shared/adapters/firestore-rest/firestore-rest-model-registry.js';
import { FirestoreRestError, FirestoreRestReader, metadataServerToken } from '../../../../../shared/adapters/firestore-rest/firestore-rest-reader.js';
import { UndecodableValueError, decodeFields } from '../../../../../shared/adapters/firestore-rest/firestore-value.js';
import type { ModelRegistry } from '../../../../../shared/ports/model-registry.port.js';

/** A version document as the Firestore emulator's REST API returns it (trimmed to a few fields of each kind). */
const VERSION_DOCUMENT = {
  name: 'projects/demo/databases/(default)/documents/models/churn/versions/3',
  fields: {
    model: { stringValue: 'churn' },
    version: { integerValue: '3' },
    generation: { stringValue: '1796209374676000' },
    sizeBytes: { integerValue: '591' },
    signature: {
      mapValue: {
        fields: {
          inputs: {
            arrayValue: {
              values: [
                {
                  mapValue: {
                    fields: {
                      name: { stringValue: 'features' },
                      type: { stringValue: 'float32' },
                      shape: { arrayValue: { values: [{ nullValue: null }, { integerValue: '4' }] } },
                    },
                  },
                },
              ],
            },
          },
          outputs: { arrayValue: {} },
        },
      },
    },
    metrics: { mapValue: { fields: { auc: { doubleValue: 0.91 }, loss: { doubleValue: 'NaN' }, bound: { doubleValue: 'Infinity' } } } },
    params: { mapValue: {} },
    archived: { booleanValue: false },
  },
  createTime: '2026-12-02T11:02:54.700Z',
  updateTime: '2026-12-02T11:02:54.700Z',
};

/** What the Firestore SDK's `data()` returns for VERSION_DOCUMENT. */
const VERSION_DATA = {
  model: 'churn',
  version: 3,
  generation: '1796209374676000',
  sizeBytes: 591,
  signature: { inputs: [{ name: 'features', type: 'float32', shape: [null, 4] }], outputs: [] },
  metrics: { auc: 0.91, loss: Number.NaN, bound: Number.POSITIVE_INFINITY },
  params: {},
  archived: false,
};

describe('decodeFields', () => {
  it('decodes each value kind as the SDK does: integers as numbers, doubles including NaN and Infinity', () => {
    expect(decodeFields(VERSION_DOCUMENT.fields)).toEqual(VERSION_DATA);
  });

  it('refuses kinds the SDK turns into its own classes, so the caller reads through the SDK', () => {
    expect(() => decodeFields({ at: { timestampValue: '2026-12-02T11:02:54.700Z' } })).toThrow(UndecodableValueError);
    expect(() => decodeFields({ blob: { bytesValue: 'AAE=' } })).toThrow(UndecodableValueError);
    expect(() => decodeFields({ nested: { mapValue: { fields: { ref: { referenceValue: 'projects/p/databases/d/documents/a/b' } } } } })).toThrow(
      UndecodableValueError,
    );
  });
});

/** A local stand-in for Firestore's REST API and the metadata server, recording every request. */
class FakeGoogle {
  readonly requests: { url: string; authorization?: string; flavor?: string }[] = [];
  status = 200;
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((request, response) => this.answer(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '';
    this.requests.push({ url, authorization: request.headers.authorization, flavor: request.headers['metadata-flavor'] as string | undefined });
    response.setHeader('content-type', 'application/json');
    if (url.startsWith('/token')) return void response.end(JSON.stringify({ access_token: 'token-1', expires_in: 3599, token_type: 'Bearer' }));
    if (this.status !== 200) return void response.writeHead(this.status).end(JSON.stringify({ error: { code: this.status, status: 'UNAVAILABLE' } }));
    if (url.endsWith('/versions/3')) return void response.end(JSON.stringify(VERSION_DOCUMENT));
    response.writeHead(404).end(JSON.stringify({ error: { code: 404, message: 'Document not found.', status: 'NOT_FOUND' } }));
  }
}

describe('FirestoreRestReader', () => {
  const google = new FakeGoogle();
  let base = '';

  beforeAll(async () => {
    base = await google.start();
  });
  afterAll(() => google.stop());
  beforeEach(() => {
    google.requests.length = 0;
    google.status = 200;
  });

  it('reads a document from the database named, with the metadata server token, fetched once', async () => {
    const reader = new FirestoreRestReader({ projectId: 'demo', databaseId: 'registry', apiEndpoint: base, accessToken: metadataServerToken(`${base}/token`) });
    expect(await reader.get(['models', 'churn', 'versions', '3'])).toEqual(VERSION_DATA);
    expect(await reader.get(['models', 'churn', 'versions', '4'])).toBeUndefined();
    expect(google.requests).toEqual([
      { url: '/token', flavor: 'Google' },
      { url: '/v1/projects/demo/databases/registry/documents/models/churn/versions/3', authorization: 'Bearer token-1' },
      { url: '/v1/projects/demo/databases/registry/documents/models/churn/versions/4', authorization: 'Bearer token-1' },
    ]);
  });

  it("talks to the emulator over plain HTTP with the emulator's owner token", async () => {
    const reader = new FirestoreRestReader({ projectId: 'demo', emulatorHost: new URL(base).host });
    await reader.get(['models', 'churn', 'versions', '3']);
    expect(google.requests).toEqual([{ url: '/v1/projects/demo/databases/(default)/documents/models/churn/versions/3', authorization: 'Bearer owner' }]);
  });

  it('fails with FirestoreRestError on a server error or an unreachable endpoint', async () => {
    google.status = 503;
    const reader = new FirestoreRestReader({ projectId: 'demo', emulatorHost: new URL(base).host });
    await expect(reader.get(['models', 'churn', 'versions', '3'])).rejects.toThrow(FirestoreRestError);
    const nowhere = new FirestoreRestReader({ projectId: 'demo', apiEndpoint: 'http://127.0.0.1:9', accessToken: async () => 'x' });
    await expect(nowhere.get(['models', 'churn'])).rejects.toThrow(FirestoreRestError);
  });
});

describe('FirestoreRestModelRegistry', () => {
  const google = new FakeGoogle();
  let host = '';
  const sdkReads: string[] = [];
  const sdk = {
    getVersion: async (name: string, version: number) => {
      sdkReads.push(`${name}/${version}`);
      return { ...VERSION_DATA, via: 'sdk' };
    },
    listModels: async () => [],
  } as unknown as ModelRegistry;

  beforeAll(async () => {
    host = new URL(await google.start()).host;
  });
  afterAll(() => google.stop());
  beforeEach(() => {
    sdkReads.length = 0;
    google.status = 200;
  });

  const registry = (onFallback?: (error: unknown) => void) =>
    new FirestoreRestModelRegistry({ projectId: 'demo', emulatorHost: host, fallback: async () => sdk, onFallback });

  it("reads a model's version and a missing model over REST, without building the SDK registry", async () => {
    let built = 0;
    const reads = new FirestoreRestModelRegistry({
      projectId: 'demo',
      emulatorHost: host,
      fallback: async () => {
        built++;
        return sdk;
      },
    });
    expect(await reads.getVersion('churn', 3)).toEqual(VERSION_DATA);
    expect(await reads.getModel('absent')).toBeUndefined();
    expect(built).toBe(0);
  });

  it('reads again through the SDK when REST cannot answer, and says why', async () => {
    google.status = 503;
    const reasons: unknown[] = [];
    expect(await registry((error) => reasons.push(error)).getVersion('churn', 3)).toMatchObject({ via: 'sdk' });
    expect(sdkReads).toEqual(['churn/3']);
    expect(reasons).toEqual([expect.any(FirestoreRestError)]);
  });

  it('hands everything but the two reads to the SDK registry', async () => {
    expect(await registry().listModels()).toEqual([]);
  });
});
