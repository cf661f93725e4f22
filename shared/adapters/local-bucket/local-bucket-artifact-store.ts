import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PlatformError } from '../../domain/errors.js';
import type { ArtifactStore, PutOptions, StoredObject } from '../../ports/artifact-store.port.js';

/** Options of the local bucket. */
export interface LocalBucketOptions {
  /** Folder holding one subfolder per bucket, plus `.meta` for object metadata. */
  root: string;
  bucket: string;
  /** Called after every finalized write, as GCS would notify; the composition root publishes it. */
  onFinalize?: (object: StoredObject) => Promise<void>;
}

type Sidecar = Omit<StoredObject, 'bucket' | 'name' | 'uri'> & { mtimeMs: number };

let lastGeneration = 0n;
/** GCS generations are microsecond timestamps; keep ours strictly increasing within the process. */
function nextGeneration(): string {
  const now = BigInt(Date.now()) * 1000n;
  lastGeneration = now > lastGeneration ? now : lastGeneration + 1n;
  return String(lastGeneration);
}

/**
 * ArtifactStore on a local folder. Objects are plain files, so a user may also copy a file in by
 * hand; `adoptUntracked` then finalizes it and notifies exactly as an upload would.
 */
export class LocalBucketArtifactStore implements ArtifactStore {
  readonly bucket: string;
  private readonly dataRoot: string;
  private readonly metaRoot: string;
  private readonly onFinalize?: (object: StoredObject) => Promise<void>;

  constructor({ root, bucket, onFinalize }: LocalBucketOptions) {
    this.bucket = bucket;
    this.dataRoot = join(root, bucket);
    this.metaRoot = join(root, '.meta', bucket);
    this.onFinalize = onFinalize;
  }

  /** The folder users can copy files into. */
  get folder(): string {
    return this.dataRoot;
  }

  async put(name: string, content: Uint8Array | Readable, options: PutOptions = {}): Promise<StoredObject> {
    const path = this.dataPath(name);
    await mkdir(dirname(path), { recursive: true });
    const temporary = join(dirname(this.metaPath(name)), `.upload-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    await mkdir(dirname(temporary), { recursive: true });
    const md5 = createHash('md5');
    let written = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        written += chunk.length;
        options.onProgress?.(written);
        done(null, chunk);
      },
    });
    const source = content instanceof Readable ? content : Readable.from([Buffer.from(content)]);
    await pipeline(source, meter, createWriteStream(temporary));
    return this.finalize(name, temporary, { md5Hash: md5.digest('base64'), contentType: options.contentType, metadata: options.metadata ?? {} });
  }

  async get(name: string, generation?: string): Promise<Uint8Array> {
    await this.requireObject(name, generation);
    return readFile(this.dataPath(name));
  }

  /** Streams the file; it is opened before this resolves, so a missing file fails here and not mid-stream. */
  async read(name: string, generation?: string): Promise<Readable> {
    await this.requireObject(name, generation);
    const stream = createReadStream(this.dataPath(name));
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? this.notFound(name, generation) : error));
    });
    return stream;
  }

  async stat(name: string): Promise<StoredObject | undefined> {
    try {
      const sidecar = JSON.parse(await readFile(this.metaPath(name), 'utf8')) as Sidecar;
      return this.toObject(name, sidecar);
    } catch {
      return undefined;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const names = (await walk(this.metaRoot)).map((path) =>
      relative(this.metaRoot, path)
        .split(sep)
        .join('/')
        .replace(/\.json$/, ''),
    );
    const matching = names.filter((name) => name.startsWith(prefix)).sort();
    const objects = await Promise.all(matching.map((name) => this.stat(name)));
    return objects.filter((object): object is StoredObject => object !== undefined);
  }

  async delete(name: string): Promise<void> {
    // Only a file is an object: a folder of that name holds other objects, and GCS ignores such a delete too.
    const info = await stat(this.dataPath(name)).catch(() => undefined);
    if (info?.isFile()) await rm(this.dataPath(name), { force: true });
    await rm(this.metaPath(name), { force: true });
  }

  /**
   * Finalizes files copied into the bucket folder by hand: any file with no metadata, or changed
   * since its metadata was written, and untouched for `settleMs` (so half-copied files wait).
   */
  async adoptUntracked(settleMs = 300): Promise<StoredObject[]> {
    const adopted: StoredObject[] = [];
    for (const path of await walk(this.dataRoot)) {
      const name = relative(this.dataRoot, path).split(sep).join('/');
      const info = await stat(path);
      if (Date.now() - info.mtimeMs < settleMs) continue;
      const known = await this.readSidecar(name);
      if (known && known.mtimeMs === info.mtimeMs && known.size === info.size) continue;
      const md5Hash = await hashFile(path);
      adopted.push(await this.finalize(name, undefined, { md5Hash, metadata: {} }));
    }
    return adopted;
  }

  private async finalize(
    name: string,
    temporary: string | undefined,
    fields: { md5Hash: string; contentType?: string; metadata: Record<string, string> },
  ): Promise<StoredObject> {
    const path = this.dataPath(name);
    if (temporary) await rename(temporary, path);
    const info = await stat(path);
    const sidecar: Sidecar = {
      generation: nextGeneration(),
      size: info.size,
      md5Hash: fields.md5Hash,
      contentType: fields.contentType ?? guessContentType(name),
      metadata: fields.metadata,
      timeCreated: new Date().toISOString(),
      mtimeMs: info.mtimeMs,
    };
    await mkdir(dirname(this.metaPath(name)), { recursive: true });
    await writeFile(this.metaPath(name), JSON.stringify(sidecar));
    const object = this.toObject(name, sidecar);
    await this.onFinalize?.(object);
    return object;
  }

  private async requireObject(name: string, generation: string | undefined): Promise<void> {
    const object = await this.stat(name);
    if (!object || (generation !== undefined && object.generation !== generation)) throw this.notFound(name, generation);
  }

  private notFound(name: string, generation: string | undefined): PlatformError {
    const version = generation ? `#${generation}` : '';
    return new PlatformError('ARTIFACT.NOT_FOUND', `Object gs://${this.bucket}/${name}${version} does not exist.`);
  }

  private async readSidecar(name: string): Promise<Sidecar | undefined> {
    return readFile(this.metaPath(name), 'utf8').then(
      (text) => JSON.parse(text) as Sidecar,
      () => undefined,
    );
  }

  private toObject(name: string, { mtimeMs: _mtime, ...sidecar }: Sidecar): StoredObject {
    return { bucket: this.bucket, name, uri: `gs://${this.bucket}/${name}`, ...sidecar };
  }

  private dataPath(name: string): string {
    return join(this.dataRoot, checkObjectName(name));
  }

  private metaPath(name: string): string {
    return `${join(this.metaRoot, checkObjectName(name))}.json`;
  }
}

/** Refuses names that would escape the bucket folder. */
function checkObjectName(name: string): string {
  const segments = name.split('/');
  if (name === '' || name.startsWith('/') || segments.some((segment) => segment === '..' || segment === '.' || segment === '')) {
    throw new PlatformError('NAME.INVALID', `Object name ${JSON.stringify(name)} is invalid: use non-empty path segments without "." or "..".`);
  }
  return name;
}

async function walk(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile() && !entry.name.startsWith('.upload-')).map((entry) => join(entry.parentPath, entry.name));
}

async function hashFile(path: string): Promise<string> {
  const md5 = createHash('md5');
  await pipeline(createReadStream(path), md5);
  return md5.digest('base64');
}

function guessContentType(name: string): string {
  return name.endsWith('.onnx') ? 'application/octet-stream' : name.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}
