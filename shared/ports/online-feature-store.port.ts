import type { OnlineFeatureRow } from '../domain/online-features.js';

/** What one write of rows did: rows stored, and rows left as they were (the store already held them or a newer row). */
export interface OnlineWriteResult {
  written: number;
  unchanged: number;
}

/** Looks entities' latest features up at serving time: one batched read per request. */
export interface OnlineFeatureReader {
  /** The stored features of each id the dataset holds, by entity id; ids it does not hold are absent. */
  read(dataset: string, entityIds: readonly string[]): Promise<Map<string, Record<string, unknown>>>;
}

/** The online store of entities' latest features (Feast's online store): what materialize writes and serving reads. */
export interface OnlineFeatureStore extends OnlineFeatureReader {
  /** Most rows one `write` call takes. */
  readonly maxBatch: number;
  /**
   * Stores each row as its entity's features, unless the store holds a row at least as new: writing the same
   * rows again changes nothing, and an older row never replaces a newer one.
   */
  write(dataset: string, rows: readonly OnlineFeatureRow[]): Promise<OnlineWriteResult>;
  close(): Promise<void>;
}
