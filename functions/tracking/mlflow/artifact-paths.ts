import { MlflowError } from './protocol.js';

/** Ids in a proxy path: the same alphabet as our run and experiment ids (and MLflow's `m-<hex>` model ids). */
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ACCEPTED_FORMS = '"<experiment id>/<run id>/artifacts/<path>" or "<experiment id>/models/<model id>/artifacts/<path>"';

/** `mlflow-artifacts:/<experimentId>/<runId>/artifacts`: what runs/create answers as artifact_uri. */
export function runArtifactUri(experimentId: string, runId: string): string {
  return `mlflow-artifacts:/${experimentId}/${runId}/artifacts`;
}

/** `mlflow-artifacts:/<experimentId>/models/<modelId>/artifacts`: a logged model's artifact_location. */
export function loggedModelArtifactUri(experimentId: string, modelId: string): string {
  return `mlflow-artifacts:/${experimentId}/models/${modelId}/artifacts`;
}

/**
 * Bucket object name for a proxy path (the part after /mlflow-artifacts/artifacts/):
 * `<exp>/<run>/artifacts/<p>` -> `runs/<run>/artifacts/<p>` (where the native API keeps run artifacts);
 * `<exp>/models/<modelId>/artifacts/<p>` -> `logged-models/<modelId>/artifacts/<p>`.
 * `<p>` may be empty: the answer is then the folder's prefix, ending in `/`. A trailing `/` is ignored.
 * Anything else, or a path that escapes its folder, is INVALID_PARAMETER_VALUE.
 */
export function objectNameOf(proxyPath: string): string {
  const segments = proxyPath.replace(/\/+$/, '').split('/');
  const [experimentId = '', second = '', third = '', fourth = ''] = segments;
  if (second === 'models' && fourth === 'artifacts') {
    return `logged-models/${checkedId(third, proxyPath)}/artifacts/${relativePath(segments.slice(4), proxyPath)}`;
  }
  if (third !== 'artifacts') throw badPath(proxyPath, `expected ${ACCEPTED_FORMS}`);
  checkedId(experimentId, proxyPath);
  return `runs/${checkedId(second, proxyPath)}/artifacts/${relativePath(segments.slice(3), proxyPath)}`;
}

/**
 * The bucket object name (or, for a folder root, the prefix ending in `/`) an artifact URI names:
 * `mlflow-artifacts:/<proxy path>` (with or without a `//host` part) via objectNameOf;
 * `runs:/<runId>/<p>` -> `runs/<runId>/artifacts/<p>`. A folder's name has no trailing `/`: add one to list it.
 */
export function objectNameOfUri(uri: string): string {
  const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(uri);
  if (proxied) return objectNameOf(proxied[1] ?? '');
  const run = /^runs:\/(.*)$/.exec(uri);
  if (run) {
    const segments = (run[1] ?? '').replace(/^\/+/, '').replace(/\/+$/, '').split('/');
    return `runs/${checkedId(segments[0] ?? '', uri)}/artifacts/${relativePath(segments.slice(1), uri)}`;
  }
  throw new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Artifact URI ${JSON.stringify(uri)} is not supported: use "runs:/<run id>/<path>" or "mlflow-artifacts:/<experiment id>/<run id>/artifacts/<path>".`,
  );
}

function checkedId(id: string, path: string): string {
  if (!ID.test(id)) throw badPath(path, `${JSON.stringify(id)} is not an id (letters, digits, "_" or "-"); expected ${ACCEPTED_FORMS}`);
  return id;
}

/** The path inside an artifact folder; empty segments, `.`, `..` and backslashes are refused so a path never leaves its folder. */
function relativePath(segments: string[], path: string): string {
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..' || segment.includes('\\'))) {
    throw badPath(path, 'it has an empty, "." or ".." segment or a backslash; use a relative path such as "plots/roc.png"');
  }
  return segments.join('/');
}

function badPath(path: string, reason: string): MlflowError {
  return new MlflowError('INVALID_PARAMETER_VALUE', `Artifact path ${JSON.stringify(path)} is invalid: ${reason}.`);
}

/** Extensions MLflow's server answers as text/plain (mlflow/utils/mime_type_utils.py), and its two extensionless files. */
const TEXT_EXTENSIONS = new Set(
  'txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv tsv md rst MLmodel MLproject'.split(' '),
);

/** The rest of the types Python's `mimetypes` table gives the files people log as artifacts (test/fixtures/mlflow-artifacts). */
const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tiff: 'image/tiff',
  ico: 'image/vnd.microsoft.icon',
  svg: 'image/svg+xml',
  html: 'text/html',
  htm: 'text/html',
  css: 'text/css',
  pdf: 'application/pdf',
  zip: 'application/zip',
  tar: 'application/x-tar',
  h5: 'application/x-hdf5',
  xls: 'application/vnd.ms-excel',
  mp4: 'video/mp4',
  wav: 'audio/x-wav',
};

/** The Content-Type MLflow's server sends an artifact with: by its extension, else application/octet-stream. */
export function artifactContentType(path: string): string {
  const fileName = path.slice(path.lastIndexOf('/') + 1);
  const dot = fileName.lastIndexOf('.');
  const extension = dot > 0 ? fileName.slice(dot + 1) : fileName;
  if (TEXT_EXTENSIONS.has(extension)) return 'text/plain';
  return (dot > 0 && CONTENT_TYPES[extension.toLowerCase()]) || 'application/octet-stream';
}
