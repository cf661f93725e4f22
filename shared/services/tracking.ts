import type { Readable } from 'node:stream';
import { PlatformError } from '../domain/errors.js';
import type { ModelVersion } from '../domain/registry.js';
import type { RunSearch } from '../domain/tracking-filter.js';
import { type Experiment, type Run, runArtifactPrefix, validateArtifactPath } from '../domain/tracking.js';
import type { ArtifactStore, StoredObject } from '../ports/artifact-store.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { TrackingStore } from '../ports/tracking-store.port.js';

/** One stored artifact of a run, by its path inside the run. */
export interface RunArtifact {
  path: string;
  size: number;
  uri: string;
}

/** Everything known about a run: what `mlops runs show` and `GET /runs/:id` print. */
export interface RunDetails {
  run: Run;
  experiment?: Experiment;
  artifacts: RunArtifact[];
  /** Model versions registered from this run (their lineage.runId), so lineage reads both ways. */
  modelVersions: ModelVersion[];
}

/** A run search naming experiments by name, as people and scripts do. */
export interface NamedRunSearch extends Omit<RunSearch, 'experimentIds'> {
  experiments?: string[];
}

/** Reads a run or fails with TRACKING.RUN_NOT_FOUND. */
export async function requireRun(tracking: TrackingStore, runId: string): Promise<Run> {
  const run = await tracking.getRun(runId);
  if (!run) throw new PlatformError('TRACKING.RUN_NOT_FOUND', `No run with id "${runId}". List runs with: mlops runs list`);
  return run;
}

/** The run with its experiment, artifacts and the model versions made from it. */
export async function describeRun(
  runId: string,
  { tracking, artifacts, registry }: { tracking: TrackingStore; artifacts: ArtifactStore; registry: ModelRegistry },
): Promise<RunDetails> {
  const run = await requireRun(tracking, runId);
  const [experiment, stored, modelVersions] = await Promise.all([
    tracking.getExperiment(run.experimentId),
    listRunArtifacts(artifacts, runId),
    registry.listVersionsByRun(runId),
  ]);
  return { run, experiment, artifacts: stored, modelVersions };
}

/** A run's artifacts, in path order. */
export async function listRunArtifacts(artifacts: ArtifactStore, runId: string): Promise<RunArtifact[]> {
  const prefix = runArtifactPrefix(runId);
  return (await artifacts.list(prefix)).map((object) => ({ path: object.name.slice(prefix.length), size: object.size, uri: object.uri }));
}

/** Stores one artifact of a run at `path` inside its artifact folder. */
export async function putRunArtifact(artifacts: ArtifactStore, runId: string, path: string, content: Uint8Array | Readable): Promise<StoredObject> {
  return artifacts.put(runArtifactPrefix(runId) + validateArtifactPath(path), content);
}

/** Reads one artifact of a run; fails with ARTIFACT.NOT_FOUND. */
export async function readRunArtifact(artifacts: ArtifactStore, runId: string, path: string): Promise<Uint8Array> {
  return artifacts.get(runArtifactPrefix(runId) + validateArtifactPath(path));
}

/** Experiment ids for names; an unknown name fails with TRACKING.EXPERIMENT_NOT_FOUND. */
export async function resolveExperimentIds(tracking: TrackingStore, names: string[]): Promise<string[]> {
  const found = await Promise.all(names.map((name) => tracking.getExperimentByName(name)));
  const missing = names.filter((_, index) => !found[index]);
  if (missing.length > 0) {
    throw new PlatformError('TRACKING.EXPERIMENT_NOT_FOUND', `No experiment named ${missing.map((name) => JSON.stringify(name)).join(', ')}.`);
  }
  return found.map((experiment) => experiment!.id);
}

/** Searches runs with experiments named rather than numbered. */
export async function searchRunsByName(tracking: TrackingStore, { experiments = [], ...search }: NamedRunSearch): Promise<Run[]> {
  return tracking.searchRuns({ ...search, experimentIds: await resolveExperimentIds(tracking, experiments) });
}
