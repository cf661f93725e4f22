import type { Firestore } from '@google-cloud/firestore';
import { claimRun, type JobDefinition, type JobRun, type JobRunClaim } from '../../domain/jobs.js';
import type { JobRunOutcome, JobRunStore } from '../../ports/job-run-store.port.js';

/** Options of the Firestore job run store. */
export interface FirestoreJobRunStoreOptions {
  projectId: string;
  databaseId?: string;
  /** An existing client (tests); one is created, and the SDK loaded, on first use otherwise. */
  client?: Firestore;
}

const COLLECTION = 'job_runs';
/** One marker per job naming its latest run: found by id, where a query for it would need a composite index. */
const LATEST = 'job_latest';

/**
 * Job runs on Firestore, `job_runs/{job}@{minute}`, and `job_latest/{job}` naming each job's latest run.
 * A claim is a transaction over the run's document and its job's marker.
 */
export class FirestoreJobRunStore implements JobRunStore {
  private client: Promise<Firestore> | undefined;

  constructor(private readonly options: FirestoreJobRunStoreOptions) {
    if (options.client) this.client = Promise.resolve(options.client);
  }

  async claim(wanted: { id: string; definition: JobDefinition; scheduledTime: string }, now: Date, leaseMs: number): Promise<JobRunClaim> {
    const db = await this.db();
    const ref = db.collection(COLLECTION).doc(wanted.id);
    const latestRef = db.collection(LATEST).doc(wanted.definition.name);
    return db.runTransaction(async (tx) => {
      const [stored, latest] = await tx.getAll(ref, latestRef);
      const claim = claimRun(stored!.data() as JobRun | undefined, wanted, now, leaseMs);
      if (claim.state !== 'claimed') return claim;
      tx.set(ref, claim.run);
      const marker = latest!.data() as { scheduledTime: string } | undefined;
      if (!marker || marker.scheduledTime <= wanted.scheduledTime) tx.set(latestRef, { id: wanted.id, scheduledTime: wanted.scheduledTime });
      return claim;
    });
  }

  async finish(id: string, outcome: JobRunOutcome): Promise<JobRun> {
    const db = await this.db();
    const ref = db.collection(COLLECTION).doc(id);
    return db.runTransaction(async (tx) => {
      const stored = (await tx.get(ref)).data() as JobRun | undefined;
      if (!stored) throw new Error(`No job run ${id} to finish: it must be claimed first.`);
      const run: JobRun = { ...stored, ...outcome };
      tx.set(ref, run);
      return run;
    });
  }

  async get(id: string): Promise<JobRun | undefined> {
    const db = await this.db();
    return (await db.collection(COLLECTION).doc(id).get()).data() as JobRun | undefined;
  }

  async latest(jobs: readonly string[]): Promise<Map<string, JobRun>> {
    const found = new Map<string, JobRun>();
    if (jobs.length === 0) return found;
    const db = await this.db();
    const markers = await db.getAll(...jobs.map((job) => db.collection(LATEST).doc(job)));
    const ids = markers.flatMap((marker) => (marker.exists ? [(marker.data() as { id: string }).id] : []));
    if (ids.length === 0) return found;
    for (const snapshot of await db.getAll(...ids.map((id) => db.collection(COLLECTION).doc(id)))) {
      const run = snapshot.data() as JobRun | undefined;
      if (run) found.set(run.job, run);
    }
    return found;
  }

  async close(): Promise<void> {
    if (this.client && !this.options.client) await (await this.client).terminate();
  }

  private db(): Promise<Firestore> {
    this.client ??= import('@google-cloud/firestore').then(
      ({ Firestore }) =>
        new Firestore({ projectId: this.options.projectId, databaseId: this.options.databaseId ?? '(default)', ignoreUndefinedProperties: true }),
    );
    return this.client;
  }
}
