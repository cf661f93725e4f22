import { randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { isPlatformError, PlatformError } from '../../shared/domain/errors.js';
import { validateAliasName, validateModelName } from '../../shared/domain/names.js';
import type { ModelReference, ModelVersion } from '../../shared/domain/registry.js';
import { parseDuration } from '../../shared/domain/rollout.js';
import { encodeUploadMetadata, newModelObjectName, parseModelReference } from '../../shared/domain/upload-metadata.js';
import type { AliasMove } from '../../shared/ports/model-registry.port.js';
import type { CliContext } from './context.js';
import { formatBytes, keyValues, UsageError } from './format.js';
import { callFunction } from './http.js';
import { promote } from './promote.js';
import { ROLLOUT_DEFAULTS } from './rollout-commands.js';
import type { StartAnswer } from './rollout-format.js';

/** Flags of `mlops upload`. */
export interface UploadOptions {
  name: string;
  runId?: string;
  dataset?: string;
  description?: string;
  metric?: string[];
  param?: string[];
  tag?: string[];
  /** `<model>@<version>`: the version this one was retrained from. */
  parent?: string;
  /** What to do once registered: `canary`, `shadow` or `promote:<alias>`. */
  then?: string;
  wait: boolean;
  timeoutSeconds: number;
}

/** What `--then` did after the registration: the rollout it started, or the alias it moved. */
export type FollowUp = { rollout: StartAnswer } | { promotion: AliasMove };

/** What follows a registration: a rollout of the new version (as `mlops rollout start` or `shadow` starts one by default), or a promotion. */
type Then = { kind: 'canary' | 'shadow' } | { kind: 'promote'; alias: string };

/**
 * `mlops upload`: writes the file to models/<name>/<unique>/model.onnx with its metadata, then
 * waits for register-model to make it a version (or to reject it, with the reason).
 */
export async function upload(
  context: CliContext,
  file: string,
  options: UploadOptions,
  progress: (line: string) => void,
): Promise<{ uri: string; version?: ModelVersion; followUp?: FollowUp }> {
  const name = validateModelName(options.name);
  const size = fileSize(file);
  const then = options.then === undefined ? undefined : parseThen(options.then);
  if (then && !options.wait) throw new UsageError('--then acts on the registered version: leave out --no-wait.');
  const parent = options.parent === undefined ? undefined : await existingParent(context, options.parent);
  const metrics = Object.fromEntries(Object.entries(keyValues(options.metric, 'metric')).map(([key, value]) => [key, toMetric(key, value)]));
  const metadata = encodeUploadMetadata({
    runId: options.runId,
    datasetId: options.dataset,
    description: options.description,
    uploader: context.actor,
    parent,
    metrics,
    params: keyValues(options.param, 'param'),
    tags: keyValues(options.tag, 'tag'),
  });
  const objectName = newModelObjectName(name, randomUUID().slice(0, 8));
  const store = await context.platform.artifacts();
  const object = await store.put(objectName, createReadStream(file), {
    contentType: 'application/octet-stream',
    metadata,
    onProgress: (written) => progress(progressBar(written, size)),
  });
  progress(`uploaded ${formatBytes(object.size)} to ${object.uri}\n`);
  if (!options.wait) return { uri: object.uri };
  const version = await waitForRegistration(context, name, object.uri, object.generation, options.timeoutSeconds);
  return { uri: object.uri, version, ...(then ? { followUp: await follow(context, version, then) } : {}) };
}

function parseThen(text: string): Then {
  if (text === 'canary' || text === 'shadow') return { kind: text };
  if (text.startsWith('promote:')) return { kind: 'promote', alias: validateAliasName(text.slice('promote:'.length)) };
  throw new UsageError(`--then expects canary, shadow or promote:<alias> (such as promote:staging); got "${text}".`);
}

/** The `--parent` version, refused before anything is uploaded when it is malformed or not in the registry. */
async function existingParent(context: CliContext, text: string): Promise<ModelReference> {
  let parent: ModelReference;
  try {
    parent = parseModelReference(text);
  } catch (error) {
    if (isPlatformError(error, 'NAME.INVALID')) throw new UsageError(`--parent ${error.message}`);
    throw error;
  }
  if (!(await (await context.platform.registry()).getVersion(parent.model, parent.version))) {
    throw new PlatformError(
      'REGISTRY.VERSION_NOT_FOUND',
      `--parent ${text}: ${parent.model} has no version ${parent.version}. See its versions with: mlops models show ${parent.model}`,
    );
  }
  return parent;
}

// The defaults of `mlops rollout start` (a canary in the registry's default steps) and of `mlops rollout shadow` (every request copied).
const CANARY_INTERVAL_MS = parseDuration(ROLLOUT_DEFAULTS.interval, '--interval');
const SHADOW_DURATION_MS = parseDuration(ROLLOUT_DEFAULTS.shadowDuration, '--duration');

async function follow(context: CliContext, version: ModelVersion, then: Then): Promise<FollowUp> {
  const reason = `mlops upload --then ${then.kind === 'promote' ? `promote:${then.alias}` : then.kind}`;
  if (then.kind === 'promote') return { promotion: await promote(context, version.model, String(version.version), then.alias, reason) };
  const rollout =
    then.kind === 'canary' ? { mode: 'canary', interval: CANARY_INTERVAL_MS, stickyKey: null } : { mode: 'shadow', steps: [100], duration: SHADOW_DURATION_MS };
  const body = { candidate: version.version, ...rollout, reason, requestId: randomUUID() };
  const headers = { 'content-type': 'application/json', 'x-mlops-actor': context.actor };
  const answer = await callFunction<StartAnswer>(context, 'registry-api', `/models/${version.model}/rollouts`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return { rollout: answer };
}

async function waitForRegistration(context: CliContext, name: string, uri: string, generation: string, timeoutSeconds: number): Promise<ModelVersion> {
  const registry = await context.platform.registry();
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const versions = await registry.listVersions(name);
    const version = versions.find((candidate) => candidate.artifactUri === uri && candidate.generation === generation);
    if (version) return version;
    const rejection = (await registry.history(name)).find((entry) => entry.action === 'rejected' && entry.reason.startsWith(`${uri}:`));
    if (rejection) throw new PlatformError('MODEL.LOAD_FAILED', `Rejected: ${rejection.reason.slice(uri.length + 2)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new PlatformError(
    'CLI.TIMEOUT',
    `${uri} was not registered within ${timeoutSeconds} s. Is the platform running (npm start)? Check later with: mlops models show ${name}`,
    {
      permanent: false,
    },
  );
}

function fileSize(file: string): number {
  try {
    const info = statSync(file);
    if (!info.isFile()) throw new UsageError(`${file} is not a file.`);
    return info.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
}

function toMetric(key: string, value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new UsageError(`--metric ${key}=${value}: the value must be a number.`);
  return number;
}

function progressBar(written: number, total: number): string {
  const share = total === 0 ? 1 : written / total;
  const filled = Math.round(share * 30);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${formatBytes(written)}/${formatBytes(total)}`;
}
