import type { DocumentReference, DocumentSnapshot, Firestore } from '@google-cloud/firestore';
import { PlatformError } from '../../domain/errors.js';
import { type OnlineFeatureRow, latestPerEntity, supersedes } from '../../domain/online-features.js';
import type { OnlineFeatureStore, OnlineWriteResult } from '../../ports/online-feature-store.port.js';
import { type EntityDocument, MAX_DOCUMENT_ID_BYTES, entityDocument, entityPath } from './online-documents.js';

/** Options of the Firestore online store. */
export interface FirestoreOnlineFeatureStoreOptions {
  projectId: string;
  databaseId?: string;
  /** An existing client (tests); one is created, and the SDK loaded, on first use otherwise. */
  client?: Firestore;
}

/** A batched write takes at most 500 documents (Firestore's "Transactions and batched writes" page). */
const MAX_WRITES_PER_COMMIT = 500;
/** gRPC codes of a commit whose precondition failed: another writer changed a document since it was read. */
const LOST_RACE = new Set([6 /* ALREADY_EXISTS */, 9 /* FAILED_PRECONDITION */]);
/** Reads and commits tried before a write gives up (each retry follows a lost race, so progress is made). */
const MAX_ATTEMPTS = 8;

/**
 * The online store on Firestore through its SDK: one document per entity. Each `write` reads the entities'
 * documents in one batched read, then commits the rows newer than the stored ones in one batched write,
 * each conditioned on the document being as read (created only if absent, updated only if unchanged):
 * a writer that lost a race reads again, so re-runs and racing writers alike leave each entity's newest row.
 * Optimistic rather than a transaction: no lock is held between the read and the commit, and racing writers wait on none.
 * The SDK loads only when the store is first used.
 */
export class FirestoreOnlineFeatureStore implements OnlineFeatureStore {
  readonly maxBatch = MAX_WRITES_PER_COMMIT;
  private client: Promise<Firestore> | undefined;

  constructor(private readonly options: FirestoreOnlineFeatureStoreOptions) {
    if (options.client) this.client = Promise.resolve(options.client);
  }

  async write(dataset: string, rows: readonly OnlineFeatureRow[]): Promise<OnlineWriteResult> {
    if (rows.length > this.maxBatch) throw new Error(`A write takes at most ${this.maxBatch} rows, got ${rows.length}.`);
    const latest = latestPerEntity(rows);
    if (latest.length === 0) return { written: 0, unchanged: 0 };
    const db = await this.db();
    const refs = latest.map((row) => db.doc(checkedPath(dataset, row.entityId)));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commitNewer(db, latest, refs, await db.getAll(...refs));
      } catch (error) {
        if (!LOST_RACE.has((error as { code?: number }).code ?? -1) || attempt === MAX_ATTEMPTS) throw error;
      }
    }
  }

  /** Commits the rows newer than their stored documents, each on the condition that its document is still as read. */
  private async commitNewer(db: Firestore, rows: OnlineFeatureRow[], refs: DocumentReference[], stored: DocumentSnapshot[]): Promise<OnlineWriteResult> {
    const batch = db.batch();
    let written = 0;
    rows.forEach((row, index) => {
      const snapshot = stored[index]!;
      const current = snapshot.data() as EntityDocument | undefined;
      if (!supersedes(row, current && { eventTime: current.event_time })) return;
      const document = entityDocument(row);
      // update() with every field replaces the document's content, as set() would.
      if (current) batch.update(refs[index]!, { ...document }, { lastUpdateTime: snapshot.updateTime! });
      else batch.create(refs[index]!, document);
      written++;
    });
    if (written > 0) await batch.commit();
    return { written, unchanged: rows.length - written };
  }

  async read(dataset: string, entityIds: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    const ids = [...new Set(entityIds)];
    if (ids.length === 0) return found;
    const db = await this.db();
    const refs: DocumentReference[] = ids.map((id) => db.doc(entityPath(dataset, id)));
    for (const snapshot of await db.getAll(...refs)) {
      const document = snapshot.data() as EntityDocument | undefined;
      if (document) found.set(document.entity_id, JSON.parse(document.features) as Record<string, unknown>);
    }
    return found;
  }

  async close(): Promise<void> {
    if (this.client && !this.options.client) await (await this.client).terminate();
  }

  private db(): Promise<Firestore> {
    this.client ??= import('@google-cloud/firestore').then(
      ({ Firestore }) => new Firestore({ projectId: this.options.projectId, databaseId: this.options.databaseId ?? '(default)' }),
    );
    return this.client;
  }
}

/** An entity's document path; a permanent WAREHOUSE.INVALID_ROW for an id too long to be a document id. */
function checkedPath(dataset: string, entityId: string): string {
  const path = entityPath(dataset, entityId);
  const id = path.slice(path.lastIndexOf('/') + 1);
  if (Buffer.byteLength(id) > MAX_DOCUMENT_ID_BYTES) {
    throw new PlatformError(
      'WAREHOUSE.INVALID_ROW',
      `offline_features row of dataset "${dataset}": entity id "${entityId.slice(0, 40)}…" is too long for the online store (a Firestore document id takes at most ${MAX_DOCUMENT_ID_BYTES} bytes); shorten the dataset's entity ids.`,
    );
  }
  return path;
}
