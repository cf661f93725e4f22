import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { CRC32C, Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isPlatformError } from '../../../../../shared/domain/errors.js';
import { GcsArtifactStore, RESUMABLE_THRESHOLD_BYTES, writeStreamOptions } from '../../../../../shared/adapters/gcs/gcs-artifact-store.js';
import { toStoredObject } from '../../../../../shared/adapters/gcs/gcs-object.js';
import type { GcsObjectResource } from '../../../../../shared/adapters/gcs/gcs-object.js';
import type { StoredObject } from '../../../../../shared/ports/artifact-store.port.js';

const BUCKET = 'mlops-artifacts';

/** A real OBJECT_FINALIZE notification (payload format JSON_API_V1), as Pub/Sub delivers it. */
const finalizeNotification = {
  attributes: {
    eventType: 'OBJECT_FINALIZE',
    payloadFormat: 'JSON_API_V1',
    bucketId: BUCKET,
    objectId: 'models/churn/3/model.onnx',
    objectGeneration: '1718035200123456',
    notificationConfig: `projects/_/buckets/${BUCKET}/notificationConfigs/1`,
    eventTime: '2024-06-10T16:00:00.123456Z',
  },
  data: Buffer.from(
    JSON.stringify({
      kind: 'storage#object',
      id: `${BUCKET}/models/churn/3/model.onnx/1718035200123456`,
      selfLink: `https://www.googleapis.com/storage/v1/b/${BUCKET}/o/models%2Fchurn%2F3%2Fmodel.onnx`,
      name: 'models/churn/3/model.onnx',
      bucket: BUCKET,
      generation: '1718035200123456',
      metageneration: '1',
      contentType: 'application/onnx',
      timeCreated: '2024-06-10T16:00:00.123Z',
      updated: '2024-06-10T16:00:00.123Z',
      storageClass: 'STANDARD',
      timeStorageClassUpdated: '2024-06-10T16:00:00.123Z',
      size: '1048576',
      md5Hash: 'XUFAKrxLKna5cZ2REBfFkg==',
      mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${BUCKET}/o/models%2Fchurn%2F3%2Fmodel.onnx?generation=1718035200123456&alt=media`,
      metadata: { 'run-id': 'run-20240610-1', framework: 'sklearn' },
      crc32c: 'yZRlqg==',
      etag: 'CMDq6b6/0YYDEAE=',
    }),
  ).toString('base64'),
};

const resources: Array<[string, GcsObjectResource, Partial<StoredObject>]> = [
  [
    'OBJECT_FINALIZE notification payload',
    JSON.parse(Buffer.from(finalizeNotification.data, 'base64').toString('utf8')),
    {
      generation: '1718035200123456',
      size: 1048576,
      contentType: 'application/onnx',
      metadata: { 'run-id': 'run-20240610-1', framework: 'sklearn' },
      uri: `gs://${BUCKET}/models/churn/3/model.onnx`,
    },
  ],
  [
    'objects.get response without contentType or metadata',
    {
      kind: 'storage#object',
      bucket: BUCKET,
      name: 'runs/r1/metrics.json',
      generation: '1718035299000001',
      metageneration: '1',
      size: '0',
      md5Hash: '1B2M2Y8AsgTpgAmY7PhCfg==',
      timeCreated: '2024-06-10T16:01:39.000Z',
    } as GcsObjectResource,
    { contentType: 'application/octet-stream', metadata: {}, size: 0, generation: '1718035299000001' },
  ],
  [
    'resource with a cleared (null) metadata key and numeric generation',
    { bucket: BUCKET, name: 'a b/ü.bin', generation: 42, size: 7, metadata: { keep: 'x', cleared: null } },
    { generation: '42', size: 7, metadata: { keep: 'x' }, md5Hash: '', uri: `gs://${BUCKET}/a b/ü.bin` },
  ],
];

describe('toStoredObject', () => {
  it.each(resources)('maps %s', (_label, resource, expected) => {
    expect(toStoredObject(resource)).toMatchObject({ bucket: resource.bucket, name: resource.name, ...expected });
  });
});

describe('writeStreamOptions', () => {
  it.each([
    [1024, false],
    [RESUMABLE_THRESHOLD_BYTES, false],
    [RESUMABLE_THRESHOLD_BYTES + 1, true],
    [undefined, true],
  ])('size %s → resumable %s', (size, resumable) => {
    expect(writeStreamOptions(size).resumable).toBe(resumable);
  });
});

interface RecordedRequest {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A fake GCS JSON API holding every generation of every object, recording each request. */
class FakeGcs {
  readonly requests: RecordedRequest[] = [];
  readonly objects = new Map<string, Array<{ resource: Record<string, unknown>; bytes: Buffer }>>();
  private nextGeneration = 1718035200000001;
  private sessions = new Map<string, Record<string, unknown>>();
  private server: Server = createServer((req, res) => {
    // A bug in the fake should fail the test, not leave the client waiting for a response.
    this.handle(req, res).catch((error: unknown) => send(res, 500, { error: { code: 500, message: String(error) } }));
  });
  endpoint = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', this.endpoint);
    const request = { method: req.method ?? '', url, headers: req.headers, body: Buffer.concat(chunks) };
    this.requests.push(request);
    const { method } = request;
    const objectPath = /^\/storage\/v1\/b\/[^/]+\/o\/(.+)$/.exec(url.pathname);
    if (method === 'POST' && url.searchParams.get('uploadType') === 'multipart') return this.multipart(request, res);
    if (method === 'POST' && url.searchParams.get('uploadType') === 'resumable') return this.openSession(request, res);
    if (method === 'PUT' && url.pathname.startsWith('/session/')) return this.finishSession(request, res);
    if (method === 'GET' && url.pathname.endsWith('/o')) return this.list(url, res);
    if (!objectPath?.[1]) return send(res, 400, { error: { code: 400, message: 'unexpected' } });
    const name = decodeURIComponent(objectPath[1]);
    const versions = this.objects.get(name) ?? [];
    const wanted = url.searchParams.get('generation');
    const version = wanted ? versions.find((v) => v.resource.generation === wanted) : versions.at(-1);
    if (!version) return send(res, 404, { error: { code: 404, message: `No such object: ${BUCKET}/${name}` } });
    if (method === 'DELETE') {
      this.objects.delete(name);
      return void res.writeHead(204).end();
    }
    if (url.searchParams.get('alt') === 'media') return void res.writeHead(200).end(version.bytes);
    send(res, 200, version.resource);
  }

  private multipart({ url, headers, body }: RecordedRequest, res: ServerResponse): void {
    const boundary = /boundary=([^;]+)/.exec(headers['content-type'] ?? '')?.[1]?.replace(/"/g, '') ?? '';
    const parts = body.toString('latin1').split(`--${boundary}`).slice(1, -1);
    const [metadata, content] = parts.map((part) => part.slice(part.indexOf('\r\n\r\n') + 4, -2));
    const resource = { ...JSON.parse(metadata ?? '{}'), name: url.searchParams.get('name') };
    send(res, 200, this.store(resource, Buffer.from(content ?? '', 'latin1')));
  }

  // Like GCS, take the content type from X-Upload-Content-Type when the body does not carry it.
  private openSession({ url, headers, body }: RecordedRequest, res: ServerResponse): void {
    const id = `${this.sessions.size + 1}`;
    const contentType = headers['x-upload-content-type'];
    const metadata = JSON.parse(body.toString('utf8') || '{}');
    this.sessions.set(id, { contentType, ...metadata, name: url.searchParams.get('name') });
    res.writeHead(200, { location: `${this.endpoint}/session/${id}` }).end();
  }

  private finishSession({ url, body }: RecordedRequest, res: ServerResponse): void {
    send(res, 200, this.store(this.sessions.get(url.pathname.split('/').at(-1) ?? '') ?? {}, body));
  }

  private list(url: URL, res: ServerResponse): void {
    const prefix = url.searchParams.get('prefix') ?? '';
    const live = [...this.objects.values()].map((versions) => versions.at(-1)?.resource).filter((resource) => String(resource?.name).startsWith(prefix));
    // Serve two per page, in insertion order, so the adapter must both paginate and sort.
    const start = Number(url.searchParams.get('pageToken') ?? 0);
    const nextPageToken = start + 2 < live.length ? String(start + 2) : undefined;
    send(res, 200, { kind: 'storage#objects', items: live.slice(start, start + 2), nextPageToken });
  }

  private store(metadata: Record<string, unknown>, bytes: Buffer): Record<string, unknown> {
    const name = String(metadata.name);
    const generation = String(this.nextGeneration++);
    const resource = {
      kind: 'storage#object',
      id: `${BUCKET}/${name}/${generation}`,
      ...metadata,
      bucket: BUCKET,
      generation,
      metageneration: '1',
      size: String(bytes.length),
      md5Hash: createHash('md5').update(bytes).digest('base64'),
      crc32c: crc32c(bytes),
      timeCreated: new Date(0).toISOString(),
    };
    this.objects.set(name, [...(this.objects.get(name) ?? []), { resource, bytes }]);
    return resource;
  }
}

// The client checks the crc32c GCS answers with against the bytes it sent, and deletes on mismatch.
function crc32c(bytes: Buffer): string {
  const checksum = new CRC32C();
  checksum.update(bytes);
  return checksum.toString();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

describe('GcsArtifactStore against a fake GCS JSON API', () => {
  const gcs = new FakeGcs();
  let store: GcsArtifactStore;

  beforeAll(async () => {
    await gcs.start();
    // A custom endpoint skips authentication unless useAuthWithCustomEndpoint is set.
    const storage = new Storage({
      apiEndpoint: gcs.endpoint,
      projectId: 'test',
      useAuthWithCustomEndpoint: false,
      retryOptions: { autoRetry: false },
    });
    store = new GcsArtifactStore({ bucket: BUCKET, storage });
  });
  afterAll(() => gcs.stop());
  beforeEach(() => {
    gcs.requests.length = 0;
    gcs.objects.clear();
  });

  it('uploads small bytes in one request carrying content type and metadata', async () => {
    const progress: number[] = [];
    const bytes = new TextEncoder().encode('{"auc":0.91}');
    const stored = await store.put('runs/r1/metrics.json', bytes, {
      contentType: 'application/json',
      metadata: { 'run-id': 'r1' },
      onProgress: (written) => progress.push(written),
    });
    const upload = gcs.requests.find((r) => r.method === 'POST');
    expect(upload?.url.searchParams.get('uploadType')).toBe('multipart');
    expect(upload?.body.toString()).toContain('"contentType":"application/json"');
    expect(upload?.body.toString()).toContain('"metadata":{"run-id":"r1"}');
    expect(progress.at(-1)).toBe(bytes.byteLength);
    expect(stored).toMatchObject({ size: bytes.byteLength, contentType: 'application/json', metadata: { 'run-id': 'r1' } });
    expect(stored.uri).toBe(`gs://${BUCKET}/runs/r1/metrics.json`);
    expect(stored.generation).toBe(gcs.objects.get('runs/r1/metrics.json')?.[0]?.resource.generation);
  });

  it('uploads a stream through a resumable session', async () => {
    const stored = await store.put('models/m/1/model.onnx', Readable.from([Buffer.from('onnx'), Buffer.from('-bytes')]), {
      contentType: 'application/onnx',
      metadata: { stage: 'candidate' },
    });
    const open = gcs.requests.find((r) => r.method === 'POST');
    expect(open?.url.searchParams.get('uploadType')).toBe('resumable');
    expect(open?.headers['x-upload-content-type']).toBe('application/onnx');
    expect(JSON.parse(open?.body.toString() ?? '{}')).toMatchObject({ metadata: { stage: 'candidate' } });
    expect(stored).toMatchObject({ size: 10, contentType: 'application/onnx', metadata: { stage: 'candidate' } });
    expect(gcs.objects.get('models/m/1/model.onnx')?.[0]?.bytes.toString()).toBe('onnx-bytes');
  });

  it('reads a pinned generation, sending generation= on the media request', async () => {
    const first = await store.put('model.onnx', Buffer.from('v1'));
    await store.put('model.onnx', Buffer.from('v2'));
    gcs.requests.length = 0;
    expect(Buffer.from(await store.get('model.onnx', first.generation)).toString()).toBe('v1');
    expect(gcs.requests[0]?.url.searchParams.get('generation')).toBe(first.generation);
    expect(Buffer.from(await store.get('model.onnx')).toString()).toBe('v2');
  });

  it.each([
    ['an absent object', undefined],
    ['an absent generation', '1'],
  ])('maps 404 on %s to a permanent ARTIFACT.NOT_FOUND naming the gs:// URI', async (_label, generation) => {
    await store.put('present.bin', Buffer.from('x'));
    const name = generation ? 'present.bin' : 'missing.bin';
    const error = await store.get(name, generation).catch((e: unknown) => e);
    expect(isPlatformError(error, 'ARTIFACT.NOT_FOUND')).toBe(true);
    expect(error).toMatchObject({ permanent: true, message: expect.stringContaining(`gs://${BUCKET}/${name}`) });
  });

  it('stats an object, and answers undefined when it is absent', async () => {
    await store.put('a.txt', Buffer.from('abc'), { contentType: 'text/plain' });
    expect(await store.stat('a.txt')).toMatchObject({ size: 3, contentType: 'text/plain' });
    expect(await store.stat('nope.txt')).toBeUndefined();
  });

  it('lists every page under a prefix in name order', async () => {
    for (const name of ['runs/c', 'runs/a', 'other/x', 'runs/b']) await store.put(name, Buffer.from(name));
    const listed = await store.list('runs/');
    expect(listed.map((o) => o.name)).toEqual(['runs/a', 'runs/b', 'runs/c']);
    expect(gcs.requests.filter((r) => r.url.searchParams.has('pageToken'))).toHaveLength(1);
  });

  it('deletes an object and ignores one already gone', async () => {
    await store.put('gone.bin', Buffer.from('x'));
    await store.delete('gone.bin');
    expect(await store.stat('gone.bin')).toBeUndefined();
    await expect(store.delete('gone.bin')).resolves.toBeUndefined();
  });
});
