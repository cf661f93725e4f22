import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { compileExperimentSearch } from '../../../shared/domain/tracking-filter.js';
import { DEFAULT_EXPERIMENT, type Experiment } from '../../../shared/domain/tracking.js';
import type { TrackingStore } from '../../../shared/ports/tracking-store.port.js';
import { Int64, MLFLOW_API, MlflowError, type MlflowDeps, pageOf, Repeated, readMlflowRequest, recordOf } from './protocol.js';
import { experimentJson } from './run-json.js';

const KeyValue = z.object({ key: z.string(), value: z.string() });
const CreateExperiment = z.object({ name: z.string(), artifact_location: z.string().optional(), tags: z.array(KeyValue).optional() });
const ExperimentById = z.object({ experiment_id: z.string() });
const ExperimentByName = z.object({ experiment_name: z.string() });
const SearchExperiments = z.object({
  max_results: Int64.pipe(z.number().int().min(1).max(50_000)).default(1000),
  page_token: z.string().optional(),
  filter: z.string().max(10_000).optional(),
  order_by: Repeated(z.string()).optional(),
  view_type: z.union([z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']), z.literal(1), z.literal(2), z.literal(3)]).default('ACTIVE_ONLY'),
});

/**
 * experiments/get-by-name, create, get and search. The default experiment ("0", "Default") that every
 * MLflow client falls back to is made on its first use; experiments are never deleted or renamed here.
 */
export function addExperimentRoutes(app: Hono, { tracking }: MlflowDeps): void {
  app.get(`${MLFLOW_API}/experiments/get-by-name`, async (c) => {
    const { experiment_name: name } = await readMlflowRequest(c, ExperimentByName);
    const store = await tracking();
    const experiment = name === DEFAULT_EXPERIMENT.name ? await defaultExperiment(store) : await store.getExperimentByName(name);
    if (!experiment)
      throw new MlflowError(
        'RESOURCE_DOES_NOT_EXIST',
        `No experiment named ${JSON.stringify(name)}: create it with experiments/create (mlflow.set_experiment does).`,
      );
    return c.json({ experiment: experimentJson(experiment) });
  });
  app.post(`${MLFLOW_API}/experiments/create`, async (c) => {
    const { name, artifact_location, tags } = await readMlflowRequest(c, CreateExperiment);
    if (artifact_location) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `artifact_location cannot be chosen here: every experiment's artifacts go through this server's proxy (mlflow-artifacts:/). Leave it out.`,
      );
    }
    const { experiment, created } = await (await tracking()).createExperiment(name, recordOf(tags));
    if (!created)
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment ${JSON.stringify(name)} already exists (id ${experiment.id}); use it or pick another name.`);
    return c.json({ experiment_id: experiment.id });
  });
  app.get(`${MLFLOW_API}/experiments/get`, async (c) => {
    const { experiment_id: id } = await readMlflowRequest(c, ExperimentById);
    return c.json({ experiment: experimentJson(await requireExperiment(await tracking(), id)) });
  });
  const search = async (c: Context) => {
    const request = await readMlflowRequest(c, SearchExperiments);
    const select = compileExperimentSearch({ filter: request.filter, orderBy: request.order_by });
    const visible = request.view_type === 'DELETED_ONLY' || request.view_type === 2 ? [] : await allExperiments(await tracking());
    const { items, nextPageToken } = pageOf(select(visible), request.max_results, request.page_token);
    return c.json({ experiments: items.map(experimentJson), ...(nextPageToken ? { next_page_token: nextPageToken } : {}) });
  };
  app.post(`${MLFLOW_API}/experiments/search`, search);
  app.get(`${MLFLOW_API}/experiments/search`, search);
  app.post(`${MLFLOW_API}/experiments/update`, () => {
    throw new MlflowError('NOT_IMPLEMENTED', 'Experiments cannot be renamed here: an experiment is known by its name. Create one under the new name instead.');
  });
}

/** An experiment by id, or RESOURCE_DOES_NOT_EXIST; the default one is made on first use. */
export async function requireExperiment(store: TrackingStore, id: string): Promise<Experiment> {
  const experiment = id === DEFAULT_EXPERIMENT.id ? await defaultExperiment(store) : await store.getExperiment(id);
  if (!experiment) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No experiment with id ${JSON.stringify(id)}: list them with experiments/search.`);
  return experiment;
}

/** The default experiment, made when it is first asked for (two first askers make one: its id is fixed). */
export async function defaultExperiment(store: TrackingStore): Promise<Experiment> {
  return (await store.getExperiment(DEFAULT_EXPERIMENT.id)) ?? (await store.createExperiment(DEFAULT_EXPERIMENT.name)).experiment;
}

/** Every experiment, the default one included. */
async function allExperiments(store: TrackingStore): Promise<Experiment[]> {
  const experiments = await store.listExperiments();
  return experiments.some((experiment) => experiment.id === DEFAULT_EXPERIMENT.id) ? experiments : [...experiments, await defaultExperiment(store)];
}
