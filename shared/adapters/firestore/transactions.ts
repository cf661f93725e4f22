import { createHash } from 'node:crypto';
import type { DocumentReference, Firestore, Transaction } from '@google-cloud/firestore';
import type { AuditEntry } from '../../domain/registry.js';

// Writers on one model contend on its documents. Within a process a KeyedLock queues them; across
// instances the transaction decides, retried on ABORTED with a short jittered backoff (the
// client's own starts at 1 s and grows 1.5x).
const TRANSACTION_ATTEMPTS = 60;
const RETRYABLE_CODES = new Set([10, 409]);

/** Runs `work` in a transaction, retrying contention (ABORTED) with a short jittered backoff. */
export async function transact<T>(db: Firestore, work: (tx: Transaction) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.runTransaction(work, { maxAttempts: 1 });
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === undefined || !RETRYABLE_CODES.has(code) || attempt >= TRANSACTION_ATTEMPTS) throw error;
      const ceiling = Math.min(1000, 20 * 1.4 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, ceiling / 2 + Math.random() * (ceiling / 2)));
    }
  }
}

/** A document id for an arbitrary key (a registration key, a request id): fixed length, no slashes. */
export const docId = (key: string): string => createHash('sha256').update(key).digest('hex').slice(0, 40);

/** Writes one entry of a model's audit trail (`models/{name}/audit/{id}`) in the transaction. */
export function appendAudit(tx: Transaction, modelRef: DocumentReference, id: string, entry: Omit<AuditEntry, 'id' | 'model'>): AuditEntry {
  const audit: AuditEntry = { id, model: modelRef.id, ...entry };
  // A sequence from the commit clock plus a high-resolution tick orders entries written in the same millisecond.
  tx.set(modelRef.collection('audit').doc(id), { ...audit, sequence: `${entry.at}|${process.hrtime.bigint()}` });
  return audit;
}

/** An audit entry as stored, without its ordering key. */
export function stripSequence(data: unknown): AuditEntry {
  const { sequence: _sequence, ...entry } = data as AuditEntry & { sequence: string };
  return entry;
}
