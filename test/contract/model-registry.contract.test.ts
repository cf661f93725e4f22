import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { FirestoreRestModelRegistry } from '../../shared/adapters/firestore-rest/firestore-rest-model-registry.js';
import { DEFAULT_CRITERIA, type Rollout, abortRollout, applyDecision, pauseRollout, planRollout, resumeRollout } from '../../shared/domain/rollout.js';
import type { ModelRegistry, RegistrationRequest } from '../../shared/ports/model-registry.port.js';
import { useEmulators } from '../support/environment.js';

const { projectId, firestoreHost } = useEmulators();
const clients: Firestore[] = [];

/** Every ModelRegistry backend that runs here: Firestore, against Google's emulator. */
const registries: [string, () => ModelRegistry][] = [
  [
    'firestore',
    () => {
      const client = new Firestore({ projectId, ignoreUndefinedProperties: true });
      clients.push(client);
      return new FirestoreModelRegistry({ projectId, client });
    },
  ],
  [
    // Reads a model or version over REST; everything else (rollouts included) goes to the SDK adapter.
    'firestore-rest',
    () => {
      const client = new Firestore({ projectId, ignoreUndefinedProperties: true });
      clients.push(client);
      const sdk = new FirestoreModelRegistry({ projectId, client });
      return new FirestoreRestModelRegistry({ projectId, emulatorHost: firestoreHost, fallback: async () => sdk });
    },
  ],
];

afterAll(async () => {
  await Promise.all(clients.map((client) => client.terminate()));
});

const signature = {
  inputs: [{ name: 'features', type: 'float32' as const, shape: [null, 4] }],
  outputs: [{ name: 'probability', type: 'float32' as const, shape: [null, 1] }],
};

function registration(model: string, key = randomUUID()): RegistrationRequest {
  return {
    model,
    registrationKey: `bucket/models/${model}/${key}/model.onnx#1`,
    actor: 'tester',
    artifactUri: `gs://bucket/models/${model}/${key}/model.onnx`,
    generation: '1',
    sha256: 'ab'.repeat(32),
    sizeBytes: 100,
    signature,
    metrics: { auc: 0.9 },
    params: { lr: '0.1' },
    tags: { team: 'risk' },
    description: 'test model',
    lineage: { sourceUri: `gs://bucket/models/${model}/${key}/model.onnx`, runId: 'run-1' },
  };
}

const uniqueModel = () => `m-${randomUUID().slice(0, 8)}`;
const promotion = (model: string, version: number, alias: string, requestId = randomUUID()) => ({
  model,
  version,
  alias,
  actor: 'tester',
  reason: 'test',
  requestId,
});
const noPolicy = { requireStaging: false };

describe.each(registries)('ModelRegistry contract: %s', (_name, create) => {
  const registry = create();

  it('registers a ready version 1 with its metadata and an audit entry', async () => {
    const model = uniqueModel();
    const { version, created } = await registry.registerVersion(registration(model));
    expect(created).toBe(true);
    expect(version).toMatchObject({ model, version: 1, status: 'ready', metrics: { auc: 0.9 }, params: { lr: '0.1' }, lineage: { runId: 'run-1' }, signature });
    expect(await registry.getVersion(model, 1)).toEqual(version);
    expect((await registry.getModel(model))?.latestVersion).toBe(1);
    expect((await registry.history(model)).map((entry) => [entry.action, entry.toVersion, entry.actor])).toEqual([['registered', 1, 'tester']]);
  });

  it('returns the same version when the same registration key arrives again', async () => {
    const model = uniqueModel();
    const request = registration(model);
    const first = await registry.registerVersion(request);
    const again = await registry.registerVersion(request);
    expect(again).toEqual({ version: first.version, created: false });
    expect(await registry.listVersions(model)).toHaveLength(1);
  });

  it('numbers 20 concurrent registrations 1 to 20 with no gap and no duplicate', async () => {
    const model = uniqueModel();
    const results = await Promise.all(Array.from({ length: 20 }, () => registry.registerVersion(registration(model))));
    expect(results.map((result) => result.version.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect((await registry.listVersions(model)).map((version) => version.version)).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect((await registry.getModel(model))?.latestVersion).toBe(20);
  });

  it('keeps numbering consistent when separate instances (separate clients) race', async () => {
    const model = uniqueModel();
    const other = create();
    const results = await Promise.all(Array.from({ length: 6 }, (_, index) => (index % 2 === 0 ? registry : other).registerVersion(registration(model))));
    expect(results.map((result) => result.version.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await registry.getModel(model))?.latestVersion).toBe(6);
  });

  it('records a rejection once, without using a version number', async () => {
    const model = uniqueModel();
    const record = {
      model,
      registrationKey: `bucket/models/${model}/bad.onnx#5`,
      artifactUri: `gs://bucket/models/${model}/bad.onnx`,
      reason: 'not a valid ONNX model',
      actor: 'tester',
    };
    expect(await registry.recordRejection(record)).toEqual({ created: true });
    expect(await registry.recordRejection(record)).toEqual({ created: false });
    const { version } = await registry.registerVersion(registration(model));
    expect(version.version).toBe(1);
    const history = await registry.history(model);
    expect(history.filter((entry) => entry.action === 'rejected')).toHaveLength(1);
    expect(history[0]!.reason).toContain('not a valid ONNX model');
  });

  it('promotes, remembers the previous holder, and rolls back to it', async () => {
    const model = uniqueModel();
    await registry.registerVersion(registration(model));
    await registry.registerVersion(registration(model));
    await registry.promote(promotion(model, 1, 'production'), noPolicy);
    const move = await registry.promote(promotion(model, 2, 'production'), noPolicy);
    expect(move).toMatchObject({ alias: 'production', version: 2, previousVersion: 1, applied: true });
    const back = await registry.rollback({ model, alias: 'production', actor: 'tester', reason: 'bad metrics', requestId: randomUUID() });
    expect(back).toMatchObject({ version: 1, previousVersion: 2 });
    expect((await registry.getModel(model))?.aliases).toEqual({ production: 1 });
    await expect(registry.rollback({ model, alias: 'production', actor: 't', reason: '', requestId: randomUUID() })).rejects.toMatchObject({
      code: 'REGISTRY.NOTHING_TO_ROLL_BACK',
    });
  });

  it('applies a redelivered promotion request once', async () => {
    const model = uniqueModel();
    await registry.registerVersion(registration(model));
    await registry.registerVersion(registration(model));
    await registry.promote(promotion(model, 1, 'production'), noPolicy);
    const request = promotion(model, 2, 'production');
    const first = await registry.promote(request, noPolicy);
    const second = await registry.promote(request, noPolicy);
    expect(second).toMatchObject({ applied: false, version: 2, previousVersion: 1 });
    expect(second.audit).toEqual(first.audit);
    expect((await registry.history(model)).filter((entry) => entry.action === 'promoted')).toHaveLength(2);
    expect((await registry.getModel(model))?.aliasHistory.production).toEqual([1]);
  });

  it('leaves one holder and two audit entries when two promotions race', async () => {
    const model = uniqueModel();
    await registry.registerVersion(registration(model));
    await registry.registerVersion(registration(model));
    const moves = await Promise.all([
      registry.promote(promotion(model, 1, 'production'), noPolicy),
      registry.promote(promotion(model, 2, 'production'), noPolicy),
    ]);
    const holder = (await registry.getModel(model))!.aliases.production;
    const promoted = (await registry.history(model)).filter((entry) => entry.action === 'promoted');
    expect(promoted).toHaveLength(2);
    expect(promoted.at(-1)!.toVersion).toBe(holder);
    const firstApplied = moves.find((move) => move.previousVersion === null)!;
    const secondApplied = moves.find((move) => move.previousVersion !== null)!;
    expect(secondApplied.previousVersion).toBe(firstApplied.version);
    expect(secondApplied.version).toBe(holder);
  });

  it('creates an empty model once, which registration then numbers from 1', async () => {
    const model = uniqueModel();
    const first = await registry.createModel(model, { description: 'churn scorer', tags: { team: 'risk' }, actor: 'tester' });
    expect(first).toMatchObject({ created: true, model: { name: model, latestVersion: 0, aliases: {}, description: 'churn scorer', tags: { team: 'risk' } } });
    expect(await registry.getModel(model)).toEqual(first.model);
    expect(await registry.listVersions(model)).toEqual([]);
    const again = await registry.createModel(model, { description: 'other', actor: 'someone-else' });
    expect(again).toEqual({ model: first.model, created: false });
    const { version } = await registry.registerVersion(registration(model));
    expect(version.version).toBe(1);
    expect(await registry.getModel(model)).toMatchObject({ latestVersion: 1, description: 'churn scorer', tags: { team: 'risk' } });
    expect((await registry.history(model)).map((entry) => [entry.action, entry.actor])).toEqual([
      ['created', 'tester'],
      ['registered', 'tester'],
    ]);
  });

  it('keeps the MLflow source and logged model of a version in its lineage', async () => {
    const model = uniqueModel();
    const request = registration(model);
    const lineage = { ...request.lineage, source: 'runs:/abc123/model', loggedModelId: `m-${'a'.repeat(32)}` };
    await registry.registerVersion({ ...request, lineage });
    expect((await registry.getVersion(model, 1))?.lineage).toEqual(lineage);
  });

  it('removes an alias once per request, with an audit entry, and remembers its holder', async () => {
    const model = uniqueModel();
    await registry.registerVersion(registration(model));
    await registry.promote(promotion(model, 1, 'staging'), noPolicy);
    const request = { model, alias: 'staging', actor: 'tester', reason: 'retired', requestId: randomUUID() };
    const removal = await registry.removeAlias(request);
    expect(removal).toMatchObject({
      model,
      alias: 'staging',
      removedVersion: 1,
      applied: true,
      audit: { action: 'alias_removed', fromVersion: 1, toVersion: null },
    });
    expect(await registry.removeAlias(request)).toEqual({ ...removal, applied: false });
    const stored = await registry.getModel(model);
    expect(stored?.aliases).toEqual({});
    expect(stored?.aliasHistory.staging).toEqual([1]);
    const removals = (await registry.history(model)).filter((entry) => entry.action === 'alias_removed');
    expect(removals.map((entry) => [entry.alias, entry.fromVersion, entry.actor, entry.reason])).toEqual([['staging', 1, 'tester', 'retired']]);
  });

  it('changes nothing when the alias is not set, and refuses production and unknown models', async () => {
    const model = uniqueModel();
    await registry.registerVersion(registration(model));
    await registry.promote(promotion(model, 1, 'production'), noPolicy);
    const request = (alias: string, name = model) => ({ model: name, alias, actor: 'tester', reason: '', requestId: randomUUID() });
    expect(await registry.removeAlias(request('champion'))).toEqual({ model, alias: 'champion', removedVersion: null, applied: false });
    await expect(registry.removeAlias(request('production'))).rejects.toMatchObject({ code: 'REGISTRY.PROMOTION_REFUSED' });
    await expect(registry.removeAlias(request('production'))).rejects.toThrow(/serving follows.*mlops rollback/);
    await expect(registry.removeAlias(request('staging', 'no-such-model'))).rejects.toMatchObject({ code: 'REGISTRY.MODEL_NOT_FOUND' });
    expect((await registry.getModel(model))?.aliases).toEqual({ production: 1 });
    expect((await registry.history(model)).map((entry) => entry.action)).toEqual(['registered', 'promoted']);
  });

  it('records an audit entry once per id, after the registry changes before it, and refuses unknown models', async () => {
    const model = uniqueModel();
    await registry.registerVersion(registration(model));
    const entry = {
      id: `retrain-${randomUUID()}`,
      action: 'retrain_requested' as const,
      fromVersion: 1,
      toVersion: null,
      actor: 'drift',
      reason: 'accuracy 0.7 < 0.85',
      at: new Date().toISOString(),
    };
    expect(await registry.recordAudit(model, entry)).toEqual({ entry: { ...entry, model }, created: true });
    expect(await registry.recordAudit(model, { ...entry, reason: 'changed' })).toEqual({ entry: { ...entry, model }, created: false });
    const trail = await registry.history(model);
    expect(trail.map((found) => found.action)).toEqual(['registered', 'retrain_requested']);
    expect(trail[1]!.reason).toBe('accuracy 0.7 < 0.85');
    await expect(registry.recordAudit('no-such-model', entry)).rejects.toMatchObject({ code: 'REGISTRY.MODEL_NOT_FOUND' });
  });

  it('refuses unknown models and versions, and production before staging under the policy', async () => {
    const model = uniqueModel();
    await expect(registry.promote(promotion('no-such-model', 1, 'production'), noPolicy)).rejects.toMatchObject({ code: 'REGISTRY.MODEL_NOT_FOUND' });
    await registry.registerVersion(registration(model));
    await expect(registry.promote(promotion(model, 7, 'production'), noPolicy)).rejects.toMatchObject({ code: 'REGISTRY.VERSION_NOT_FOUND' });
    const policy = { requireStaging: true };
    await expect(registry.promote(promotion(model, 1, 'production'), policy)).rejects.toMatchObject({ code: 'REGISTRY.PROMOTION_REFUSED' });
    await registry.promote(promotion(model, 1, 'staging'), policy);
    await expect(registry.promote(promotion(model, 1, 'production'), policy)).resolves.toMatchObject({ version: 1 });
  });
});

/** A rollout of `candidate` from production 1, as the rollouts service would plan it. */
function plannedRollout(model: string, { candidate = 2, requestId = randomUUID() as string, at = new Date() } = {}): Rollout {
  const request = {
    model,
    candidate,
    mode: 'canary' as const,
    steps: [10, 50, 100],
    intervalMs: 60_000,
    durationMs: null,
    stickyKey: null,
    criteria: DEFAULT_CRITERIA,
    actor: 'tester',
    reason: 'try v2',
    requestId,
  };
  return planRollout(request, 1, { version: candidate, status: 'ready' }, { id: randomUUID(), now: at.toISOString() });
}

const passing = (rollout: Rollout) => ({
  from: rollout.createdAt,
  to: rollout.createdAt,
  candidate: { version: rollout.candidate, requests: 600, errors: 0, p99Ms: 5 },
  baseline: { version: rollout.baseline, requests: 5400, errors: 0, p99Ms: 5 },
  outputDrift: 0.01,
});
const later = (rollout: Rollout, ms: number) => new Date(Date.parse(rollout.updatedAt) + ms).toISOString();

describe.each(registries)('ModelRegistry contract, rollouts: %s', (_name, create) => {
  const registry = create();

  async function modelWithProduction(): Promise<string> {
    const model = uniqueModel();
    await registry.registerVersion(registration(model));
    await registry.registerVersion(registration(model));
    await registry.promote(promotion(model, 1, 'production'), noPolicy);
    return model;
  }

  it('starts a rollout, and refuses a second one while it is active, naming it', async () => {
    const model = await modelWithProduction();
    const first = plannedRollout(model);
    expect(await registry.startRollout(first)).toEqual({ rollout: first, created: true });
    const second = registry.startRollout(plannedRollout(model));
    await expect(second).rejects.toMatchObject({ code: 'ROLLOUT.ALREADY_RUNNING', details: { rolloutId: first.id } });
    await expect(second).rejects.toThrow(new RegExp(`${first.id}.*mlops rollout abort ${model}`));
    expect(await registry.listRollouts(model)).toEqual([first]);
  });

  it('returns the rollout a request id made when the same start arrives again', async () => {
    const model = await modelWithProduction();
    const first = plannedRollout(model);
    await registry.startRollout(first);
    const again = await registry.startRollout({ ...plannedRollout(model, { requestId: first.requestId }) });
    expect(again).toEqual({ rollout: first, created: false });
    expect(await registry.listRollouts(model)).toHaveLength(1);
    expect((await registry.history(model)).filter((entry) => entry.action === 'rollout_started')).toHaveLength(1);
  });

  it('reads the active rollout, else the latest, or one by id', async () => {
    const model = await modelWithProduction();
    expect(await registry.getRollout(model)).toBeUndefined();
    const first = plannedRollout(model, { at: new Date(Date.now() - 60_000) });
    await registry.startRollout(first);
    expect(await registry.getRollout(model)).toEqual(first);
    const ended = abortRollout(first, { actor: 'tester', reason: 'enough', now: later(first, 1) });
    await registry.updateRollout(ended, first.updatedAt);
    expect(await registry.getRollout(model)).toEqual(ended);
    const second = plannedRollout(model);
    await registry.startRollout(second);
    expect(await registry.getRollout(model)).toEqual(second);
    expect(await registry.getRollout(model, first.id)).toEqual(ended);
    expect(await registry.getRollout(model, 'no-such-id')).toBeUndefined();
    expect((await registry.listRollouts(model)).map((rollout) => rollout.id)).toEqual([second.id, first.id]);
  });

  it('lists the active rollouts of every model, and not the ended ones', async () => {
    const [one, two, three] = await Promise.all([modelWithProduction(), modelWithProduction(), modelWithProduction()]);
    const rollouts = [plannedRollout(one!), plannedRollout(two!), plannedRollout(three!)];
    for (const rollout of rollouts) await registry.startRollout(rollout);
    const paused = pauseRollout(rollouts[1]!, later(rollouts[1]!, 1));
    await registry.updateRollout(paused, rollouts[1]!.updatedAt);
    await registry.updateRollout(abortRollout(rollouts[2]!, { actor: 'tester', reason: '', now: later(rollouts[2]!, 1) }), rollouts[2]!.updatedAt);
    const mine = (await registry.listActiveRollouts()).filter((rollout) => [one, two, three].includes(rollout.model));
    expect(mine.map((rollout) => [rollout.model, rollout.state])).toEqual(
      [
        [one, 'running'],
        [two, 'paused'],
      ].sort(([a], [b]) => a!.localeCompare(b!)),
    );
  });

  it('replaces a rollout only from the state it was read in (compare and set on updatedAt)', async () => {
    const model = await modelWithProduction();
    const rollout = plannedRollout(model);
    await registry.startRollout(rollout);
    const advanced = applyDecision(rollout, { kind: 'pass', why: 'fine' }, passing(rollout), later(rollout, 61_000)).rollout;
    expect(await registry.updateRollout(advanced, rollout.updatedAt)).toEqual({ rollout: advanced, applied: true });
    const stale = pauseRollout(rollout, later(rollout, 62_000));
    expect(await registry.updateRollout(stale, rollout.updatedAt)).toEqual({ rollout: advanced, applied: false });
    expect(await registry.getRollout(model, rollout.id)).toEqual(advanced);
    expect((await registry.history(model)).filter((entry) => entry.action === 'rollout_paused')).toHaveLength(0);
  });

  it('writes every step, pause, resume and the end in the audit trail', async () => {
    const model = await modelWithProduction();
    const started = plannedRollout(model);
    await registry.startRollout(started);
    const stepped = applyDecision(started, { kind: 'pass', why: '600 requests within the criteria' }, passing(started), later(started, 61_000)).rollout;
    await registry.updateRollout(stepped, started.updatedAt);
    const paused = pauseRollout(stepped, later(stepped, 1));
    await registry.updateRollout(paused, stepped.updatedAt);
    const resumed = resumeRollout(paused, later(paused, 1));
    await registry.updateRollout(resumed, paused.updatedAt);
    const failed = applyDecision(resumed, { kind: 'fail', why: 'error rate 5.0%' }, passing(resumed), later(resumed, 1)).rollout;
    await registry.updateRollout(failed, resumed.updatedAt);
    const trail = (await registry.history(model)).filter((entry) => entry.action.startsWith('rollout_'));
    expect(trail.map((entry) => [entry.action, entry.fromVersion, entry.toVersion])).toEqual([
      ['rollout_started', 1, 2],
      ['rollout_step', 1, 2],
      ['rollout_paused', 1, 2],
      ['rollout_resumed', 1, 2],
      ['rollout_ended', 1, 2],
    ]);
    expect(trail[0]!.reason).toMatch(/canary steps 10% → 50% → 100%.*try v2/);
    expect(trail[1]!.reason).toContain('600 requests within the criteria');
    expect(trail[4]!.reason).toBe(failed.reason);
    expect(failed.reason).toMatch(/step 2 \(50%\) failed: error rate 5.0%/);
    await expect(registry.startRollout(plannedRollout(model))).resolves.toMatchObject({ created: true });
  });

  it('creates exactly one rollout when two starts for one model race', async () => {
    const model = await modelWithProduction();
    const other = create();
    const results = await Promise.allSettled([registry.startRollout(plannedRollout(model)), other.startRollout(plannedRollout(model))]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'ROLLOUT.ALREADY_RUNNING' });
    expect(await registry.listRollouts(model)).toHaveLength(1);
    expect(await registry.listActiveRollouts()).toEqual(expect.arrayContaining([expect.objectContaining({ model })]));
  });
});
