import { randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { LoggedModel } from '../../../shared/domain/logged-model.js';
import { matchesLoggedModelFilter, parseLoggedModelFilter } from '../../../shared/domain/logged-model-filter.js';
import type { LoggedModelStore } from '../../../shared/ports/logged-model-store.port.js';
import { finalStatusOf, loggedModelJson, orderLoggedModels } from './logged-model-json.js';
import { Int64, MLFLOW_API, MlflowError, type MlflowDeps, pageOf, Repeated, readMlflowRequest, recordOf } from './protocol.js';

const KeyValue = z.object({ key: z.string(), value: z.string() });
const CreateBody = z.object({
  experiment_id: z.string(),
  name: z.string().optional(),
  model_type: z.string().optional(),
  source_run_id: z.string().optional(),
  params: z.array(KeyValue).max(100).optional(),
  tags: z.array(KeyValue).max(100).optional(),
});
const FinalizeBody = z.object({ model_id: z.string().optional(), status: z.union([z.string(), z.number().int()]) });
const TagsBody = z.object({ model_id: z.string().optional(), tags: z.array(KeyValue).max(100) });
const ParamsBody = z.object({ model_id: z.string().optional(), params: z.array(KeyValue).max(100) });
const SearchBody = z.object({
  experiment_ids: Repeated(z.string()).refine((ids) => ids.length > 0, 'give at least one experiment id'),
  filter: z.string().max(10_000).optional(),
  max_results: Int64.refine((count) => count > 0 && count <= 1000, 'expected 1 to 1000').default(50),
  order_by: z.array(z.object({ field_name: z.string(), ascending: z.boolean().optional() })).default([]),
  page_token: z.string().optional(),
});
const OutputsBody = z.object({ run_id: z.string(), models: z.array(z.object({ model_id: z.string(), step: Int64.default(0) })).default([]) });
const InputsBody = z.object({
  run_id: z.string(),
  datasets: z.array(z.unknown()).default([]),
  models: z.array(z.object({ model_id: z.string() })).default([]),
});

const MODELS = `${MLFLOW_API}/logged-models`;

/**
 * MLflow 3's logged models under /api/2.0/mlflow/logged-models (create, get, finalize, tags,
 * params, search) and the run-side calls its `log_model` makes: runs/outputs and runs/log-inputs,
 * recorded in the LoggedModelStore (run documents stay as the tracking store writes them).
 */
export function addLoggedModelRoutes(app: Hono, deps: MlflowDeps): void {
  app.post(MODELS, async (c) => {
    const body = await readMlflowRequest(c, CreateBody);
    await requireExperiment(deps, body.experiment_id);
    const model = await (await deps.loggedModels()).create({
      experimentId: body.experiment_id,
      name: body.name || `model-${randomUUID().slice(0, 8)}`,
      sourceRunId: body.source_run_id || undefined,
      modelType: body.model_type || undefined,
      params: recordOf(body.params),
      tags: recordOf(body.tags),
    });
    return c.json({ model: loggedModelJson(model) });
  });
  app.post(`${MODELS}/search`, async (c) => {
    const body = await readMlflowRequest(c, SearchBody);
    const conditions = parseLoggedModelFilter(body.filter ?? '');
    const found = await (await deps.loggedModels()).search({ experimentIds: body.experiment_ids });
    const matching = orderLoggedModels(
      found.filter((model) => matchesLoggedModelFilter(model, conditions)),
      body.order_by,
    );
    const page = pageOf(matching, body.max_results, body.page_token);
    return c.json({ models: page.items.map(loggedModelJson), ...(page.nextPageToken && { next_page_token: page.nextPageToken }) });
  });
  app.get(`${MODELS}/:model_id`, async (c) => c.json({ model: loggedModelJson(await requireModel(deps, c.req.param('model_id'))) }));
  app.patch(`${MODELS}/:model_id`, async (c) => {
    const { model_id, status } = await readMlflowRequest(c, FinalizeBody);
    const id = pathModelId(c, model_id);
    return c.json({ model: loggedModelJson(found(id, await (await deps.loggedModels()).finalize(id, finalStatusOf(status)))) });
  });
  app.patch(`${MODELS}/:model_id/tags`, async (c) => {
    const { model_id, tags } = await readMlflowRequest(c, TagsBody);
    const id = pathModelId(c, model_id);
    return c.json({ model: loggedModelJson(found(id, await (await deps.loggedModels()).setTags(id, recordOf(tags)))) });
  });
  // A tag key may hold "/": the client puts it in the path as it is.
  app.delete(`${MODELS}/:model_id/tags/*`, async (c) => {
    const id = c.req.param('model_id');
    const key = decodeURIComponent(c.req.path.slice(`${MODELS}/${id}/tags/`.length));
    const model = await requireModel(deps, id);
    if (!(key in model.tags)) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Logged model ${id} has no tag ${JSON.stringify(key)}.`);
    found(id, await (await deps.loggedModels()).deleteTag(id, key));
    return c.json({});
  });
  app.post(`${MODELS}/:model_id/params`, async (c) => {
    const { model_id, params } = await readMlflowRequest(c, ParamsBody);
    const id = pathModelId(c, model_id);
    found(id, await (await deps.loggedModels()).logParams(id, recordOf(params)));
    return c.json({});
  });
  addRunModelRoutes(app, deps);
}

/** runs/outputs and runs/log-inputs: which logged models a run produced and used. */
function addRunModelRoutes(app: Hono, deps: MlflowDeps): void {
  app.post(`${MLFLOW_API}/runs/outputs`, async (c) => {
    const { run_id, models } = await readMlflowRequest(c, OutputsBody);
    const store = await linkable(deps, run_id, models);
    await store.logOutputs(
      run_id,
      models.map(({ model_id, step }) => ({ modelId: model_id, step })),
    );
    return c.json({});
  });
  app.post(`${MLFLOW_API}/runs/log-inputs`, async (c) => {
    const { run_id, datasets, models } = await readMlflowRequest(c, InputsBody);
    // Refused rather than dropped: a caller must not believe its dataset lineage was kept.
    if (datasets.length > 0) {
      throw new MlflowError(
        'NOT_IMPLEMENTED',
        'Dataset inputs (mlflow.log_input) are not stored by this server; only logged model inputs are. Log the dataset name as a param or tag instead.',
      );
    }
    const store = await linkable(deps, run_id, models);
    await store.logInputs(
      run_id,
      models.map(({ model_id }) => model_id),
    );
    return c.json({});
  });
}

/** The store, once the run and every named logged model are known to exist. */
async function linkable(deps: MlflowDeps, runId: string, models: { model_id: string }[]): Promise<LoggedModelStore> {
  if (!(await (await deps.tracking()).getRun(runId))) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No run with id "${runId}".`);
  for (const { model_id } of models) await requireModel(deps, model_id);
  return deps.loggedModels();
}

async function requireExperiment(deps: MlflowDeps, experimentId: string): Promise<void> {
  if (!(await (await deps.tracking()).getExperiment(experimentId))) {
    throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No experiment with id "${experimentId}". Create it first (mlflow.set_experiment).`);
  }
}

async function requireModel(deps: MlflowDeps, id: string): Promise<LoggedModel> {
  return found(id, await (await deps.loggedModels()).get(id));
}

function found(id: string, model: LoggedModel | undefined): LoggedModel {
  if (!model) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No logged model with id "${id}". Search them with POST ${MODELS}/search.`);
  return model;
}

/** The model id of the path; a body naming another one is refused rather than guessed between. */
function pathModelId(c: Context, bodyModelId: string | undefined): string {
  const id = c.req.param('model_id')!;
  if (bodyModelId !== undefined && bodyModelId !== id) {
    throw new MlflowError('INVALID_PARAMETER_VALUE', `The body names logged model "${bodyModelId}" but the path names "${id}": send the same id in both.`);
  }
  return id;
}
