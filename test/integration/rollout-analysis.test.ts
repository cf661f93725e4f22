import { registrationRequest } from '../support/registered-model.js';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import { ModelPromoted, RolloutChanged } from '../../shared/domain/events.js';
import { DEFAULT_CRITERIA, planRollout } from '../../shared/domain/rollout.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { analyseRollouts, type RolloutAnalysis } from '../../shared/services/rollout-analysis.js';
import { CLASSIFIER_OUTPUTS, seeded } from '../support/drift-scenario.js';
import { eventually, useEmulators } from '../support/environment.js';
import { at, MINUTE, rows, temporaryWarehouse } from '../support/rollout-scenario.js';

const { projectId } = useEmulators();
const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
const registry = new FirestoreModelRegistry({ projectId, client: firestore });
const pubsub = new PubSub({ projectId });
const bus = new PubSubEventBus({ projectId, client: pubsub });
const policy = { requireStaging: false };
const random = seeded(5);
const received: { topic: string; data: Record<string, unknown> }[] = [];
let warehouse: DuckDbWarehouse;
let dispose: () => Promise<void>;

/** Registers `count` versions of a classifier and gives version 1 production. */
async function seedModel(model: string, count = 2): Promise<void> {
  for (let index = 0; index < count; index++) {
    await registry.registerVersion(registrationRequest(model, { inputs: [], outputs: CLASSIFIER_OUTPUTS }));
  }
  await registry.promote({ model, version: 1, alias: 'production', actor: 'test', reason: 'first', requestId: `${model}-first` }, policy);
  const request = {
    model,
    candidate: 2,
    mode: 'canary' as const,
    steps: [10, 100],
    intervalMs: 10 * MINUTE,
    durationMs: null,
    stickyKey: null,
    criteria: { ...DEFAULT_CRITERIA, minRequests: 200 },
    actor: 'test',
    reason: 'try version 2',
    requestId: `start-${model}`,
  };
  await registry.startRollout(planRollout(request, 1, { version: 2, status: 'ready' }, { id: `rollout-${model}`, now: at(0) }));
}

/** Logged answers of one version: labels 1 with probability `share`. */
async function answers(model: string, version: number, count: number, share: number, offsetMs: number, spanMs = 10 * MINUTE): Promise<void> {
  const outputs = Array.from({ length: count }, () => ({ label: random() < share ? 1 : 0, probability: random() }));
  const latency = Array.from({ length: count }, () => 1 + random() * 4);
  await warehouse.insert('predictions', rows(model, { version, outputs, latency, offsetMs, spanMs }));
}

const tick = (minutes: number) => analyseRollouts({ registry, warehouse, bus, policy, now: () => new Date(at(minutes * MINUTE)) });
const of = (summaries: RolloutAnalysis[], model: string) => summaries.filter((summary) => summary.model === model);
// Every stored tick is announced, a wait included (serving converges on it): the changes are the announcements
// that moved a rollout on from its first step, each once.
const changes = (model: string) =>
  received
    .filter((event) => event.topic === TOPICS.rolloutChanged && event.data.model === model)
    .map((event) => event.data)
    .filter((data) => !(data.state === 'running' && data.stepIndex === 0))
    .filter((data, index, all) => index === 0 || data.state !== all[index - 1]!.state || data.stepIndex !== all[index - 1]!.stepIndex);

beforeAll(async () => {
  ({ warehouse, dispose } = await temporaryWarehouse());
  for (const topic of [TOPICS.rolloutChanged, TOPICS.modelPromoted]) {
    const [created] = await pubsub.createTopic(topic);
    const [subscription] = await created.createSubscription(`${topic}-all`);
    subscription.on('message', (message) => {
      received.push({ topic, data: JSON.parse(message.data.toString()) });
      message.ack();
    });
  }
  await Promise.all(['steady', 'drifty', 'faulty', 'moved', 'crashed'].map((model) => seedModel(model, model === 'moved' ? 3 : 2)));
  // First step, [0, 10 min): the same label shares for steady; drifty's candidate says 1 where its baseline says 0.
  await answers('steady', 2, 300, 0.4, 0);
  await answers('steady', 1, 1200, 0.4, 0);
  await answers('drifty', 2, 300, 0.9, 0);
  await answers('drifty', 1, 1200, 0.1, 0);
  // faulty's candidate answers 120 requests in its first two minutes and fails 30 more.
  await answers('faulty', 2, 120, 0.4, 0, 2 * MINUTE);
  await warehouse.insert('request_outcomes', [
    { model: 'faulty', version: 2, minute: at(MINUTE), status: 500, code: 'MODEL.RUN_FAILED', instance: 'i1', count: 30 },
  ]);
}, 60_000);

afterAll(async () => {
  await bus.close();
  await firestore.terminate();
  await dispose?.();
});

describe('analyseRollouts on the Firestore registry and DuckDB', () => {
  it('rolls back a candidate that errors before its step is over, and ends a rollout whose production moved by hand', async () => {
    await registry.promote({ model: 'moved', version: 3, alias: 'production', actor: 'someone', reason: 'hotfix', requestId: 'moved-hotfix' }, policy);
    const summaries = await tick(3);
    expect(of(summaries, 'faulty')).toEqual([expect.objectContaining({ decision: 'fail', effect: 'rollback', applied: true, state: 'rolled_back' })]);
    const faulty = await registry.getRollout('faulty', 'rollout-faulty');
    expect(faulty?.reason).toMatch(/step 1 \(10%\) failed: error rate 20\.0% \(30 of 150 requests\)/);
    expect(of(summaries, 'steady')).toEqual([expect.objectContaining({ decision: 'wait', effect: 'none', state: 'running' })]);
    const moved = await registry.getRollout('moved', 'rollout-moved');
    expect(moved).toMatchObject({ state: 'aborted', reason: 'aborted by analyser: production moved to version 3 outside the rollout' });
    expect((await registry.getModel('moved'))?.aliases.production).toBe(3);
    expect((await registry.getModel('faulty'))?.aliases.production).toBe(1);
    await eventually(async () => (changes('faulty').length === 1 && changes('moved').length === 1 ? true : undefined), { what: 'rollout-changed events' });
    expect(changes('faulty')[0]).toMatchObject({ state: 'rolled_back', rolloutId: 'rollout-faulty' });
    expect(() => RolloutChanged.parse(changes('moved')[0])).not.toThrow();
    // A waiting step is announced too, so serving converges even after an announcement was lost.
    await eventually(
      async () =>
        received.some((event) => event.topic === TOPICS.rolloutChanged && event.data.model === 'steady' && event.data.state === 'running') ? true : undefined,
      { what: 'the waiting step announced' },
    );
  });

  it('passes an equivalent candidate’s step once, even with two analysers at once, and rolls back sharply different outputs', async () => {
    const [first, second] = await Promise.all([tick(11), tick(11)]);
    const steady = [...of(first!, 'steady'), ...of(second!, 'steady')];
    expect(steady.filter((summary) => summary.applied && summary.effect === 'traffic')).toHaveLength(1);
    const rollout = await registry.getRollout('steady', 'rollout-steady');
    expect(rollout).toMatchObject({ state: 'running', stepIndex: 1 });
    expect(rollout?.history[0]).toMatchObject({ verdict: 'passed', endedAt: at(11 * MINUTE) });
    expect(rollout?.history[0]?.figures?.candidate.requests).toBe(300);
    expect(rollout?.history[1]).toMatchObject({ percent: 100, startedAt: at(11 * MINUTE), verdict: null });
    const drifty = await registry.getRollout('drifty', 'rollout-drifty');
    expect(drifty?.state).toBe('rolled_back');
    expect(drifty?.reason).toMatch(/outputs drifted 0\.\d{3} from the baseline's \(Jensen-Shannon\), over the limit of 0\.1/);
    expect((await registry.getModel('drifty'))?.aliases.production).toBe(1);
    await eventually(async () => (changes('steady').length === 1 && changes('drifty').length === 1 ? true : undefined), { what: 'step events' });
    expect(changes('steady')[0]).toMatchObject({ state: 'running', stepIndex: 1 });
  });

  it('promotes the candidate after its last step, with the audit trail saying so', async () => {
    await answers('steady', 2, 800, 0.4, 11 * MINUTE);
    await answers('steady', 1, 100, 0.4, 11 * MINUTE);
    const summaries = await tick(22);
    expect(of(summaries, 'steady')).toEqual([expect.objectContaining({ decision: 'pass', effect: 'promote', applied: true, state: 'promoted' })]);
    expect((await registry.getModel('steady'))?.aliases.production).toBe(2);
    const audit = await registry.history('steady');
    expect(audit).toContainEqual(expect.objectContaining({ action: 'promoted', toVersion: 2, fromVersion: 1, actor: 'rollout:rollout-steady' }));
    expect(audit.map((entry) => entry.action)).toEqual(expect.arrayContaining(['rollout_started', 'rollout_step', 'rollout_ended']));
    await eventually(
      async () =>
        received.some((event) => event.topic === TOPICS.modelPromoted && event.data.model === 'steady') && changes('steady').length === 2 ? true : undefined,
      { what: 'the promotion events' },
    );
    expect(ModelPromoted.parse(received.find((event) => event.topic === TOPICS.modelPromoted && event.data.model === 'steady')?.data)).toMatchObject({
      version: 2,
    });
    expect(changes('steady')[1]).toMatchObject({ state: 'promoted' });
  });

  it('finishes on the next tick a promotion an analyser stopped short of (stored as promoted, alias not moved)', async () => {
    const current = (await registry.getRollout('crashed', 'rollout-crashed'))!;
    const ended = { ...current, state: 'promoted' as const, reason: 'every step passed', updatedAt: at(22.5 * MINUTE), endedAt: at(22.5 * MINUTE) };
    expect((await registry.updateRollout(ended, current.updatedAt)).applied).toBe(true);
    expect((await registry.getModel('crashed'))?.aliases.production).toBe(1);
    expect(of(await tick(23), 'crashed')).toEqual([expect.objectContaining({ decision: 'resumed', effect: 'promote', applied: true })]);
    expect((await registry.getModel('crashed'))?.aliases.production).toBe(2);
    expect(await registry.history('crashed')).toContainEqual(expect.objectContaining({ action: 'promoted', toVersion: 2, actor: 'rollout:rollout-crashed' }));
  });

  it('changes nothing on a repeated tick once every rollout ended', async () => {
    await eventually(async () => (changes('crashed').length === 1 ? true : undefined), { what: 'the resumed promotion event' });
    const audit = await registry.history('steady');
    const events = received.length;
    expect(await tick(23)).toEqual([]);
    expect(await tick(30)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(received.length).toBe(events);
    expect(await registry.history('steady')).toEqual(audit);
    expect((await registry.getModel('steady'))?.aliases.production).toBe(2);
  });
});
