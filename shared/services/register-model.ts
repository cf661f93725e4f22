import { createHash } from 'node:crypto';
import { isPlatformError } from '../domain/errors.js';
import type { GcsObjectNotification, ModelRegistered } from '../domain/events.js';
import { modelTask } from '../domain/model-task.js';
import type { ModelVersion } from '../domain/registry.js';
import { planInputs } from '../domain/serving/input-plan.js';
import { TOPICS } from '../domain/topics.js';
import { decodeUploadMetadata, modelNameFromObject } from '../domain/upload-metadata.js';
import type { ArtifactStore } from '../ports/artifact-store.port.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { ModelRunner } from '../ports/model-runner.port.js';

/** The ports register-model works with. */
export interface RegisterModelDeps {
  artifacts: ArtifactStore;
  registry: ModelRegistry;
  runner: ModelRunner;
  bus: EventBus;
}

/** What became of one notification. */
export type RegistrationOutcome = { kind: 'ignored'; reason: string } | { kind: 'registered'; version: ModelVersion; created: boolean };

/**
 * Registers the model file a bucket notification names: proves it loads and that /predict can feed
 * it, reads its signature and task (what it predicts, which output is the label, the probabilities
 * or the score), records what is served when the graph had to be derived (a ZipMap served as its
 * probability tensor), hashes it and takes the next version number. Keyed by bucket/object#generation, so a
 * redelivered notification yields the same version. A file that is not a valid model is
 * recorded as rejected (no version number used) and the permanent error is rethrown.
 */
export async function registerModel(object: GcsObjectNotification, deps: RegisterModelDeps): Promise<RegistrationOutcome> {
  const model = modelNameFromObject(object.name);
  if (!model) return { kind: 'ignored', reason: `${object.name} is not an .onnx file` };
  const registrationKey = `${object.bucket}/${object.name}#${object.generation}`;
  const artifactUri = `gs://${object.bucket}/${object.name}`;
  const upload = decodeUploadMetadata(object.metadata);
  const actor = upload.uploader ?? 'bucket-notification';
  try {
    const bytes = await deps.artifacts.get(object.name, object.generation);
    const loaded = await deps.runner.load(bytes);
    const { signature, served, metadata } = loaded;
    await loaded.close();
    planInputs(signature, metadata, upload.tags);
    const task = modelTask(signature, upload.tags);
    const { version, created } = await deps.registry.registerVersion({
      model,
      registrationKey,
      actor,
      artifactUri,
      generation: object.generation,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.byteLength,
      signature,
      task,
      served,
      metrics: upload.metrics,
      params: upload.params,
      tags: upload.tags,
      description: upload.description ?? '',
      lineage: {
        sourceUri: artifactUri,
        runId: upload.runId,
        datasetId: upload.datasetId,
        uploader: upload.uploader,
        source: upload.source,
        loggedModelId: upload.loggedModelId,
        parent: upload.parent,
      },
    });
    const event: ModelRegistered = { schemaVersion: 1, model, version: version.version, artifactUri, sha256: version.sha256, registeredAt: version.createdAt };
    // Published on redelivery too: the first attempt may have died between commit and publish.
    await deps.bus.publish(TOPICS.modelRegistered, event, { model, version: String(version.version) });
    return { kind: 'registered', version, created };
  } catch (error) {
    if (isPlatformError(error) && error.permanent) {
      await deps.registry.recordRejection({ model, registrationKey, artifactUri, reason: error.message, actor });
    }
    throw error;
  }
}
