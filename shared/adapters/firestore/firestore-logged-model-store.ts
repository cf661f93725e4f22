import { type DocumentReference, Firestore } from '@google-cloud/firestore';
import {
  type LoggedModel,
  type LoggedModelStatus,
  loggedModelArtifactLocation,
  type ModelOutput,
  mergeModelParams,
  type NewLoggedModel,
  newLoggedModelId,
  type RunModels,
  validateLoggedModelId,
  validateLoggedModelName,
  validateLoggedModelStatus,
} from '../../domain/logged-model.js';
import { validateParamValue, validateRunId, validateTagValue, validateTrackingKey } from '../../domain/tracking.js';
import type { LoggedModelStore } from '../../ports/logged-model-store.port.js';

/** Options of the Firestore logged model store. */
export interface FirestoreLoggedModelStoreOptions {
  projectId: string;
  databaseId?: string;
  client?: Firestore;
}

/** A run's link to a logged model it produced or used. */
interface RunModelLink {
  runId: string;
  modelId: string;
  direction: 'output' | 'input';
  step: number;
  recordedAt: number;
}

// Firestore's `in` filter takes at most 30 values.
const IN_LIMIT = 30;

/**
 * LoggedModelStore on Firestore: `logged_models/{id}` (one document a model) and
 * `run_model_links/{runId}-{output|input}-{modelId}` (what a run produced and used), so run
 * documents stay as the tracking store writes them. Every change is a transaction on the model.
 */
export class FirestoreLoggedModelStore implements LoggedModelStore {
  private readonly db: Firestore;
  private readonly ownsClient: boolean;

  constructor({ projectId, databaseId = '(default)', client }: FirestoreLoggedModelStoreOptions) {
    this.ownsClient = !client;
    this.db = client ?? new Firestore({ projectId, databaseId, ignoreUndefinedProperties: true });
  }

  async create({ experimentId, name, sourceRunId, modelType, statusMessage, params, tags }: NewLoggedModel): Promise<LoggedModel> {
    const id = newLoggedModelId();
    const now = Date.now();
    const model: LoggedModel = {
      id,
      experimentId,
      name: validateLoggedModelName(name),
      sourceRunId: sourceRunId === undefined ? undefined : validateRunId(sourceRunId),
      modelType,
      status: 'LOGGED_MODEL_PENDING',
      statusMessage,
      params: checkedParams(params),
      tags: checkedTags(tags),
      artifactLocation: loggedModelArtifactLocation(experimentId, id),
      createdAt: now,
      updatedAt: now,
    };
    await this.modelRef(id).create(model);
    return withoutUndefined(model);
  }

  async get(id: string): Promise<LoggedModel | undefined> {
    return (await this.modelRef(id).get()).data() as LoggedModel | undefined;
  }

  async finalize(id: string, status: LoggedModelStatus, message?: string): Promise<LoggedModel | undefined> {
    const checked = validateLoggedModelStatus(status);
    return this.change(id, () => ({ status: checked, statusMessage: message }));
  }

  async logParams(id: string, params: Record<string, string>): Promise<LoggedModel | undefined> {
    const checked = checkedParams(params);
    return this.change(id, (model) => ({ params: mergeModelParams(model, checked) }));
  }

  async setTags(id: string, tags: Record<string, string>): Promise<LoggedModel | undefined> {
    const checked = checkedTags(tags);
    return this.change(id, (model) => ({ tags: { ...model.tags, ...checked } }));
  }

  async deleteTag(id: string, key: string): Promise<LoggedModel | undefined> {
    return this.change(id, (model) => ({ tags: Object.fromEntries(Object.entries(model.tags).filter(([tagKey]) => tagKey !== key)) }));
  }

  async search({ experimentIds, maxResults }: { experimentIds: string[]; maxResults?: number }): Promise<LoggedModel[]> {
    const models = this.db.collection('logged_models');
    const snapshots = await Promise.all(slices([...new Set(experimentIds)], IN_LIMIT).map((slice) => models.where('experimentId', 'in', slice).get()));
    const found = snapshots.flatMap((snapshot) => snapshot.docs.map((doc) => doc.data() as LoggedModel));
    // Newest first; the id breaks ties so pages never overlap.
    found.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
    return maxResults === undefined ? found : found.slice(0, maxResults);
  }

  async logOutputs(runId: string, outputs: ModelOutput[]): Promise<void> {
    await this.link(
      runId,
      outputs.map(({ modelId, step }) => ({ modelId, step, direction: 'output' })),
    );
  }

  async logInputs(runId: string, modelIds: string[]): Promise<void> {
    await this.link(
      runId,
      modelIds.map((modelId) => ({ modelId, step: 0, direction: 'input' })),
    );
  }

  async runModels(runId: string): Promise<RunModels> {
    const snapshot = await this.db.collection('run_model_links').where('runId', '==', validateRunId(runId)).get();
    const links = snapshot.docs.map((doc) => doc.data() as RunModelLink).sort((a, b) => a.recordedAt - b.recordedAt || a.modelId.localeCompare(b.modelId));
    return {
      outputs: links.filter((link) => link.direction === 'output').map(({ modelId, step }) => ({ modelId, step })),
      inputs: links.filter((link) => link.direction === 'input').map(({ modelId }) => ({ modelId })),
    };
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }

  /** Applies `update` to the stored model in a transaction; undefined when there is no such model. */
  private change(id: string, update: (model: LoggedModel) => Partial<LoggedModel>): Promise<LoggedModel | undefined> {
    const ref = this.modelRef(id);
    return this.db.runTransaction(async (tx) => {
      const model = (await tx.get(ref)).data() as LoggedModel | undefined;
      if (!model) return undefined;
      const changed = withoutUndefined({ ...model, ...update(model), updatedAt: Math.max(Date.now(), model.updatedAt) });
      tx.set(ref, changed);
      return changed;
    });
  }

  /** One link document a (run, direction, model): writing it again moves it to its latest step and time. */
  private async link(runId: string, links: Omit<RunModelLink, 'runId' | 'recordedAt'>[]): Promise<void> {
    validateRunId(runId);
    const batch = this.db.batch();
    const recordedAt = Date.now();
    for (const { modelId, step, direction } of links) {
      const ref = this.db.collection('run_model_links').doc(`${runId}-${direction}-${validateLoggedModelId(modelId)}`);
      batch.set(ref, { runId, modelId, direction, step, recordedAt } satisfies RunModelLink);
    }
    await batch.commit();
  }

  private modelRef(id: string): DocumentReference {
    return this.db.collection('logged_models').doc(validateLoggedModelId(id));
  }
}

function checkedParams(params: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(params)) validateParamValue(validateTrackingKey('param', key), value);
  return params;
}

function checkedTags(tags: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(tags)) validateTagValue(validateTrackingKey('tag', key), value);
  return tags;
}

/** The model as Firestore stores it: an unset optional field is absent, not `undefined`. */
function withoutUndefined(model: LoggedModel): LoggedModel {
  return Object.fromEntries(Object.entries(model).filter(([, value]) => value !== undefined)) as unknown as LoggedModel;
}

function slices<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));
}
