import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import type { ArtifactStore, StoredObject } from '../../shared/ports/artifact-store.port.js';

interface Created {
  store: ArtifactStore;
  finalized: StoredObject[];
  cleanup(): void;
}

/** Every ArtifactStore backend that runs here. GCS has no emulator; its adapter has unit tests. */
const stores: [string, () => Created][] = [
  [
    'local bucket',
    () => {
      const root = mkdtempSync(join(tmpdir(), 'bucket-'));
      const finalized: StoredObject[] = [];
      const store = new LocalBucketArtifactStore({ root, bucket: 'test-bucket', onFinalize: async (object) => void finalized.push(object) });
      return { store, finalized, cleanup: () => rmSync(root, { recursive: true, force: true }) };
    },
  ],
];

describe.each(stores)('ArtifactStore contract: %s', (_name, create) => {
  let created: Created;
  const setup = () => (created = create());
  afterEach(() => created?.cleanup());

  it('round-trips bytes with content type and metadata, reporting a gs:// uri and md5', async () => {
    const { store } = setup();
    const object = await store.put('models/churn/a/model.onnx', new Uint8Array([1, 2, 3]), {
      contentType: 'application/octet-stream',
      metadata: { 'mlops-run-id': 'r1' },
    });
    expect(object).toMatchObject({
      bucket: 'test-bucket',
      name: 'models/churn/a/model.onnx',
      size: 3,
      uri: 'gs://test-bucket/models/churn/a/model.onnx',
      metadata: { 'mlops-run-id': 'r1' },
      md5Hash: 'Uonfc331cyb83SJZevsfrA==',
    });
    expect([...(await store.get('models/churn/a/model.onnx'))]).toEqual([1, 2, 3]);
    expect(await store.stat('models/churn/a/model.onnx')).toEqual(object);
  });

  it('gives each write a higher generation, and an overwritten generation is gone', async () => {
    const { store } = setup();
    const first = await store.put('a.bin', new Uint8Array([1]));
    const second = await store.put('a.bin', new Uint8Array([2]));
    expect(BigInt(second.generation)).toBeGreaterThan(BigInt(first.generation));
    expect([...(await store.get('a.bin', second.generation))]).toEqual([2]);
    await expect(store.get('a.bin', first.generation)).rejects.toMatchObject({ code: 'ARTIFACT.NOT_FOUND' });
  });

  it('accepts a stream and reports progress up to the full size', async () => {
    const { store } = setup();
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 7));
    const progress: number[] = [];
    const object = await store.put('big.bin', Readable.from(chunks), { onProgress: (bytes) => progress.push(bytes) });
    expect(object.size).toBe(20 * 64 * 1024);
    expect(progress.at(-1)).toBe(object.size);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('lists by prefix in name order, and deletes', async () => {
    const { store } = setup();
    for (const name of ['models/b/1', 'models/a/1', 'runs/x/1']) await store.put(name, new Uint8Array([0]));
    expect((await store.list('models/')).map((object) => object.name)).toEqual(['models/a/1', 'models/b/1']);
    await store.delete('models/a/1');
    await store.delete('models/never-existed');
    expect((await store.list('models/')).map((object) => object.name)).toEqual(['models/b/1']);
    expect(await store.stat('models/a/1')).toBeUndefined();
    await expect(store.get('models/a/1')).rejects.toMatchObject({ code: 'ARTIFACT.NOT_FOUND' });
  });

  it('streams an object back byte for byte, in more than one chunk, the live generation or a pinned one', async () => {
    const { store } = setup();
    const first = await store.put('runs/r1/artifacts/weights.bin', Buffer.alloc(3 * 1024 * 1024, 1));
    const chunks: Buffer[] = [];
    for await (const chunk of await store.read('runs/r1/artifacts/weights.bin', first.generation)) chunks.push(chunk as Buffer);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(Buffer.alloc(3 * 1024 * 1024, 1))).toBe(true);
    const second = await store.put('runs/r1/artifacts/weights.bin', Readable.from([Buffer.from('v2')]));
    expect(Buffer.concat(await (await store.read('runs/r1/artifacts/weights.bin', second.generation)).toArray()).toString()).toBe('v2');
    expect(Buffer.concat(await (await store.read('runs/r1/artifacts/weights.bin')).toArray()).toString()).toBe('v2');
  });

  it('fails a read of an absent object or generation with ARTIFACT.NOT_FOUND before any byte', async () => {
    const { store } = setup();
    const object = await store.put('a.bin', new Uint8Array([1]));
    await store.put('a.bin', new Uint8Array([2]));
    await expect(store.read('never-written.bin')).rejects.toMatchObject({ code: 'ARTIFACT.NOT_FOUND' });
    await expect(store.read('a.bin', object.generation)).rejects.toMatchObject({ code: 'ARTIFACT.NOT_FOUND' });
  });

  it('ignores a delete of a name that is a folder of other objects', async () => {
    const { store } = setup();
    await store.put('runs/r1/artifacts/plots/roc.png', new Uint8Array([1]));
    await store.delete('runs/r1/artifacts/plots');
    expect((await store.list('runs/r1/')).map((object) => object.name)).toEqual(['runs/r1/artifacts/plots/roc.png']);
  });

  it('refuses object names that would escape the bucket', async () => {
    const { store } = setup();
    for (const name of ['../escape', 'models/../../x', '/abs', 'a//b', '']) {
      await expect(store.put(name, new Uint8Array([0]))).rejects.toMatchObject({ code: 'NAME.INVALID' });
    }
  });

  it('finalizes every write once, as GCS notifies', async () => {
    const { store, finalized } = setup();
    const object = await store.put('models/m/1/model.onnx', new Uint8Array([9]));
    expect(finalized).toEqual([object]);
  });
});

describe('local bucket: files copied in by hand', () => {
  it('finalizes a copied file once it has settled, and only once', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bucket-'));
    const finalized: StoredObject[] = [];
    const store = new LocalBucketArtifactStore({ root, bucket: 'b', onFinalize: async (object) => void finalized.push(object) });
    try {
      mkdirSync(join(store.folder, 'models/churn/x'), { recursive: true });
      writeFileSync(join(store.folder, 'models/churn/x/model.onnx'), Buffer.from([1, 2]));
      expect(await store.adoptUntracked(60_000)).toEqual([]);
      const adopted = await store.adoptUntracked(0);
      expect(adopted.map((object) => [object.name, object.size])).toEqual([['models/churn/x/model.onnx', 2]]);
      expect(await store.adoptUntracked(0)).toEqual([]);
      expect(finalized).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      writeFileSync(join(store.folder, 'models/churn/x/model.onnx'), Buffer.from([1, 2, 3]));
      const changed = await store.adoptUntracked(0);
      expect(changed).toHaveLength(1);
      expect(BigInt(changed[0]!.generation)).toBeGreaterThan(BigInt(adopted[0]!.generation));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
