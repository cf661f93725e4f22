import { randomUUID } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { PlatformError } from '../../../shared/domain/errors.js';
import { parseVersionNumber, validateAliasName, validateModelName } from '../../../shared/domain/names.js';
import type { Model, ModelVersion } from '../../../shared/domain/registry.js';
import type { ModelRegistry } from '../../../shared/ports/model-registry.port.js';
import { promoteModel } from '../../../shared/services/promote-model.js';
import { runArtifactUri } from './artifact-paths.js';
import { failedVersionJson, modelVersionJson, registeredModelJson } from './model-version-json.js';
import { Int64, MLFLOW_API, MlflowError, type MlflowDeps, pageOf, Repeated, readMlflowRequest, recordOf } from './protocol.js';
import { registerFromSource } from './register-from-source.js';
import { meetsFilter, parseRegistryFilter, sortModels, sortVersions } from './registry-search.js';

const Tags = z.array(z.object({ key: z.string(), value: z.string().default('') })).optional();
const Name = z.object({ name: z.string() });
const NameVersion = z.object({ name: z.string(), version: z.string() });
const NameAlias = z.object({ name: z.string(), alias: z.string() });
const CreateModel = z.object({ name: z.string(), tags: Tags, description: z.string().default('') });
const CreateVersion = z.object({
  name: z.string(),
  source: z.string().min(1),
  run_id: z.string().optional(),
  model_id: z.string().optional(),
  tags: Tags,
  description: z.string().default(''),
});
const SetAlias = NameAlias.extend({ version: z.union([z.string(), z.number()]) });
const LatestVersions = z.object({ name: z.string(), stages: Repeated(z.string()).optional() });
const Search = (defaultMax: number, max: number) =>
  z.object({
    filter: z.string().max(10_000).optional(),
    max_results: Int64.pipe(z.number().int().positive().max(max)).default(defaultMax),
    order_by: Repeated(z.string()).optional(),
    page_token: z.string().optional(),
  });
// The defaults and limits of model_registry.proto.
const SearchModels = Search(100, 1000);
const SearchVersions = Search(200_000, 200_000);

/** The actor of an audit entry made over MLflow: who the caller says it is, else "mlflow". */
const actorOf = (c: Context) => (c.req.header('x-mlops-actor') ?? 'mlflow').slice(0, 200);
const DEFAULT_REGISTRATION_TIMEOUT_MS = 50_000;

/**
 * MLflow's model registry over ours: registered models, versions registered from an MLflow source
 * through the bucket and register-model (the same validation and events as any upload), and
 * aliases moved under the same rules, audit trail and model-promoted event as `mlops promote`.
 */
export function addRegistryRoutes(app: Hono, deps: MlflowDeps): void {
  addModelRoutes(app, deps);
  addAliasRoutes(app, deps);
  addVersionRoutes(app, deps);
}

function addModelRoutes(app: Hono, { registry }: MlflowDeps): void {
  app.post(`${MLFLOW_API}/registered-models/create`, async (c) => {
    const body = await readMlflowRequest(c, CreateModel);
    const name = validateModelName(body.name);
    const { model, created } = await (await registry()).createModel(name, { description: body.description, tags: recordOf(body.tags), actor: actorOf(c) });
    if (!created) throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Registered model "${name}" already exists; add a version with model-versions/create.`);
    return c.json({ registered_model: registeredModelJson(model, undefined) });
  });
  app.get(`${MLFLOW_API}/registered-models/get`, async (c) => {
    const store = await registry();
    const model = await requireModel(store, (await readMlflowRequest(c, Name)).name);
    return c.json({ registered_model: registeredModelJson(model, await latestOf(store, model)) });
  });
  app.on(['GET', 'POST'], `${MLFLOW_API}/registered-models/search`, async (c) => {
    const search = await readMlflowRequest(c, SearchModels);
    const conditions = parseRegistryFilter(search.filter, ['name', 'tags']);
    const store = await registry();
    const models = (await store.listModels()).filter((model) => meetsFilter(conditions, (field) => fieldOfModel(model, field)));
    const page = pageOf(sortModels(models, search.order_by), search.max_results, search.page_token);
    const registered = await Promise.all(page.items.map(async (model) => registeredModelJson(model, await latestOf(store, model))));
    return c.json({ registered_models: registered, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
  });
  // Every version is in stage "None": the latest of that stage is the model's newest version.
  app.on(['GET', 'POST'], `${MLFLOW_API}/registered-models/get-latest-versions`, async (c) => {
    const { name, stages = [] } = await readMlflowRequest(c, LatestVersions);
    const store = await registry();
    const model = await requireModel(store, name);
    const latest = stages.length === 0 || stages.some((stage) => stage.toLowerCase() === 'none') ? await latestOf(store, model) : undefined;
    return c.json({ model_versions: latest ? [modelVersionJson(latest, model)] : [] });
  });
}

function addAliasRoutes(app: Hono, { registry, bus, policy }: MlflowDeps): void {
  const path = `${MLFLOW_API}/registered-models/alias`;
  app.post(path, async (c) => {
    const body = await readMlflowRequest(c, SetAlias);
    const request = {
      model: validateModelName(body.name),
      alias: validateAliasName(body.alias),
      version: parseVersionNumber(body.version),
      actor: actorOf(c),
      reason: 'set through MLflow (registered-models/alias)',
      requestId: c.req.header('idempotency-key') ?? randomUUID(),
    };
    await promoteModel(request, { registry: await registry(), bus: bus(), policy });
    return c.json({});
  });
  app.delete(path, async (c) => {
    const body = await readMlflowRequest(c, NameAlias);
    const request = {
      model: validateModelName(body.name),
      alias: validateAliasName(body.alias),
      actor: actorOf(c),
      reason: 'removed through MLflow',
      requestId: randomUUID(),
    };
    await (await registry()).removeAlias(request);
    return c.json({});
  });
  app.get(path, async (c) => {
    const { name, alias } = await readMlflowRequest(c, NameAlias);
    const store = await registry();
    const model = await requireModel(store, name);
    const version = model.aliases[alias];
    if (version === undefined) {
      throw new MlflowError(
        'RESOURCE_DOES_NOT_EXIST',
        `Registered model "${model.name}" has no alias "${alias}". Set it with: mlops promote ${model.name} <version> --to ${alias}`,
      );
    }
    return c.json({ model_version: modelVersionJson(await requireVersion(store, model.name, version), model) });
  });
}

function addVersionRoutes(app: Hono, deps: MlflowDeps): void {
  const { registry, tracking, loggedModels } = deps;
  // Answers once register-model decided: READY with the new version, or FAILED_REGISTRATION with why.
  app.post(`${MLFLOW_API}/model-versions/create`, async (c) => {
    const body = await readMlflowRequest(c, CreateVersion);
    const request = {
      name: body.name,
      source: body.source,
      runId: body.run_id,
      modelId: body.model_id,
      tags: recordOf(body.tags),
      description: body.description,
      actor: actorOf(c),
    };
    const store = await registry();
    const outcome = await registerFromSource(request, {
      tracking: await tracking(),
      artifacts: await deps.artifacts(),
      registry: store,
      loggedModels: await loggedModels(),
      timeoutMs: deps.registrationTimeoutMs ?? DEFAULT_REGISTRATION_TIMEOUT_MS,
    });
    if (outcome.kind === 'failed') return c.json({ model_version: failedVersionJson({ ...request, ...outcome }) });
    return c.json({ model_version: modelVersionJson(outcome.version, await store.getModel(outcome.version.model)) });
  });
  app.get(`${MLFLOW_API}/model-versions/get`, async (c) => {
    const { name, version } = await readMlflowRequest(c, NameVersion);
    const store = await registry();
    const found = await requireVersion(store, validateModelName(name), parseVersionNumber(version));
    return c.json({ model_version: modelVersionJson(found, await store.getModel(found.model)) });
  });
  app.on(['GET', 'POST'], `${MLFLOW_API}/model-versions/search`, async (c) => {
    const search = await readMlflowRequest(c, SearchVersions);
    const conditions = parseRegistryFilter(search.filter, ['name', 'run_id', 'source_path', 'tags']);
    const store = await registry();
    const versions = (await candidateVersions(store, conditions)).filter((version) => meetsFilter(conditions, (field) => fieldOfVersion(version, field)));
    const page = pageOf(sortVersions(versions, search.order_by), search.max_results, search.page_token);
    const models = new Map<string, Model | undefined>();
    for (const name of new Set(page.items.map((version) => version.model))) models.set(name, await store.getModel(name));
    const json = page.items.map((version) => modelVersionJson(version, models.get(version.model)));
    return c.json({ model_versions: json, ...(page.nextPageToken ? { next_page_token: page.nextPageToken } : {}) });
  });
  app.get(`${MLFLOW_API}/model-versions/get-download-uri`, async (c) => {
    const { name, version } = await readMlflowRequest(c, NameVersion);
    const found = await requireVersion(await registry(), validateModelName(name), parseVersionNumber(version));
    return c.json({ artifact_uri: await downloadUriOf(found, deps) });
  });
}

/**
 * Where a client downloads a version from: its MLflow source as an `mlflow-artifacts:` URI (served
 * by the artifact proxy) when it was registered through MLflow, else the bucket folder of its file.
 */
async function downloadUriOf(version: ModelVersion, { tracking, loggedModels }: MlflowDeps): Promise<string> {
  const source = version.lineage.source;
  const folder = version.artifactUri.slice(0, version.artifactUri.lastIndexOf('/'));
  if (source?.startsWith('mlflow-artifacts:')) return source;
  const run = source && /^runs:\/([^/]+)\/?(.*)$/.exec(source);
  if (run) {
    const found = await (await tracking()).getRun(run[1]!);
    return found ? [runArtifactUri(found.experimentId, found.id), run[2]].filter(Boolean).join('/') : folder;
  }
  const logged = source && /^models:\/(m-[A-Za-z0-9]+)\/?$/.exec(source);
  if (logged) return (await (await loggedModels()).get(logged[1]!))?.artifactLocation ?? folder;
  return folder;
}

async function requireModel(registry: ModelRegistry, name: string): Promise<Model> {
  const model = await registry.getModel(validateModelName(name));
  if (!model)
    throw new PlatformError(
      'REGISTRY.MODEL_NOT_FOUND',
      `No registered model named "${name}". Create it with registered-models/create, or list them with: mlops models list`,
    );
  return model;
}

async function requireVersion(registry: ModelRegistry, name: string, version: number): Promise<ModelVersion> {
  const found = await registry.getVersion(name, version);
  if (!found)
    throw new PlatformError(
      'REGISTRY.VERSION_NOT_FOUND',
      `Registered model "${name}" has no version ${version}. List versions with: mlops models show ${name}`,
    );
  return found;
}

async function latestOf(registry: ModelRegistry, model: Model): Promise<ModelVersion | undefined> {
  return model.latestVersion > 0 ? registry.getVersion(model.name, model.latestVersion) : undefined;
}

/** The versions a search can match: one model's or one run's when the filter pins it, else every model's. */
async function candidateVersions(registry: ModelRegistry, conditions: ReturnType<typeof parseRegistryFilter>): Promise<ModelVersion[]> {
  const pinned = (field: string) => conditions.find((condition) => condition.field === field && condition.operator === '=')?.values[0];
  const name = pinned('name');
  if (name !== undefined) return (await registry.getModel(name)) ? registry.listVersions(name) : [];
  const runId = pinned('run_id');
  if (runId !== undefined) return registry.listVersionsByRun(runId);
  return (await Promise.all((await registry.listModels()).map((model) => registry.listVersions(model.name)))).flat();
}

function fieldOfModel(model: Model, field: string): string | undefined {
  return field === 'name' ? model.name : model.tags[field.slice('tags.'.length)];
}

function fieldOfVersion(version: ModelVersion, field: string): string | undefined {
  if (field === 'name') return version.model;
  if (field === 'run_id') return version.lineage.runId;
  if (field === 'source_path') return version.lineage.source ?? version.artifactUri;
  return version.tags[field.slice('tags.'.length)];
}
