import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import type { ModelRegistry, RegistrationRequest } from '../../shared/ports/model-registry.port.js';
import { useEmulators } from '../support/environment.js';

const { projectId } = useEmulators();
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
