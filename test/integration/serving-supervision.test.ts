import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { LocalServingDeployer, type ServingNotice } from '../../shared/adapters/local-serving/local-serving-deployer.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { eventually, useEmulators } from '../support/environment.js';
import { registerModelFile } from '../support/registered-model.js';
import { binaryClassifierOnnx } from '../support/models.js';

// Real serving revisions (functions/serve/server.ts) behind the local deployer, faulted by hand.
const { projectId } = useEmulators();
const dataDir = mkdtempSync(join(tmpdir(), 'serving-supervision-'));
const env: NodeJS.ProcessEnv = { ...process.env, MLOPS_DATA_DIR: dataDir };
const notices: ServingNotice[] = [];
const deployer = new LocalServingDeployer({ projectRoot: resolve(import.meta.dirname, '../..'), env, onNotice: (notice) => notices.push(notice) });
const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
const pubsub = new PubSub({ projectId });

beforeAll(async () => {
  const bytes = binaryClassifierOnnx();
  const bucket = new LocalBucketArtifactStore({ root: join(dataDir, 'bucket'), bucket: 'mlops-artifacts' });
  const registry = new FirestoreModelRegistry({ projectId, client: firestore });
  await registerModelFile({ registry, bucket }, 'churn', bytes);
  // Revisions log their predictions there.
  await pubsub.createTopic(TOPICS.predictions);
}, 30_000);

afterAll(async () => {
  await deployer.close();
  await Promise.all([firestore.terminate(), pubsub.close()]);
}, 30_000);

/** The pid of the one serving process of `model` this test started, read from /proc. */
function revisionPid(model: string): number {
  const pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry) && isRevisionOf(Number(entry), model));
  expect(pids).toHaveLength(1);
  return Number(pids[0]);
}

function isRevisionOf(pid: number, model: string): boolean {
  try {
    const parent = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    return parent === process.pid && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`MLOPS_SERVE_MODEL=${model}`);
  } catch {
    return false;
  }
}

const predict = (url: string) =>
  fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: [[1, 2, 3, 4]] }),
    signal: AbortSignal.timeout(5000),
  });

describe('supervised local serving revisions', () => {
  it('replaces a SIGKILLed revision: 503 SERVING.UNAVAILABLE with Retry-After while it is down, 200 again within 15 s', async () => {
    const deployment = await deployer.deploy('churn', 1);
    expect((await predict(deployment.url)).status).toBe(200);
    process.kill(revisionPid('churn'), 'SIGKILL');
    const killedAt = Date.now();
    const seen: { status: number; code?: string; retryAfter: string | null }[] = [];
    await eventually(
      async () => {
        const response = await predict(deployment.url);
        const body = (await response.json()) as { code?: string };
        seen.push({ status: response.status, code: body.code, retryAfter: response.headers.get('retry-after') });
        return response.status === 200 ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'the stable URL to answer 200 again' },
    );
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    expect(seen.filter((answer) => answer.status !== 200 && answer.status !== 503)).toEqual([]);
    expect(seen).toContainEqual({ status: 503, code: 'SERVING.UNAVAILABLE', retryAfter: '1' });
    expect(notices.map((notice) => notice.message)).toContainEqual(expect.stringMatching(/churn-v1-\d+ \(version 1\) exited unexpectedly with signal SIGKILL/));
    // A restart is a new process of the same revision: the registry's record stays true.
    expect((await deployer.current('churn'))?.revision).toBe(deployment.revision);
  }, 30_000);

  it('re-promoting the served version is a no-op while it is healthy and rolls a fresh revision when it hangs', async () => {
    const serving = await deployer.deploy('churn', 1);
    expect((await deployer.deploy('churn', 1)).revision).toBe(serving.revision);
    const hung = revisionPid('churn');
    process.kill(hung, 'SIGSTOP');
    const fresh = await deployer.deploy('churn', 1);
    expect(fresh.revision).not.toBe(serving.revision);
    expect(fresh.url).toBe(serving.url);
    expect((await predict(fresh.url)).status).toBe(200);
    expect(isRevisionOf(hung, 'churn')).toBe(false);
  }, 30_000);

  it('re-promoting a crash-looping revision rolls a fresh one at once instead of waiting out the backoff', async () => {
    const looping = await deployer.deploy('churn', 1);
    // A configuration every new process refuses at boot, as a bad setting would.
    env.MLOPS_MAX_BATCH = 'not-a-number';
    process.kill(revisionPid('churn'), 'SIGKILL');
    const backingOff = await eventually(async () => notices.find((notice) => notice.revision === looping.revision && (notice.restartInMs ?? 0) > 0), {
      timeoutMs: 20_000,
      what: 'the restarts to back off',
    });
    expect(backingOff).toMatchObject({ severity: 'ERROR', restartInMs: 1000, fastCrashes: 4 });
    expect(backingOff.message).toContain('exit code 1');
    delete env.MLOPS_MAX_BATCH;
    const fresh = await deployer.deploy('churn', 1);
    expect(fresh.revision).not.toBe(looping.revision);
    expect((await predict(fresh.url)).status).toBe(200);
  }, 40_000);
});
