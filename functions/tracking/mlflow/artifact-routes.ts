import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Context, Hono } from 'hono';
import type { ArtifactStore, StoredObject } from '../../../shared/ports/artifact-store.port.js';
import { requireRun } from '../../../shared/services/tracking.js';
import { artifactContentType, objectNameOf } from './artifact-paths.js';
import { MLFLOW_ARTIFACTS_API, MlflowError, type MlflowDeps } from './protocol.js';

const ARTIFACTS = `${MLFLOW_ARTIFACTS_API}/artifacts`;

/**
 * MLflow's client falls back to a single PUT only when the answer's message starts with exactly this
 * (`_UnsupportedMultipartUploadException.MESSAGE` in mlflow/exceptions.py).
 */
export const MULTIPART_UNSUPPORTED = 'Multipart upload is not supported for the current artifact repository';

/** One entry of a folder listing, as mlflow/protos/mlflow_artifacts.proto's FileInfo; a folder has no size. */
export interface MlflowFileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/**
 * The artifact proxy MLflow's client uses for `mlflow-artifacts:` URIs: upload, download, list and
 * delete, streamed between the request and the bucket. Run artifacts land where the native API keeps
 * them (`runs/<run>/artifacts/`), a logged model's under `logged-models/`; nothing is ever written
 * under `models/`, so an upload here never starts a registration.
 */
export function addArtifactRoutes(app: Hono, deps: MlflowDeps): void {
  app.get(ARTIFACTS, async (c) => c.json(await listFolder(await deps.artifacts(), c.req.query('path'))));
  app.put(`${ARTIFACTS}/*`, async (c) => {
    const name = await writableObjectName(deps, proxyPathOf(c));
    await (await deps.artifacts()).put(name, requestBody(c), { contentType: c.req.header('content-type') || artifactContentType(name) });
    return c.json({});
  });
  app.get(`${ARTIFACTS}/*`, async (c) => download(await deps.artifacts(), proxyPathOf(c)));
  app.delete(`${ARTIFACTS}/*`, async (c) => {
    await deleteArtifacts(await deps.artifacts(), objectNameOf(proxyPathOf(c)));
    return c.json({});
  });
  for (const step of ['create', 'complete', 'abort']) {
    app.post(`${MLFLOW_ARTIFACTS_API}/mpu/${step}/*`, () => {
      throw new MlflowError('NOT_IMPLEMENTED', `${MULTIPART_UNSUPPORTED}: upload each file with one PUT ${ARTIFACTS}/<path>.`);
    });
  }
}

/** The proxy path after `/artifacts/`, percent-decoded once from the raw URL (so `%2F` and `%2E%2E` are checked like `/` and `..`). */
function proxyPathOf(c: Context): string {
  const raw = new URL(c.req.url).pathname.slice(ARTIFACTS.length + 1);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new MlflowError('INVALID_PARAMETER_VALUE', `Artifact path ${JSON.stringify(raw)} is not valid percent-encoding.`);
  }
}

/** The object an upload writes: a file (not a folder root) of a run or logged model that exists. */
async function writableObjectName(deps: MlflowDeps, proxyPath: string): Promise<string> {
  const name = objectNameOf(proxyPath);
  if (name.endsWith('/')) throw new MlflowError('INVALID_PARAMETER_VALUE', `Name the file to upload: PUT ${ARTIFACTS}/${proxyPath}/<file name>.`);
  const [kind, id] = name.split('/');
  if (kind === 'runs') await requireRun(await deps.tracking(), id!);
  else if (!(await (await deps.loggedModels()).get(id!))) {
    throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No logged model with id "${id}": create it (POST logged-models) before uploading its artifacts.`);
  }
  return name;
}

/** The request body as a Node stream, never buffered whole here. */
function requestBody(c: Context): Readable | Uint8Array {
  const body = c.req.raw.body;
  return body ? Readable.fromWeb(body as NodeReadableStream<Uint8Array>) : new Uint8Array();
}

/** Streams one file, with the headers MLflow's server sends (type by extension, as an attachment). */
async function download(artifacts: ArtifactStore, proxyPath: string): Promise<Response> {
  const name = objectNameOf(proxyPath);
  const object = name.endsWith('/') ? undefined : await artifacts.stat(name);
  if (!object)
    throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No artifact file ${JSON.stringify(proxyPath)}; list a folder with GET ${ARTIFACTS}?path=<folder>.`);
  const content = await artifacts.read(name, object.generation);
  return new Response(Readable.toWeb(content) as ReadableStream<Uint8Array>, { headers: downloadHeaders(object) });
}

function downloadHeaders(object: StoredObject): Record<string, string> {
  const fileName = object.name.slice(object.name.lastIndexOf('/') + 1);
  return {
    'content-type': artifactContentType(object.name),
    'content-length': String(object.size),
    'content-disposition': `attachment; filename=${fileName}`,
    'x-content-type-options': 'nosniff',
  };
}

/**
 * One level of a folder: files with their size, subfolders without, by name relative to the folder, as
 * mlflow/store/artifact/http_artifact_repo.py joins them onto the path it asked for. `{}` when empty.
 */
async function listFolder(artifacts: ArtifactStore, path: string | undefined): Promise<{ files?: MlflowFileInfo[] }> {
  if (!path) throw new MlflowError('INVALID_PARAMETER_VALUE', `Name the folder to list: GET ${ARTIFACTS}?path=<experiment id>/<run id>/artifacts.`);
  const prefix = folderPrefix(objectNameOf(path));
  const entries = new Map<string, MlflowFileInfo>();
  for (const object of await artifacts.list(prefix)) {
    const [first, ...rest] = object.name.slice(prefix.length).split('/');
    if (rest.length > 0) entries.set(first!, { path: first!, is_dir: true });
    else entries.set(first!, { path: first!, is_dir: false, file_size: object.size });
  }
  const files = [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files.length > 0 ? { files } : {};
}

/** Deletes a file, or every file under a folder; deleting what is absent is not an error, as in MLflow. */
async function deleteArtifacts(artifacts: ArtifactStore, name: string): Promise<void> {
  const inFolder = await artifacts.list(folderPrefix(name));
  await Promise.all([...inFolder.map((object) => artifacts.delete(object.name)), ...(name.endsWith('/') ? [] : [artifacts.delete(name)])]);
}

function folderPrefix(name: string): string {
  return name.endsWith('/') ? name : `${name}/`;
}
