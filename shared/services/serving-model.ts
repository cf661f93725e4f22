import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlatformError } from '../domain/errors.js';
import type { ModelVersion, ServingTarget } from '../domain/registry.js';
import type { ArtifactStore } from '../ports/artifact-store.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { LoadedModel, ModelRunner } from '../ports/model-runner.port.js';

/** The ports a cold start needs. */
export interface ServingModelDeps {
  registry: ModelRegistry;
  artifacts: ArtifactStore;
  runner: ModelRunner;
  /** Folder where artifacts are cached by sha256, so a restart does not download again. */
  cacheDir: string;
}

/** A model version loaded and ready to serve. */
export interface ServingModel {
  version: ModelVersion;
  loaded: LoadedModel;
  /** The uploaded model file, verified against the registry's sha256 (what the explainer reads a linear model's weights from). */
  bytes: Uint8Array;
}

/**
 * Cold start: resolves the target to one ready version, fetches its artifact (from the local
 * cache when present), verifies its sha256 against the registry and creates the session once.
 */
export async function loadServingModel(target: ServingTarget, deps: ServingModelDeps): Promise<ServingModel> {
  const version = await resolveVersion(target, deps.registry);
  const bytes = await fetchVerified(version, deps);
  return { version, loaded: await deps.runner.load(bytes), bytes };
}

async function resolveVersion(target: ServingTarget, registry: ModelRegistry): Promise<ModelVersion> {
  let number: number | undefined;
  if ('version' in target) number = target.version;
  else {
    const model = await registry.getModel(target.model);
    if (!model) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${target.model}" to serve.`);
    number = model.aliases[target.alias];
    if (number === undefined)
      throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Model "${target.model}" has no "${target.alias}" alias to serve. Promote a version first.`);
  }
  const version = await registry.getVersion(target.model, number);
  if (!version) throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Model "${target.model}" has no version ${number} to serve.`);
  if (version.status !== 'ready')
    throw new PlatformError('REGISTRY.VERSION_NOT_READY', `Version ${number} of "${target.model}" is ${version.status}; only ready versions are served.`);
  return version;
}

/** A version's model file, from the local cache when present, else from the artifact store, verified against its sha256. */
export async function fetchVerified(version: ModelVersion, { artifacts, cacheDir }: Pick<ServingModelDeps, 'artifacts' | 'cacheDir'>): Promise<Uint8Array> {
  const cached = join(cacheDir, `${version.sha256}.onnx`);
  const fromCache = await readFile(cached).catch(() => undefined);
  if (fromCache && sha256(fromCache) === version.sha256) return fromCache;
  const prefix = `gs://${artifacts.bucket}/`;
  if (!version.artifactUri.startsWith(prefix)) {
    throw new PlatformError(
      'ARTIFACT.NOT_FOUND',
      `Version ${version.version} of "${version.model}" lives at ${version.artifactUri}, outside the configured bucket ${artifacts.bucket}.`,
    );
  }
  const bytes = await artifacts.get(version.artifactUri.slice(prefix.length), version.generation);
  const digest = sha256(bytes);
  if (digest !== version.sha256) {
    throw new PlatformError(
      'ARTIFACT.INTEGRITY',
      `${version.artifactUri} has sha256 ${digest}, but the registry recorded ${version.sha256}: refusing to serve a file that changed.`,
    );
  }
  await mkdir(cacheDir, { recursive: true });
  const temporary = `${cached}.${process.pid}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, cached);
  return bytes;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
