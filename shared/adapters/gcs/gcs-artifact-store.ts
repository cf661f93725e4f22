import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage } from '@google-cloud/storage';
import type { Bucket, CreateWriteStreamOptions, File } from '@google-cloud/storage';
import { PlatformError } from '../../domain/errors.js';
import type { ArtifactStore, PutOptions, StoredObject } from '../../ports/artifact-store.port.js';
import { DEFAULT_CONTENT_TYPE, gcsUri, toStoredObject } from './gcs-object.js';

/** Uploads larger than this use a resumable session; smaller ones go in one multipart request. */
export const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;

/** How to reach the bucket; `storage` lets tests and callers share or point the client. */
export interface GcsArtifactStoreOptions {
  bucket: string;
  storage?: Storage;
}

/**
 * Write-stream options for an upload. `size` is undefined for streams, whose length is unknown,
 * so they always go resumable and survive a dropped connection.
 */
export function writeStreamOptions(size: number | undefined, options: PutOptions = {}): CreateWriteStreamOptions {
  return {
    resumable: size === undefined || size > RESUMABLE_THRESHOLD_BYTES,
    metadata: {
      contentType: options.contentType ?? DEFAULT_CONTENT_TYPE,
      metadata: { ...options.metadata },
    },
  };
}

/** File options for a read: a pinned generation, or the live object when none is given. */
export function fileOptions(generation?: string): { generation?: string } {
  return generation === undefined ? {} : { generation };
}

/** True when a GCS client error says the object (or generation) does not exist. */
export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 404;
}

/** ArtifactStore over a Google Cloud Storage bucket. */
export class GcsArtifactStore implements ArtifactStore {
  readonly bucket: string;
  private readonly gcsBucket: Bucket;

  constructor({ bucket, storage = new Storage() }: GcsArtifactStoreOptions) {
    this.bucket = bucket;
    this.gcsBucket = storage.bucket(bucket);
  }

  /** Uploads bytes or a stream; the returned generation is the one GCS just created. */
  async put(name: string, content: Uint8Array | Readable, options: PutOptions = {}): Promise<StoredObject> {
    const file = this.gcsBucket.file(name);
    const size = content instanceof Uint8Array ? content.byteLength : undefined;
    const destination = file.createWriteStream(writeStreamOptions(size, options));
    await pipeline(toReadable(content), countBytes(options.onProgress), destination);
    // The write stream stores the object resource GCS answered with on the file.
    return this.toStored(file);
  }

  /** Downloads the object; absence is permanent, any other failure is rethrown as transient. */
  async get(name: string, generation?: string): Promise<Uint8Array> {
    try {
      const [bytes] = await this.gcsBucket.file(name, fileOptions(generation)).download();
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw notFound(this.bucket, name, generation, error);
    }
  }

  /**
   * Streams the object. The download starts at once and resolves when its first bytes (or its end) are
   * buffered, because GCS tells a missing object only in the response: so absence fails here, not mid-stream.
   */
  async read(name: string, generation?: string): Promise<Readable> {
    const stream = this.gcsBucket.file(name, fileOptions(generation)).createReadStream();
    try {
      await readableOrFailed(stream);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw notFound(this.bucket, name, generation, error);
    }
    return stream;
  }

  /** Reads the object's metadata, or undefined when it does not exist. */
  async stat(name: string): Promise<StoredObject | undefined> {
    const file = this.gcsBucket.file(name);
    try {
      await file.getMetadata();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    return this.toStored(file);
  }

  /** Lists every page of objects under the prefix, in name order. */
  async list(prefix: string): Promise<StoredObject[]> {
    const [files] = await this.gcsBucket.getFiles({ prefix, autoPaginate: true });
    return files.map((file) => this.toStored(file)).sort(byName);
  }

  /** Deletes the object; an already-absent object is not an error. */
  async delete(name: string): Promise<void> {
    await this.gcsBucket.file(name).delete({ ignoreNotFound: true });
  }

  private toStored(file: File): StoredObject {
    const { metadata } = file;
    return toStoredObject({
      ...metadata,
      bucket: metadata.bucket ?? this.bucket,
      name: metadata.name ?? file.name,
      generation: metadata.generation ?? '',
    });
  }
}

function notFound(bucket: string, name: string, generation: string | undefined, cause: unknown): PlatformError {
  const version = generation === undefined ? '' : ` at generation ${generation}`;
  return new PlatformError('ARTIFACT.NOT_FOUND', `No object ${gcsUri(bucket, name)}${version}`, {
    cause,
    details: { bucket, name, generation },
  });
}

/** Resolves once the stream has bytes or its end buffered (reading it starts the request), rejects on its first error. */
function readableOrFailed(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('readable', onReadable);
      stream.off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    const onReadable = () => settle();
    stream.on('readable', onReadable);
    stream.on('error', settle);
  });
}

function toReadable(content: Uint8Array | Readable): Readable {
  if (!(content instanceof Uint8Array)) return content;
  // Wrapped in an array: Readable.from(bytes) would emit one chunk per byte.
  return Readable.from([Buffer.from(content.buffer, content.byteOffset, content.byteLength)]);
}

function countBytes(onProgress: ((bytesWritten: number) => void) | undefined): Transform {
  let bytesWritten = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytesWritten += chunk.length;
      onProgress?.(bytesWritten);
      done(null, chunk);
    },
  });
}

function byName(a: StoredObject, b: StoredObject): number {
  // GCS orders names by their bytes, not by locale; plain comparison matches for the usual ASCII names.
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
