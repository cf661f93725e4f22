import type { Readable } from 'node:stream';

/** What the store knows about one stored object, as GCS reports it. */
export interface StoredObject {
  bucket: string;
  name: string;
  /** Increases with every write of the same name; identifies one immutable version of the object. */
  generation: string;
  size: number;
  /** base64 MD5 of the content, as GCS reports it. */
  md5Hash: string;
  contentType: string;
  metadata: Record<string, string>;
  timeCreated: string;
  /** gs://bucket/name */
  uri: string;
}

/** Options of a write. */
export interface PutOptions {
  contentType?: string;
  metadata?: Record<string, string>;
  /** Called with bytes written so far, for progress bars. */
  onProgress?: (bytesWritten: number) => void;
}

/**
 * Object storage for model files and run artifacts: GCS, or a local bucket folder that emits
 * the same OBJECT_FINALIZE notifications GCS sends.
 */
export interface ArtifactStore {
  readonly bucket: string;
  /** Writes an object from bytes or a stream and returns its new generation. */
  put(name: string, content: Uint8Array | Readable, options?: PutOptions): Promise<StoredObject>;
  /** Reads an object, or one generation of it; fails with ARTIFACT.NOT_FOUND. */
  get(name: string, generation?: string): Promise<Uint8Array>;
  /**
   * Opens an object, or one generation of it, as a stream, so large files never sit in memory whole.
   * Fails with ARTIFACT.NOT_FOUND before the first byte, so a caller can still answer "not found".
   */
  read(name: string, generation?: string): Promise<Readable>;
  /** The object's metadata, or undefined when absent. */
  stat(name: string): Promise<StoredObject | undefined>;
  /** Objects whose names start with prefix, in name order. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Removes an object; absent objects are ignored. */
  delete(name: string): Promise<void>;
  /**
   * Finalizes (and notifies) objects that appeared without a write through the store, such as files
   * copied into the local bucket folder by hand. Only a store that can be written behind its back has
   * it: GCS finalizes every write itself.
   */
  adoptUntracked?(): Promise<StoredObject[]>;
}
