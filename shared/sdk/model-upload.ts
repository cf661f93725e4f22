import { PlatformError } from '../domain/errors.js';
import type { ModelVersion } from '../domain/registry.js';
import { encodeUploadMetadata } from '../domain/upload-metadata.js';
import type { StoredObject } from '../ports/artifact-store.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';

/** What a model uploaded from a run carries to register-model. */
export interface LineageFields {
  runId: string;
  uploader: string;
  description?: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
}

// GCS allows 8 KiB of custom metadata per object; keep a margin, and only names every backend
// accepts as metadata keys. The run id always goes, and links to everything else.
const METADATA_BUDGET = 6 * 1024;
const PLAIN_KEY = /^[A-Za-z0-9_.-]{1,100}$/;

/** Upload metadata for a model made by a run: the run id, then its latest metrics and params while they fit. */
export function lineageMetadata({ runId, uploader, description, params, metrics }: LineageFields): Record<string, string> {
  const base = encodeUploadMetadata({ runId, uploader, description, metrics: {}, params: {}, tags: {} });
  let budget = METADATA_BUDGET - Object.entries(base).reduce((total, [key, value]) => total + key.length + value.length, 0);
  const fitting = <T>(record: Record<string, T>, prefix: string): Record<string, T> =>
    Object.fromEntries(
      Object.entries(record).filter(([key, value]) => {
        const cost = prefix.length + key.length + String(value).length;
        if (!PLAIN_KEY.test(key) || cost > budget) return false;
        budget -= cost;
        return true;
      }),
    );
  return encodeUploadMetadata({ runId, uploader, description, metrics: fitting(metrics, 'mlops-metric-'), params: fitting(params, 'mlops-param-'), tags: {} });
}

/** Waits until register-model made a version from `object` (found through its run id), or rejected it. */
export async function waitForVersion(registry: ModelRegistry, model: string, runId: string, object: StoredObject, timeoutMs: number): Promise<ModelVersion> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const versions = await registry.listVersionsByRun(runId);
    const version = versions.find((candidate) => candidate.artifactUri === object.uri && candidate.generation === object.generation);
    if (version) return version;
    const rejection = (await registry.history(model)).find((entry) => entry.action === 'rejected' && entry.reason.startsWith(`${object.uri}:`));
    if (rejection) throw new PlatformError('MODEL.LOAD_FAILED', `Rejected: ${rejection.reason.slice(object.uri.length + 2)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new PlatformError(
    'REGISTRY.REGISTRATION_TIMEOUT',
    `${object.uri} was not registered within ${timeoutMs} ms. Is register-model running (npm start)? Check later with: mlops models show ${model}`,
    { permanent: false },
  );
}
