import { randomUUID } from 'node:crypto';
import type { PromotionRequested } from '../../../shared/domain/events.js';
import { TOPICS } from '../../../shared/domain/topics.js';
import { encodeUploadMetadata, newModelObjectName } from '../../../shared/domain/upload-metadata.js';
import { logisticRegressionToOnnx } from '../../../shared/model-export/onnx-writer.js';
import { SmokeFailure, type SmokeStep, pollUntil } from './smoke-step.js';

/** The features of the smoke model, which is a three-feature logistic regression: tiny to register and load. */
export const SMOKE_FEATURES = ['x0', 'x1', 'x2'];

/** Writes the smoke model to the platform's bucket, under models/ where the bucket notifies register-model. */
export const upload: SmokeStep = {
  name: 'upload',
  timeoutSeconds: 60,
  async run({ platform, model, state }) {
    const bytes = logisticRegressionToOnnx({ weights: [0.5, -0.25, 0.75], intercept: 0.1, featureNames: SMOKE_FEATURES });
    const name = newModelObjectName(model, `smoke-${randomUUID().slice(0, 8)}`);
    const metadata = encodeUploadMetadata({ uploader: 'npm run smoke', description: 'smoke test', metrics: {}, params: {}, tags: { smoke: 'true' } });
    state.object = await (await platform.artifacts()).put(name, bytes, { contentType: 'application/octet-stream', metadata });
    return `${state.object.uri} (${state.object.size} bytes, generation ${state.object.generation})`;
  },
};

/** Waits until register-model made a version of exactly that object (or rejected it, which fails at once). */
export const registration: SmokeStep = {
  name: 'registration',
  timeoutSeconds: 180,
  async run({ platform, model, state, deadline }) {
    const registry = await platform.registry();
    const { uri, generation } = state.object!;
    const version = await pollUntil(deadline, `register-model to register ${uri}`, async () => {
      const made = (await registry.listVersions(model)).find((candidate) => candidate.artifactUri === uri && candidate.generation === generation);
      if (made) return made;
      const rejected = (await registry.history(model)).find((entry) => entry.action === 'rejected' && entry.reason.startsWith(`${uri}:`));
      if (rejected) throw new SmokeFailure(`register-model rejected it: ${rejected.reason.slice(uri.length + 2)}`);
      return undefined;
    });
    state.version = version.version;
    return `version ${version.version} (sha256 ${version.sha256.slice(0, 12)})`;
  },
};

/** Asks for the served alias on model-promotions, as any publisher may, and waits until promote-model moved it. */
export const promotion: SmokeStep = {
  name: 'promotion',
  timeoutSeconds: 120,
  async run({ platform, model, state, deadline }) {
    const alias = platform.config.serving.alias;
    const version = state.version!;
    const request: PromotionRequested = {
      schemaVersion: 1,
      model,
      version,
      alias,
      action: 'promote',
      actor: 'npm run smoke',
      reason: 'smoke test',
      requestId: randomUUID(),
    };
    await platform.eventBus().publish(TOPICS.modelPromotions, request);
    const registry = await platform.registry();
    await pollUntil(deadline, `promote-model to move ${alias} to version ${version}`, async () =>
      (await registry.getModel(model))?.aliases[alias] === version ? true : undefined,
    );
    return `${alias} -> version ${version}`;
  },
};

/** Waits until serving-rollout recorded an endpoint serving that version. */
export const serving: SmokeStep = {
  name: 'serving',
  timeoutSeconds: 600,
  async run({ platform, model, state, deadline }) {
    const registry = await platform.registry();
    const served = await pollUntil(deadline, `serving-rollout to serve version ${state.version}`, async () => {
      const current = (await registry.getModel(model))?.serving;
      return current?.version === state.version ? current : undefined;
    });
    state.url = served.url;
    return `${served.url} (revision ${served.revision})`;
  },
};
