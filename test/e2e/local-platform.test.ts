import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../infra/stack.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';
import { binaryClassifierOnnx } from '../support/models.js';

/** Processes whose command line names one of these ports: what must be gone after Ctrl-C. */
function processesOnPorts(ports: number[]): string[] {
  const lines = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n');
  return lines.filter(
    (line) =>
      ports.some((port) => line.includes(`--port=${port}`) || line.includes(`-port ${port}`)) ||
      (line.includes('scripts/start.ts') && ports.some((port) => line.includes(String(port)))),
  );
}

describe('npm start: the local platform', () => {
  let platform: StartedPlatform;
  let firestore: Firestore;

  beforeAll(async () => {
    platform = await startPlatformProcess({ fresh: true });
    Object.assign(process.env, { METADATA_SERVER_DETECTION: 'none' });
    firestore = new Firestore({
      projectId: 'mlops-local',
      host: platform.env.FIRESTORE_EMULATOR_HOST,
      ssl: false,
      customHeaders: { Authorization: 'Bearer owner' },
    });
  }, 90_000);

  afterAll(async () => {
    await firestore?.terminate();
    if (platform?.child.exitCode === null) await platform.stop('SIGKILL');
  });

  it('prints one line per function with its URL, and the time it took to be ready', () => {
    for (const spec of FUNCTIONS.filter((candidate) => !candidate.perModel))
      expect(platform.output()).toMatch(new RegExp(`${spec.name}\\s+http://127\\.0\\.0\\.1:\\d+`));
    const seconds = Number(/Ready in ([\d.]+) s/.exec(platform.output())?.[1]);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(15);
  });

  it('delivers a message published from another process to the subscribed function', async () => {
    const pubsub = new PubSub({ projectId: 'mlops-local', apiEndpoint: platform.env.PUBSUB_EMULATOR_HOST, emulatorMode: true });
    await pubsub.topic('model-artifacts').publishMessage({ json: { bucket: 'mlops-artifacts', name: 'models/demo/readme.txt', generation: '1', size: '5' } });
    await pubsub.close();
    await eventually(async () => (/ignored: models\/demo\/readme\.txt is not an \.onnx file/.test(platform.output()) ? true : undefined), {
      what: 'register-model to log that it received and ignored the message',
    });
    expect(platform.output()).toMatch(/register-model received message \d+ from model-artifacts/);
  });

  it('registers a model file copied into the local bucket folder by hand', async () => {
    const folder = join(platform.dataDir, 'bucket', 'mlops-artifacts', 'models', 'hand-copied', 'v1');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'model.onnx'), binaryClassifierOnnx());
    const version = await eventually(async () => (await firestore.doc('models/hand-copied/versions/1').get()).data(), { what: 'version 1 of hand-copied' });
    expect(version).toMatchObject({ model: 'hand-copied', version: 1, status: 'ready', artifactUri: 'gs://mlops-artifacts/models/hand-copied/v1/model.onnx' });
  });

  it('stops everything it started on SIGINT, Java emulators included, and keeps the registry for the next start', async () => {
    const ports = [platform.ports.pubsub, platform.ports.firestore];
    expect(processesOnPorts(ports).length).toBeGreaterThan(0);
    expect(await platform.stop('SIGINT')).toBe(0);
    expect(processesOnPorts(ports)).toEqual([]);

    const again = await startPlatformProcess({ dataDir: platform.dataDir });
    try {
      const reader = new Firestore({
        projectId: 'mlops-local',
        host: again.env.FIRESTORE_EMULATOR_HOST,
        ssl: false,
        customHeaders: { Authorization: 'Bearer owner' },
      });
      expect((await reader.doc('models/hand-copied/versions/1').get()).data()?.status).toBe('ready');
      await reader.terminate();
    } finally {
      expect(await again.stop('SIGTERM')).toBe(0);
    }
  }, 90_000);
});
