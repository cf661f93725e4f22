import { registrationRequest } from '../support/registered-model.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { type ServerType, serve } from '@hono/node-server';
import { type Message, PubSub, type Subscription } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryApi } from '../../functions/registry-api/app.js';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import { applyDecision } from '../../shared/domain/rollout.js';
import { TOPICS } from '../../shared/domain/topics.js';
import type { ModelRegistry } from '../../shared/ports/model-registry.port.js';
import { pauseRollout, startRollout } from '../../shared/services/rollouts.js';
import { hashApiKey } from '../../shared/http/auth.js';
import { mlops } from '../support/cli.js';
import { eventually, useEmulators } from '../support/environment.js';

const { projectId } = useEmulators();
const client = new Firestore({ projectId, ignoreUndefinedProperties: true });
const registry = new FirestoreModelRegistry({ projectId, client });
const pubsub = new PubSub({ projectId });
const bus = new PubSubEventBus({ projectId, client: pubsub, maxBatchDelayMs: 0 });
const options = { registry: async () => registry, bus: () => bus, apiKeyHashes: [hashApiKey('k3y')] };
const app = createRegistryApi({ ...options, policy: { requireStaging: false } });
const strict = createRegistryApi({ ...options, policy: { requireStaging: true } });
const headers = { authorization: 'Bearer k3y', 'content-type': 'application/json', 'x-mlops-actor': 'alice' };

const changes: { model: string; rolloutId: string; state: string }[] = [];
let subscription: Subscription;
let server: ServerType;
const saved = { ...process.env };

beforeAll(async () => {
  const [topic] = await pubsub.createTopic(TOPICS.rolloutChanged);
  [subscription] = await topic.createSubscription(`${TOPICS.rolloutChanged}-test`);
  subscription.on('message', (message: Message) => {
    changes.push(JSON.parse(message.data.toString()));
    message.ack();
  });
  server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  Object.assign(process.env, {
    MLOPS_REGISTRY_API_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    MLOPS_API_KEY: 'k3y',
    MLOPS_ACTOR: 'bob@cli',
    MLOPS_DATA_DIR: mkdtempSync(join(tmpdir(), 'rollout-api-')),
  });
});

afterAll(async () => {
  process.env = saved;
  await new Promise((resolve) => server.close(resolve));
  await subscription.close();
  await bus.close();
  await client.terminate();
});

/** A model whose version 1 holds production and version 2 is ready. */
async function modelWithCandidate(): Promise<string> {
  const model = `m-${randomUUID().slice(0, 8)}`;
  for (const key of ['a', 'b']) {
    await registry.registerVersion(
      registrationRequest(
        model,
        { inputs: [{ name: 'features', type: 'float32', shape: [null, 4] }], outputs: [{ name: 'probability', type: 'float32', shape: [null, 1] }] },
        key,
      ),
    );
  }
  await registry.promote({ model, version: 1, alias: 'production', actor: 'tester', reason: '', requestId: randomUUID() }, { requireStaging: false });
  return model;
}

const post = (target: typeof app, path: string, body: unknown, extra: Record<string, string> = {}) =>
  target.request(path, { method: 'POST', headers: { ...headers, ...extra }, body: JSON.stringify(body) });

describe('registry API: rollouts, against the Firestore and Pub/Sub emulators', () => {
  it('starts a canary with the defaults, once per idempotency key, and refuses a second while it runs', async () => {
    const model = await modelWithCandidate();
    const first = await post(app, `/models/${model}/rollouts`, { candidate: '2', reason: 'try v2' }, { 'idempotency-key': 'start-1' });
    expect(first.status).toBe(201);
    const { rollout } = (await first.json()) as { rollout: { id: string } };
    expect(rollout).toMatchObject({
      model,
      mode: 'canary',
      baseline: 1,
      candidate: 2,
      steps: [10, 50, 100],
      intervalMs: 600_000,
      state: 'running',
      actor: 'alice',
    });
    const again = await post(app, `/models/${model}/rollouts`, { candidate: 2 }, { 'idempotency-key': 'start-1' });
    expect([again.status, await again.json()]).toEqual([200, { rollout, created: false }]);
    const second = await post(app, `/models/${model}/rollouts`, { candidate: 2, mode: 'split', steps: [50], stickyKey: 'header:x-user-id' });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({
      code: 'ROLLOUT.ALREADY_RUNNING',
      error: expect.stringContaining(rollout.id),
      details: { rolloutId: rollout.id },
    });
    await eventually(async () => (changes.filter((change) => change.rolloutId === rollout.id).length >= 2 ? true : undefined), {
      what: 'two rollout-changed events',
    });
    expect(changes.find((change) => change.rolloutId === rollout.id)).toMatchObject({ model, state: 'running', stepIndex: 0 });
  });

  it('pauses, resumes and aborts the current rollout, and says so when there is none', async () => {
    const model = await modelWithCandidate();
    const none = await post(app, `/models/${model}/rollouts/current/pause`, {});
    expect([none.status, await none.json()]).toEqual([404, { code: 'ROLLOUT.NOT_FOUND', error: expect.stringContaining(`mlops rollout start ${model}`) }]);
    await post(app, `/models/${model}/rollouts`, { candidate: 2, mode: 'shadow', steps: [30], duration: '30m' });
    const states = [];
    for (const [verb, body] of [
      ['pause', {}],
      ['resume', {}],
      ['abort', { reason: 'pager' }],
    ] as const) {
      // Someone other than the starter pauses and resumes: the audit trail names them.
      const response = await post(app, `/models/${model}/rollouts/current/${verb}`, body, verb === 'abort' ? {} : { 'x-mlops-actor': 'carol' });
      states.push([response.status, ((await response.json()) as { rollout: { state: string } }).rollout.state]);
    }
    expect(states).toEqual([
      [200, 'paused'],
      [200, 'running'],
      [200, 'aborted'],
    ]);
    const listed = (await (await app.request(`/models/${model}/rollouts`, { headers })).json()) as {
      current: { state: string; reason: string; durationMs: number };
      rollouts: unknown[];
    };
    expect(listed.current).toMatchObject({ state: 'aborted', reason: 'aborted by alice: pager', durationMs: 1_800_000 });
    expect(listed.rollouts).toHaveLength(1);
    const trail = (await registry.history(model)).filter((entry) => entry.action.startsWith('rollout'));
    expect(trail.map((entry) => [entry.action, entry.actor])).toEqual([
      ['rollout_started', 'alice'],
      ['rollout_paused', 'carol'],
      ['rollout_resumed', 'carol'],
      ['rollout_ended', 'alice'],
    ]);
  });

  it('applies MLOPS_REQUIRE_STAGING to a canary, not to a shadow, and names bad input', async () => {
    const model = await modelWithCandidate();
    const refused = await post(strict, `/models/${model}/rollouts`, { candidate: 2 });
    expect(await refused.json()).toEqual({ code: 'REGISTRY.PROMOTION_REFUSED', error: expect.stringContaining(`mlops promote ${model} 2 --to staging`) });
    expect((await post(strict, `/models/${model}/rollouts`, { candidate: 2, mode: 'shadow' })).status).toBe(201);
    const cases: [unknown, number, string, RegExp][] = [
      [{ candidate: 2, interval: 'soon' }, 400, 'REQUEST.INVALID', /interval "soon" is not a duration/],
      [{ candidate: 2, interval: -5 }, 400, 'REQUEST.INVALID', /interval -5 is not a duration/],
      [{ candidate: 2, maxErrorrate: 0.5 }, 400, 'REQUEST.INVALID', /maxErrorrate/],
      [{ candidate: 2, mode: 'bandit' }, 400, 'REQUEST.INVALID', /mode/],
      [{ candidate: 0 }, 400, 'NAME.INVALID', /Version 0 is invalid/],
      [{ candidate: 9 }, 404, 'REGISTRY.VERSION_NOT_FOUND', /no version 9/],
    ];
    const other = await modelWithCandidate();
    for (const [body, status, code, message] of cases) {
      const response = await post(app, `/models/${other}/rollouts`, body);
      expect({ body, status: response.status, answer: await response.json() }).toMatchObject({
        body,
        status,
        answer: { code, error: expect.stringMatching(message) },
      });
    }
    const unknown = await post(app, '/models/no-such-model/rollouts', { candidate: 2 });
    expect([unknown.status, ((await unknown.json()) as { code: string }).code]).toEqual([404, 'REGISTRY.MODEL_NOT_FOUND']);
  });
});

describe('rollouts service: racing the analyser', () => {
  it('re-reads and pauses the newer state when the analyser changed the rollout in between', async () => {
    const model = await modelWithCandidate();
    const request = { model, candidate: 2, mode: 'canary' as const, steps: [10, 100], intervalMs: 60_000, durationMs: null, stickyKey: null };
    const criteria = { maxErrorRate: 0.01, maxP99Ms: null, maxOutputDrift: null, minRequests: 10 };
    const { rollout } = await startRollout(
      { ...request, criteria, actor: 'alice', reason: '', requestId: randomUUID() },
      { registry, bus, policy: { requireStaging: false } },
    );
    // The analyser records a wait between the service's read and its write: the first write is stale.
    let raced = 0;
    const racing: ModelRegistry = Object.assign(Object.create(registry) as ModelRegistry, {
      updateRollout: async (next: typeof rollout, expected: string) => {
        if (raced++ === 0) {
          const figures = {
            from: rollout.createdAt,
            to: rollout.createdAt,
            candidate: { version: 2, requests: 3, errors: 0, p99Ms: null },
            baseline: { version: 1, requests: 30, errors: 0, p99Ms: null },
            outputDrift: null,
          };
          const waited = applyDecision(
            rollout,
            { kind: 'wait', why: 'few requests' },
            figures,
            new Date(Date.parse(rollout.updatedAt) + 1).toISOString(),
          ).rollout;
          expect(await registry.updateRollout(waited, rollout.updatedAt)).toMatchObject({ applied: true });
        }
        return registry.updateRollout(next, expected);
      },
    });
    const paused = await pauseRollout(model, { actor: 'alice', reason: '' }, { registry: racing, bus });
    expect(raced).toBe(2);
    expect(paused).toMatchObject({ state: 'paused' });
    expect(paused.history[0]!.figures).toMatchObject({ candidate: { requests: 3 } });
    expect(await registry.getRollout(model)).toEqual(paused);
  });
});

describe('mlops rollout, through the registry API', () => {
  it('starts a canary, shows its status, refuses a second, pauses, resumes and aborts it', async () => {
    const model = await modelWithCandidate();
    const started = await mlops('rollout', 'start', model, '2', '--canary', '20', '--interval', '30s', '--max-error-rate', '0.02', '--reason', 'faster');
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(
      new RegExp(`${model}: rollout \\S+ started\\n  canary 1 → 2 at 20% \\(step 1 of 2\\), running \\(steps of 30 s, 500 requests each\\)`),
    );
    const status = await mlops('rollout', 'status', model, '--json');
    const { current } = JSON.parse(status.stdout) as {
      current: { id: string; steps: number[]; intervalMs: number; criteria: { maxErrorRate: number }; actor: string };
    };
    expect(current).toMatchObject({ steps: [20, 100], intervalMs: 30_000, criteria: { maxErrorRate: 0.02 }, actor: 'bob@cli' });
    const again = await mlops('rollout', 'start', model, '2', '--split', '50', '--sticky-key', 'header:x-user-id');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`rollout ${current.id}`);
    expect(again.stderr).toContain(`mlops rollout abort ${model}`);
    expect(again.stderr).toContain('[ROLLOUT.ALREADY_RUNNING]');
    const shown = await mlops('rollout', 'status', model);
    expect(shown.stdout).toContain(`${model}: rollout ${current.id}`);
    expect(shown.stdout).toMatch(/STEP\s+SHARE\s+STARTED\s+ENDED\s+REQUESTS\s+ERRORS\s+P99\s+DRIFT\s+VERDICT\n1\/2\s+20%\s+\S+\s+under way/);
    for (const verb of ['pause', 'resume'])
      expect(await mlops('rollout', verb, model)).toMatchObject({ code: 0, stdout: expect.stringContaining(`rollout ${current.id} ${verb}d`) });
    const aborted = await mlops('rollout', 'abort', model, '--reason', 'enough');
    expect(aborted.stdout).toMatch(/aborted\n[\s\S]*1\/2\s+20%.*failed: aborted by bob@cli: enough/);
    const history = await mlops('models', 'history', model);
    expect(history.stdout).toMatch(/rollout_started[\s\S]*rollout_paused[\s\S]*rollout_resumed[\s\S]*rollout_ended.*aborted by bob@cli: enough/);
    expect((await mlops('rollout', 'resume', model)).stderr).toContain('[ROLLOUT.NOT_FOUND]');
  });

  it('starts a shadow with its percent and duration', async () => {
    const model = await modelWithCandidate();
    const started = await mlops('rollout', 'shadow', model, '2', '--percent', '40', '--duration', '2h', '--json');
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ created: true, rollout: { mode: 'shadow', steps: [40], durationMs: 7_200_000 } });
  });
});
