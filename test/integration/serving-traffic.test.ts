import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { LocalServingDeployer } from '../../shared/adapters/local-serving/local-serving-deployer.js';
import type { RolloutChanged } from '../../shared/domain/events.js';
import { DEFAULT_CRITERIA, type Rollout, type Traffic, abortRollout, planRollout } from '../../shared/domain/rollout.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { logisticRegressionToOnnx } from '../../shared/model-export/onnx-writer.js';
import { routeRollout } from '../../shared/services/serving-rollout.js';
import { useEmulators } from '../support/environment.js';
import { constantLoad } from '../support/load.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { registerModelFile } from '../support/registered-model.js';

// Real serving revisions (functions/serve/server.ts) behind the local deployer's stable URL, with
// the traffic split, mirrored and moved between two versions of one model.
const { projectId } = useEmulators();
const dataDir = mkdtempSync(join(tmpdir(), 'serving-traffic-'));
const env: NodeJS.ProcessEnv = { ...process.env, MLOPS_DATA_DIR: dataDir };
const projectRoot = resolve(import.meta.dirname, '../..');
const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
const pubsub = new PubSub({ projectId });
const registry = new FirestoreModelRegistry({ projectId, client: firestore });
const MODEL = 'traffic';

beforeAll(async () => {
  const bucket = new LocalBucketArtifactStore({ root: join(dataDir, 'bucket'), bucket: 'mlops-artifacts' });
  await registerModelFile({ registry, bucket }, MODEL, binaryClassifierOnnx());
  const second = logisticRegressionToOnnx({ weights: [-0.1, -0.2, -0.3, -0.4], intercept: 0, featureNames: ['a', 'b', 'c', 'd'] });
  await registerModelFile({ registry, bucket }, MODEL, second, 'b');
  await pubsub.createTopic(TOPICS.predictions);
}, 30_000);

afterAll(() => Promise.all([firestore.terminate(), pubsub.close()]), 30_000);

const alone = (primary: number): Traffic => ({ primary, routes: [], shadow: null, stickyKey: null });
const canary = (percent: number): Traffic => ({ ...alone(1), routes: [{ version: 2, percent }] });

function deployer(): LocalServingDeployer {
  const local = new LocalServingDeployer({ projectRoot, env });
  onTestFinished(() => local.close());
  return local;
}

/** The serving processes of the model this test process started, with their environments, read from /proc. */
function revisionProcesses(): { pid: number; env: Record<string, string> }[] {
  return readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry)) return [];
    try {
      const parent = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      const pairs = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').filter(Boolean);
      const processEnv = Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
      return parent === process.pid && processEnv.MLOPS_SERVE_MODEL === MODEL ? [{ pid: Number(entry), env: processEnv }] : [];
    } catch {
      return [];
    }
  });
}

/** Sends `count` one-row predictions, `concurrency` at a time; each outcome with the version its body and its header name. */
async function predictions(url: string, count: number, concurrency = 16) {
  const outcomes: { status: number; version?: number; header: string | null }[] = [];
  let sent = 0;
  const worker = async () => {
    while (sent++ < count) {
      const response = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"instances":[[1,2,3,4]]}',
        signal: AbortSignal.timeout(5000),
      });
      const body = (await response.json()) as { version?: number };
      outcomes.push({ status: response.status, version: body.version, header: response.headers.get('x-mlops-version') });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the local stable URL splitting traffic between versions', () => {
  it('sends a 10% canary its share of 2,000 requests, within 3 points, every answer naming its version', async () => {
    const local = deployer();
    const deployment = await local.route(MODEL, canary(10));
    expect(deployment).toMatchObject({ version: 1, traffic: canary(10) });
    const outcomes = await predictions(deployment.url, 2000);
    expect(outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
    const candidateShare = (outcomes.filter((outcome) => outcome.version === 2).length / outcomes.length) * 100;
    expect(Math.abs(candidateShare - 10)).toBeLessThanOrEqual(3);
    expect(outcomes.every((outcome) => (outcome.version === 1 || outcome.version === 2) && outcome.header === String(outcome.version))).toBe(true);
  }, 90_000);

  it('fails no request under constant load from the primary alone to 10%, 50% and back, both versions answering', async () => {
    const local = deployer();
    const { url } = await local.deploy(MODEL, 1);
    const load = constantLoad(url, 16);
    onTestFinished(() => load.stop());
    await until(() => load.answered(1) > 200, 20_000, 'load on version 1');
    for (const percent of [10, 50]) {
      const from = load.outcomes.length;
      await local.route(MODEL, canary(percent));
      await until(() => load.outcomes.slice(from).filter((outcome) => outcome.version === 2).length > 100, 20_000, `version 2 answering at ${percent}%`);
    }
    const backAt = load.outcomes.length;
    expect((await local.route(MODEL, alone(1))).traffic).toBeUndefined();
    await until(() => load.outcomes.length > backAt + 300, 20_000, 'answers after the canary ended');
    await load.stop();
    expect(load.outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
    expect(load.answered(2)).toBeGreaterThan(200);
    // Once the route back returned, the candidate has drained and stopped: only the primary answers.
    expect(load.outcomes.slice(-100).every((outcome) => outcome.version === 1)).toBe(true);
    expect(revisionProcesses().map((child) => child.env.MLOPS_SERVE_VERSION)).toEqual(['1']);
  }, 120_000);

  it('starts a shadow with its role and tells the primary where it listens, clients seeing only the primary', async () => {
    const local = deployer();
    const traffic: Traffic = { ...alone(1), shadow: { version: 2, percent: 25 } };
    const deployment = await local.route(MODEL, traffic);
    expect(deployment.traffic).toEqual(traffic);
    const children = revisionProcesses();
    const shadow = children.find((child) => child.env.MLOPS_SERVE_VERSION === '2');
    const primary = children.find((child) => child.env.MLOPS_SERVE_VERSION === '1');
    expect(children).toHaveLength(2);
    expect(shadow?.env).toMatchObject({ MLOPS_SERVE_ROLE: 'shadow' });
    expect(shadow?.env.MLOPS_SHADOW_URL).toBeUndefined();
    expect(primary?.env).toMatchObject({ MLOPS_SHADOW_URL: `http://127.0.0.1:${shadow?.env.PORT}`, MLOPS_SHADOW_PERCENT: '25' });
    expect(primary?.env.MLOPS_SERVE_ROLE).toBeUndefined();
    const outcomes = await predictions(deployment.url, 300);
    expect(outcomes.map((outcome) => `${outcome.status} v${outcome.version}`)).toEqual(outcomes.map(() => '200 v1'));
  }, 90_000);

  it('gives a sticky split to the primary, which is told the candidate, its share and the key', async () => {
    const local = deployer();
    const traffic: Traffic = { ...canary(30), stickyKey: 'header:x-user-id' };
    const deployment = await local.route(MODEL, traffic);
    const children = revisionProcesses();
    const candidate = children.find((child) => child.env.MLOPS_SERVE_VERSION === '2');
    const primary = children.find((child) => child.env.MLOPS_SERVE_VERSION === '1');
    expect(primary?.env).toMatchObject({
      MLOPS_SPLIT_URL: `http://127.0.0.1:${candidate?.env.PORT}`,
      MLOPS_SPLIT_PERCENT: '30',
      MLOPS_STICKY_KEY: 'header:x-user-id',
    });
    expect(candidate?.env.MLOPS_SPLIT_URL).toBeUndefined();
    expect(deployment.traffic).toEqual(traffic);
  }, 90_000);

  it('routing the same traffic twice starts no new revision', async () => {
    const local = deployer();
    const first = await local.route(MODEL, canary(20));
    const pids = revisionProcesses().map((child) => child.pid);
    const again = await local.route(MODEL, canary(20));
    expect(again).toEqual(first);
    expect(revisionProcesses().map((child) => child.pid)).toEqual(pids);
    expect(pids).toHaveLength(2);
  }, 90_000);

  it('refuses traffic that cannot be split, saying what is wrong', async () => {
    const local = deployer();
    await expect(
      local.route(MODEL, {
        ...alone(1),
        routes: [
          { version: 2, percent: 60 },
          { version: 3, percent: 50 },
        ],
      }),
    ).rejects.toThrow(/routes take 110% of the requests; at most 100% can be routed/);
    await expect(local.route(MODEL, { ...alone(1), shadow: { version: 1, percent: 10 } })).rejects.toThrow(/each version may take one part/);
    expect(revisionProcesses()).toEqual([]);
  });

  it("follows the registry's active rollout, and production alone once it is aborted, recording the primary's revision", async () => {
    const deps = { registry, deployer: deployer(), servedAlias: 'production' };
    await registry.promote(
      { model: MODEL, version: 1, alias: 'production', actor: 'test', reason: 'first', requestId: 'traffic-first' },
      { requireStaging: false },
    );
    const request = { model: MODEL, candidate: 2, mode: 'canary' as const, steps: [10, 50], intervalMs: 60_000, durationMs: null, stickyKey: null };
    const planned = planRollout(
      { ...request, criteria: DEFAULT_CRITERIA, actor: 'test', reason: 'try version 2', requestId: 'traffic-canary' },
      1,
      await registry.getVersion(MODEL, 2),
      { id: 'traffic-canary', now: new Date().toISOString() },
    );
    const { rollout } = await registry.startRollout(planned);
    const changed = (of: Rollout): RolloutChanged => ({
      schemaVersion: 1,
      model: MODEL,
      rolloutId: of.id,
      state: of.state,
      stepIndex: of.stepIndex,
      changedAt: of.updatedAt,
    });
    const started = await routeRollout(changed(rollout), deps);
    expect(started?.traffic).toEqual(canary(10));
    // Delivered again: the same deployment, no new revision.
    const pids = revisionProcesses().map((child) => child.pid);
    expect(await routeRollout(changed(rollout), deps)).toEqual(started);
    expect(revisionProcesses().map((child) => child.pid)).toEqual(pids);
    const aborted = abortRollout(rollout, { actor: 'test', reason: 'enough', now: new Date().toISOString() });
    expect((await registry.updateRollout(aborted, rollout.updatedAt)).applied).toBe(true);
    const back = await routeRollout(changed(aborted), deps);
    expect(back).toMatchObject({ version: 1 });
    expect(back?.traffic).toBeUndefined();
    expect((await registry.getModel(MODEL))?.serving).toEqual({ url: back?.url, version: 1, revision: back?.revision, deployedAt: back?.deployedAt });
    expect(revisionProcesses().map((child) => child.env.MLOPS_SERVE_VERSION)).toEqual(['1']);
  }, 90_000);
});
