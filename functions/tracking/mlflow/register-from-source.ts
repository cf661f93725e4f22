import { createHash } from 'node:crypto';
import { PlatformError } from '../../../shared/domain/errors.js';
import type { LoggedModel } from '../../../shared/domain/logged-model.js';
import { validateModelName } from '../../../shared/domain/names.js';
import type { ModelVersion } from '../../../shared/domain/registry.js';
import type { Run } from '../../../shared/domain/tracking.js';
import { encodeUploadMetadata, MODEL_OBJECT_PREFIX } from '../../../shared/domain/upload-metadata.js';
import type { ArtifactStore, StoredObject } from '../../../shared/ports/artifact-store.port.js';
import type { LoggedModelStore } from '../../../shared/ports/logged-model-store.port.js';
import type { ModelRegistry } from '../../../shared/ports/model-registry.port.js';
import type { TrackingStore } from '../../../shared/ports/tracking-store.port.js';
import { lineageMetadata } from '../../../shared/sdk/model-upload.js';
import { objectNameOfUri } from './artifact-paths.js';
import { MLMODEL_FILE, onnxDataPath } from './mlmodel.js';
import { MlflowError } from './protocol.js';

/** What model-versions/create asks for. */
export interface SourceRegistrationRequest {
  name: string;
  /** `runs:/<run>/<path>`, `mlflow-artifacts:/...` or `models:/<logged model id>`. */
  source: string;
  runId?: string;
  /** MLflow 3's logged model id (`m-<hex>`), when the client names it. */
  modelId?: string;
  tags: Record<string, string>;
  description: string;
  actor: string;
}

/** The stores a registration from an MLflow source reads and writes. */
export interface SourceRegistrationDeps {
  tracking: TrackingStore;
  artifacts: ArtifactStore;
  registry: ModelRegistry;
  loggedModels: LoggedModelStore;
  timeoutMs: number;
}

/** How a registration ended: a version register-model made, or why there is none. */
export type SourceRegistration =
  | { kind: 'ready'; version: ModelVersion }
  | { kind: 'failed'; reason: string; runId?: string; modelId?: string; userId: string };

/** Where a source's files are, and the run and logged model it belongs to. */
interface ResolvedSource {
  objectName: string;
  run?: Run;
  loggedModel?: LoggedModel;
}

// GCS keeps at most 8 KiB of custom metadata per object.
const METADATA_LIMIT = 8 * 1024;
const POLL_MS = 200;

/**
 * Registers the ONNX model an MLflow source names through the platform's own flow: the file is
 * copied under `models/<name>/` with its lineage as metadata, the bucket notifies register-model,
 * which validates and numbers it as any upload; this waits for that outcome. The copy's folder is
 * a hash of (name, source, run, source generation), so a retried create uploads nothing new and
 * waits on the same registration. A source with no ONNX model fails at once, uploading nothing.
 */
export async function registerFromSource(request: SourceRegistrationRequest, deps: SourceRegistrationDeps): Promise<SourceRegistration> {
  const name = validateModelName(request.name);
  const resolved = await resolveSource(request, deps);
  const runId = request.runId ?? resolved.run?.id;
  const modelId = resolved.loggedModel?.id;
  const userId = resolved.run?.tags['mlflow.user'] ?? request.actor;
  const found = await findOnnxFile(deps.artifacts, resolved.objectName, request.source);
  if ('reason' in found) return { kind: 'failed', reason: found.reason, runId, modelId, userId };
  const upload = await copyOnce(deps.artifacts, found.object, {
    objectName: `${MODEL_OBJECT_PREFIX}${name}/mlflow-${sourceHash(name, request.source, runId, found.object.generation)}/model.onnx`,
    metadata: uploadMetadata(request, resolved, { runId, modelId, userId }),
  });
  const outcome = await awaitRegistration(deps.registry, name, upload, deps.timeoutMs);
  return outcome.kind === 'ready' ? outcome : { ...outcome, runId, modelId, userId };
}

/** The bucket prefix of a source, its run (which must exist when named) and its logged model. */
async function resolveSource(request: SourceRegistrationRequest, deps: SourceRegistrationDeps): Promise<ResolvedSource> {
  const loggedModelId = /^models:\/(m-[A-Za-z0-9]+)\/?$/.exec(request.source)?.[1];
  if (request.source.startsWith('models:/') && !loggedModelId) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Source ${JSON.stringify(request.source)} is not supported: register from a logged model ("models:/m-<id>"), a run ("runs:/<run id>/model") or an "mlflow-artifacts:/" folder, not from another registered version.`,
    );
  }
  const loggedModel = await findLoggedModel(deps.loggedModels, loggedModelId ?? request.modelId ?? loggedModelIdOf(request.source));
  const objectName = loggedModelId ? objectNameOfUri(loggedModel!.artifactLocation) : objectNameOfUri(request.source);
  const runId = request.runId ?? /^runs\/([^/]+)\//.exec(objectName)?.[1] ?? loggedModel?.sourceRunId;
  return { objectName, loggedModel, run: runId === undefined ? undefined : await requireRun(deps.tracking, runId) };
}

function loggedModelIdOf(source: string): string | undefined {
  return /^logged-models\/([^/]+)\//.exec(source.startsWith('mlflow-artifacts:') ? objectNameOfUri(source) : '')?.[1];
}

async function findLoggedModel(store: LoggedModelStore, id: string | undefined): Promise<LoggedModel | undefined> {
  if (id === undefined) return undefined;
  const model = await store.get(id);
  if (!model)
    throw new MlflowError(
      'RESOURCE_DOES_NOT_EXIST',
      `No logged model with id "${id}": log it first (mlflow.onnx.log_model), then register models:/<its model_id>.`,
    );
  return model;
}

async function requireRun(tracking: TrackingStore, runId: string): Promise<Run> {
  const run = await tracking.getRun(runId);
  if (!run) throw new PlatformError('TRACKING.RUN_NOT_FOUND', `No run with id "${runId}": register a model from a run this server tracks.`);
  return run;
}

/**
 * The ONNX file of a source: the source itself when it is an .onnx file; else, in a model folder,
 * the file its MLmodel's `flavors.onnx.data` names; else the one .onnx file under it.
 */
async function findOnnxFile(artifacts: ArtifactStore, objectName: string, source: string): Promise<{ object: StoredObject } | { reason: string }> {
  const howToFix = 'log the model with mlflow.onnx.log_model(model, name="model") and register that (runs:/<run id>/model or models:/<model id>)';
  if (objectName.endsWith('.onnx')) {
    const object = await artifacts.stat(objectName);
    return object ? { object } : { reason: `No file is stored at ${source}: ${howToFix}.` };
  }
  const folder = objectName.endsWith('/') ? objectName : `${objectName}/`;
  const objects = await artifacts.list(folder);
  if (objects.length === 0) return { reason: `Nothing is stored under ${source}: ${howToFix}.` };
  const named = await fileNamedByMlmodel(artifacts, folder, objects);
  if (named) return { object: named };
  const onnx = objects.filter((object) => object.name.endsWith('.onnx'));
  if (onnx.length === 1) return { object: onnx[0]! };
  const files = objects.map((object) => object.name.slice(folder.length));
  const listed = `${files.slice(0, 10).join(', ')}${files.length > 10 ? `, and ${files.length - 10} more` : ''}`;
  if (onnx.length > 1)
    return {
      reason: `${source} holds ${onnx.length} .onnx files (${listed}) and no MLmodel naming one: register the file itself (${source}/<file>.onnx), or ${howToFix}.`,
    };
  return { reason: `No ONNX model under ${source} (found ${listed}); this registry serves ONNX models: ${howToFix}.` };
}

async function fileNamedByMlmodel(artifacts: ArtifactStore, folder: string, objects: StoredObject[]): Promise<StoredObject | undefined> {
  if (!objects.some((object) => object.name === folder + MLMODEL_FILE)) return undefined;
  const data = onnxDataPath(new TextDecoder().decode(await artifacts.get(folder + MLMODEL_FILE)));
  return data === undefined ? undefined : objects.find((object) => object.name === folder + data.replace(/^\.\//, ''));
}

/** A short hash naming the copy: the same request for the same source file names the same object. */
function sourceHash(name: string, source: string, runId: string | undefined, generation: string): string {
  return createHash('sha256')
    .update(JSON.stringify([name, source, runId ?? '', generation]))
    .digest('hex')
    .slice(0, 16);
}

/** The upload's metadata: the run's lineage (its id, params, latest metrics) plus the MLflow source, logged model, tags and description. */
function uploadMetadata(
  request: SourceRegistrationRequest,
  { run }: ResolvedSource,
  { runId, modelId, userId }: { runId?: string; modelId?: string; userId: string },
): Record<string, string> {
  const { description } = request;
  const lineage = run
    ? lineageMetadata({ runId: runId ?? run.id, uploader: userId, description, params: run.params, metrics: run.metrics })
    : encodeUploadMetadata({ runId, uploader: userId, description, metrics: {}, params: {}, tags: {} });
  const metadata = { ...lineage, ...encodeUploadMetadata({ source: request.source, loggedModelId: modelId, tags: request.tags, metrics: {}, params: {} }) };
  const size = Object.entries(metadata).reduce((total, [key, value]) => total + key.length + Buffer.byteLength(value), 0);
  if (size > METADATA_LIMIT) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `The version's tags, description and lineage take ${size} bytes of object metadata; at most ${METADATA_LIMIT} fit: shorten the tags or the description.`,
    );
  }
  return metadata;
}

/** Copies the source file to `objectName` unless an earlier attempt of the same request already did. */
async function copyOnce(
  artifacts: ArtifactStore,
  source: StoredObject,
  target: { objectName: string; metadata: Record<string, string> },
): Promise<StoredObject> {
  const existing = await artifacts.stat(target.objectName);
  if (existing) return existing;
  return artifacts.put(target.objectName, await artifacts.read(source.name, source.generation), {
    contentType: 'application/octet-stream',
    metadata: target.metadata,
  });
}

/**
 * Waits until register-model made a version from `object` or rejected it. A timeout is
 * TEMPORARILY_UNAVAILABLE (503), which MLflow's client retries: the retry waits on the same upload.
 */
async function awaitRegistration(
  registry: ModelRegistry,
  name: string,
  object: StoredObject,
  timeoutMs: number,
): Promise<{ kind: 'ready'; version: ModelVersion } | { kind: 'failed'; reason: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const version = (await registry.listVersions(name)).find((candidate) => candidate.artifactUri === object.uri && candidate.generation === object.generation);
    if (version) return { kind: 'ready', version };
    const rejection = (await registry.history(name)).find((entry) => entry.action === 'rejected' && entry.reason.startsWith(`${object.uri}: `));
    if (rejection) return { kind: 'failed', reason: `register-model rejected the model: ${rejection.reason.slice(object.uri.length + 2)}` };
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new MlflowError(
    'TEMPORARILY_UNAVAILABLE',
    `${object.uri} was not registered within ${timeoutMs} ms (is register-model running?). The same model-versions/create request waits on the same upload without copying it again; or check later with: mlops models show ${name}`,
  );
}
