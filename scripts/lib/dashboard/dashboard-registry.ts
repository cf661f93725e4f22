import { PlatformError } from '../../../shared/domain/errors.js';
import type { AuditEntry, Model } from '../../../shared/domain/registry.js';
import type { Run } from '../../../shared/domain/tracking.js';
import type { ModelRegistry } from '../../../shared/ports/model-registry.port.js';
import type { TrackingStore } from '../../../shared/ports/tracking-store.port.js';

/** A version as the dashboard lists it: no signature or artifact details. */
export interface VersionSummary {
  version: number;
  status: string;
  createdAt: string;
  metrics: Record<string, number>;
  runId: string | null;
  sha256: string;
}

/** A model with its versions and every registry transition. */
export interface ModelDetails {
  model: Model;
  versions: VersionSummary[];
  history: AuditEntry[];
}

/** A tracking run beside the model versions registered from it. */
export interface RunView {
  id: string;
  name: string;
  experiment: string;
  status: string;
  startTime: string;
  endTime: string | null;
  params: Record<string, string>;
  metrics: Record<string, number>;
  versions: number[];
}

/** Most runs shown side by side. */
const MAX_RUNS = 12;

/** A model, its versions (oldest first) and its audit trail; REGISTRY.MODEL_NOT_FOUND when unknown. */
export async function modelDetails(registry: ModelRegistry, name: string): Promise<ModelDetails> {
  const model = await registry.getModel(name);
  if (!model) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${name}".`);
  const [versions, history] = await Promise.all([registry.listVersions(name), registry.history(name)]);
  return {
    model,
    history,
    versions: versions.map((version) => ({
      version: version.version,
      status: version.status,
      createdAt: version.createdAt,
      metrics: version.metrics,
      runId: version.lineage.runId ?? null,
      sha256: version.sha256,
    })),
  };
}

/**
 * The latest runs of every experiment that produced a version of the model, newest first, each
 * with the versions registered from it: the candidates the registered one was chosen from.
 */
export async function modelRuns(registry: ModelRegistry, tracking: TrackingStore, name: string): Promise<RunView[]> {
  const versions = await registry.listVersions(name);
  const versionsByRun = new Map<string, number[]>();
  for (const version of versions) {
    if (version.lineage.runId) versionsByRun.set(version.lineage.runId, [...(versionsByRun.get(version.lineage.runId) ?? []), version.version]);
  }
  const lineageRuns = (await Promise.all([...versionsByRun.keys()].map((id) => tracking.getRun(id)))).filter((run): run is Run => run !== undefined);
  const experimentIds = [...new Set(lineageRuns.map((run) => run.experimentId))];
  if (experimentIds.length === 0) return [];
  const [runs, experiments] = await Promise.all([tracking.searchRuns({ experimentIds }), tracking.listExperiments()]);
  const experimentNames = new Map(experiments.map((experiment) => [experiment.id, experiment.name]));
  return runs
    .sort((a, b) => b.startTime.localeCompare(a.startTime))
    .slice(0, MAX_RUNS)
    .map((run) => ({
      id: run.id,
      name: run.name,
      experiment: experimentNames.get(run.experimentId) ?? run.experimentId,
      status: run.status,
      startTime: run.startTime,
      endTime: run.endTime,
      params: run.params,
      metrics: run.metrics,
      versions: versionsByRun.get(run.id) ?? [],
    }));
}
