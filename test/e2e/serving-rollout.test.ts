import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logisticRegressionToOnnx } from '../../shared/model-export/onnx-writer.js';
import type { Model } from '../../shared/domain/registry.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';
import { mlops } from '../support/cli.js';
import { constantLoad } from '../support/load.js';

describe('serving follows promotion with zero failed requests', () => {
  let platform: StartedPlatform;
  const files = mkdtempSync(join(tmpdir(), 'rollout-'));

  beforeAll(async () => {
    platform = await startPlatformProcess({ fresh: true });
    Object.assign(process.env, platform.env, { MLOPS_DATA_DIR: platform.dataDir, METADATA_SERVER_DETECTION: 'none', MLOPS_ACTOR: 'test' });
  }, 90_000);

  afterAll(async () => {
    await platform?.stop('SIGTERM');
  });

  const model = async (): Promise<Model> => JSON.parse((await mlops('models', 'show', 'churn', '--json')).stdout).model as Model;

  it('rolls the endpoint from version 1 to 2 under constant load, every response naming its version', async () => {
    const v1 = join(files, 'v1.onnx');
    const v2 = join(files, 'v2.onnx');
    writeFileSync(v1, logisticRegressionToOnnx({ weights: [0.1, 0.2, 0.3, 0.4], intercept: 0, featureNames: ['a', 'b', 'c', 'd'] }));
    writeFileSync(v2, logisticRegressionToOnnx({ weights: [-0.1, -0.2, -0.3, -0.4], intercept: 0, featureNames: ['a', 'b', 'c', 'd'] }));
    expect((await mlops('upload', v1, '--name', 'churn')).code).toBe(0);
    expect((await mlops('upload', v2, '--name', 'churn')).code).toBe(0);
    expect((await mlops('promote', 'churn', '1', '--to', 'production')).code).toBe(0);
    const serving = await eventually(async () => ((await model()).serving?.version === 1 ? (await model()).serving : undefined), {
      timeoutMs: 30_000,
      what: 'version 1 serving',
    });
    expect((await mlops('models', 'show', 'churn')).stdout).toContain(`serving: ${serving!.url} (version 1`);

    const load = constantLoad(serving!.url, 8);
    await eventually(async () => (load.outcomes.length > 200 ? true : undefined), { what: 'load on version 1' });
    expect((await mlops('promote', 'churn', '2', '--to', 'production')).code).toBe(0);
    await eventually(async () => (load.outcomes.filter((outcome) => outcome.version === 2).length > 200 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'version 2 answering',
    });
    await load.stop();

    const failures = load.outcomes.filter((outcome) => outcome.status !== 200);
    expect(failures).toEqual([]);
    expect(load.outcomes.every((outcome) => outcome.version === 1 || outcome.version === 2)).toBe(true);
    expect(load.outcomes.filter((outcome) => outcome.version === 1).length).toBeGreaterThan(200);
    // The registry records the new revision once the old one has drained and stopped.
    const updated = await eventually(async () => ((await model()).serving?.version === 2 ? model() : undefined), {
      timeoutMs: 30_000,
      what: 'registry to record version 2',
    });
    expect(updated.serving).toMatchObject({ url: serving!.url, version: 2 });
    expect(updated.serving!.revision).not.toBe(serving!.revision);
  }, 120_000);

  it('rolls back to version 1 at the same URL under constant load, with zero failed requests', async () => {
    const before = (await model()).serving!;
    const load = constantLoad(before.url, 8);
    await eventually(async () => (load.outcomes.length > 200 ? true : undefined), { what: 'load on version 2' });
    expect((await mlops('rollback', 'churn')).code).toBe(0);
    await eventually(async () => ((await model()).serving?.version === 1 && (await model()).serving?.revision !== before.revision ? true : undefined), {
      timeoutMs: 30_000,
      what: 'version 1 back in a new revision',
    });
    const rolledBack = load.outcomes.length;
    await eventually(async () => (load.outcomes.slice(rolledBack).filter((outcome) => outcome.version === 1).length > 200 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'version 1 answering',
    });
    await load.stop();
    expect(load.outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
    expect(load.outcomes.every((outcome) => outcome.version === 1 || outcome.version === 2)).toBe(true);
    const response = await fetch(`${before.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [{ a: 1, b: 2, c: 3, d: 4 }] }),
    });
    expect(((await response.json()) as { version: number }).version).toBe(1);
  }, 90_000);
});
