import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { COLD_START_STEPS } from '../../functions/serve/cold-start-timeline.js';
import { bootServing } from '../../functions/serve/boot.js';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { parseConfig } from '../../shared/config/config.js';
import { createPlatform } from '../../shared/runtime/platform.js';
import { useEmulators } from '../support/environment.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { registerModelFile } from '../support/registered-model.js';

const { projectId } = useEmulators();
const dataDir = mkdtempSync(join(tmpdir(), 'serve-boot-'));
const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
const registry = new FirestoreModelRegistry({ projectId, client: firestore });
const platform = () => createPlatform(parseConfig({ ...process.env, MLOPS_DATA_DIR: dataDir }));

beforeAll(async () => {
  await registerModelFile(
    { registry, bucket: new LocalBucketArtifactStore({ root: join(dataDir, 'bucket'), bucket: 'mlops-artifacts' }) },
    'churn',
    binaryClassifierOnnx(),
  );
});
afterAll(() => firestore.terminate());

describe('bootServing', () => {
  it('logs the cold start with when each step ended, in order, since the process started', async () => {
    const lines: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    vi.stubEnv('MLOPS_LOG_LEVEL', 'info');
    const booted = platform();
    try {
      const revision = await bootServing(booted, { MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: '1' });
      expect(revision.version).toMatchObject({ model: 'churn', version: 1 });
      await revision.shutdown();
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
    const entry = lines.map((line) => JSON.parse(line)).find((logged) => /^serving churn version 1 \(cold start \d+ ms\)$/.test(logged.message));
    expect(entry).toMatchObject({ severity: 'INFO', model: 'churn', version: 1 });
    const ends = COLD_START_STEPS.map((step) => entry.coldStart[step] as number);
    expect(ends.every((end) => Number.isFinite(end) && end > 0)).toBe(true);
    expect(ends).toEqual([...ends].sort((a, b) => a - b));
    // onnxruntime loads during the registry read: done before the session it builds.
    expect(entry.coldStart.runtimeLoaded).toBeGreaterThan(entry.coldStart.modulesLoaded);
    expect(entry.coldStart.runtimeLoaded).toBeLessThanOrEqual(entry.coldStart.sessionCreated);
  });

  it('fails the start naming the model and version when the version does not exist', async () => {
    const booted = platform();
    await expect(bootServing(booted, { MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: '7' })).rejects.toMatchObject({
      code: 'REGISTRY.VERSION_NOT_FOUND',
      message: 'Model "churn" has no version 7 to serve.',
    });
    await booted.close();
  });
});
