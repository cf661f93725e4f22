import { PlatformError } from './errors.js';
import { parseVersionNumber, validateModelName } from './names.js';
import type { ModelReference } from './registry.js';

/** What an uploader can say about a model file, carried as object metadata. */
export interface UploadMetadata {
  runId?: string;
  datasetId?: string;
  uploader?: string;
  description?: string;
  /** The MLflow source a model registered through MLflow came from (becomes `lineage.source`). */
  source?: string;
  /** The MLflow 3 logged model it came from (becomes `lineage.loggedModelId`). */
  loggedModelId?: string;
  /** The version it was retrained from (becomes `lineage.parent`), carried as `mlops-parent: <model>@<version>`. */
  parent?: ModelReference;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

const PREFIX = 'mlops-';
const PARENT_KEY = `${PREFIX}parent`;
const MAPS = { metrics: 'metric-', params: 'param-', tags: 'tag-' } as const;
const SCALARS = {
  runId: 'run-id',
  datasetId: 'dataset-id',
  uploader: 'uploader',
  description: 'description',
  source: 'source',
  loggedModelId: 'logged-model-id',
} as const;

/** Encodes upload metadata as flat, lowercase-prefixed object metadata keys (GCS custom metadata). */
export function encodeUploadMetadata(metadata: UploadMetadata): Record<string, string> {
  const encoded: Record<string, string> = {};
  for (const [field, key] of Object.entries(SCALARS)) {
    const value = metadata[field as keyof typeof SCALARS];
    if (value !== undefined) encoded[PREFIX + key] = value;
  }
  if (metadata.parent) encoded[PARENT_KEY] = `${metadata.parent.model}@${metadata.parent.version}`;
  for (const [field, prefix] of Object.entries(MAPS)) {
    for (const [name, value] of Object.entries(metadata[field as keyof typeof MAPS])) encoded[PREFIX + prefix + name] = String(value);
  }
  return encoded;
}

/** Decodes object metadata written by encodeUploadMetadata; unknown keys are ignored, bad metric values rejected. */
export function decodeUploadMetadata(metadata: Record<string, string> = {}): UploadMetadata {
  const decoded: UploadMetadata = { metrics: {}, params: {}, tags: {} };
  for (const [field, key] of Object.entries(SCALARS)) {
    const value = metadata[PREFIX + key];
    if (value !== undefined) decoded[field as keyof typeof SCALARS] = value;
  }
  if (metadata[PARENT_KEY] !== undefined) decoded.parent = parseModelReference(metadata[PARENT_KEY]);
  for (const [key, value] of Object.entries(metadata)) {
    if (key.startsWith(PREFIX + MAPS.metrics)) decoded.metrics[key.slice((PREFIX + MAPS.metrics).length)] = parseMetric(key, value);
    else if (key.startsWith(PREFIX + MAPS.params)) decoded.params[key.slice((PREFIX + MAPS.params).length)] = value;
    else if (key.startsWith(PREFIX + MAPS.tags)) decoded.tags[key.slice((PREFIX + MAPS.tags).length)] = value;
  }
  return decoded;
}

/** Reads `<model>@<version>` (such as `churn@3`), or refuses it with NAME.INVALID saying how to write it. */
export function parseModelReference(text: string): ModelReference {
  const at = text.lastIndexOf('@');
  if (at <= 0) throw new PlatformError('NAME.INVALID', `${JSON.stringify(text)} names no version: write <model>@<version>, such as churn@3.`);
  return { model: validateModelName(text.slice(0, at)), version: parseVersionNumber(text.slice(at + 1)) };
}

function parseMetric(key: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number))
    throw new PlatformError('MODEL.INVALID_METADATA', `Metadata ${key}=${JSON.stringify(value)} is not a finite number.`);
  return number;
}

/** Where model files go in the artifact bucket; the bucket notifies register-model of every object under it. */
export const MODEL_OBJECT_PREFIX = 'models/';

/**
 * The object path of a new upload of a model: `models/<name>/<UTC timestamp>-<unique>/model.onnx`,
 * unique per upload so a re-upload never overwrites the file an earlier version points to.
 */
export function newModelObjectName(name: string, unique: string, now: Date = new Date()): string {
  return `${MODEL_OBJECT_PREFIX}${validateModelName(name)}/${now.toISOString().replace(/[-:.]/g, '')}-${unique}/model.onnx`;
}

/**
 * Reads the model name from an object path `models/<name>/...`. Returns undefined for objects
 * that are not model files (no .onnx suffix), which register-model ignores.
 */
export function modelNameFromObject(objectName: string): string | undefined {
  if (!objectName.endsWith('.onnx')) return undefined;
  const [root, name, ...rest] = objectName.split('/');
  if (`${root}/` !== MODEL_OBJECT_PREFIX || name === undefined || rest.length === 0) {
    throw new PlatformError('NAME.INVALID', `Object ${objectName} is not under models/<name>/: upload model files as models/<name>/<any>/model.onnx.`);
  }
  return validateModelName(name);
}
