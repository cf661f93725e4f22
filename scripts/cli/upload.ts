import { randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { PlatformError } from '../../shared/domain/errors.js';
import { validateModelName } from '../../shared/domain/names.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { encodeUploadMetadata, newModelObjectName } from '../../shared/domain/upload-metadata.js';
import type { CliContext } from './context.js';
import { formatBytes, keyValues, UsageError } from './format.js';

/** Flags of `mlops upload`. */
export interface UploadOptions {
  name: string;
  runId?: string;
  dataset?: string;
  description?: string;
  metric?: string[];
  param?: string[];
  tag?: string[];
  wait: boolean;
  timeoutSeconds: number;
}

/**
 * `mlops upload`: writes the file to models/<name>/<unique>/model.onnx with its metadata, then
 * waits for register-model to make it a version (or to reject it, with the reason).
 */
export async function upload(
  context: CliContext,
  file: string,
  options: UploadOptions,
  progress: (line: string) => void,
): Promise<{ uri: string; version?: ModelVersion }> {
  const name = validateModelName(options.name);
  const size = fileSize(file);
  const metrics = Object.fromEntries(Object.entries(keyValues(options.metric, 'metric')).map(([key, value]) => [key, toMetric(key, value)]));
  const metadata = encodeUploadMetadata({
    runId: options.runId,
    datasetId: options.dataset,
    description: options.description,
    uploader: context.actor,
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
  return { uri: object.uri, version: await waitForRegistration(context, name, object.uri, object.generation, options.timeoutSeconds) };
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
