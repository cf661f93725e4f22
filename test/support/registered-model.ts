import { createHash } from 'node:crypto';
import type { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import type { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { OnnxModelRunner } from '../../shared/adapters/onnx/index.js';
import { modelTask } from '../../shared/domain/model-task.js';
import type { ModelSignature } from '../../shared/domain/model-signature.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import type { RegistrationRequest } from '../../shared/ports/model-registry.port.js';

/** Puts a model file in the bucket and registers it as register-model would: signature, sha256, lineage. */
export async function registerModelFile(
  { registry, bucket }: { registry: FirestoreModelRegistry; bucket: LocalBucketArtifactStore },
  model: string,
  bytes: Uint8Array,
  /** The upload's folder under the model's: another one for each further version. */
  folder = 'a',
): Promise<ModelVersion> {
  const object = await bucket.put(`models/${model}/${folder}/model.onnx`, bytes);
  const loaded = await new OnnxModelRunner().load(bytes);
  const { version } = await registry.registerVersion({
    model,
    registrationKey: `${object.uri}#${object.generation}`,
    actor: 'test',
    artifactUri: object.uri,
    generation: object.generation,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sizeBytes: bytes.byteLength,
    signature: loaded.signature,
    task: modelTask(loaded.signature),
    served: loaded.served,
    metrics: {},
    params: {},
    tags: {},
    description: '',
    lineage: { sourceUri: object.uri },
  });
  await loaded.close();
  return version;
}

/** A registration of a model version with no artifact behind it, for tests of what the registry stores about versions. */
export function registrationRequest(model: string, signature: ModelSignature, key: string = crypto.randomUUID()): RegistrationRequest {
  const uri = `gs://bucket/models/${model}/${key}/model.onnx`;
  return {
    model,
    registrationKey: `bucket/models/${model}/${key}/model.onnx#1`,
    actor: 'test',
    artifactUri: uri,
    generation: '1',
    sha256: 'ab'.repeat(32),
    sizeBytes: 1,
    signature,
    metrics: {},
    params: {},
    tags: {},
    description: '',
    lineage: { sourceUri: uri },
  };
}
