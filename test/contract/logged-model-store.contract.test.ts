import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { FirestoreLoggedModelStore } from '../../shared/adapters/firestore/firestore-logged-model-store.js';
import type { LoggedModelStore } from '../../shared/ports/logged-model-store.port.js';
import { useEmulators } from '../support/environment.js';

const { projectId } = useEmulators();
const clients: Firestore[] = [];
const client = () => {
  const made = new Firestore({ projectId, ignoreUndefinedProperties: true });
  clients.push(made);
  return made;
};

/** Every LoggedModelStore backend that runs here: Firestore, against Google's emulator. */
const stores: [string, () => LoggedModelStore][] = [['firestore', () => new FirestoreLoggedModelStore({ projectId, client: client() })]];

afterAll(async () => {
  await Promise.all(clients.map((made) => made.terminate()));
});

const experiment = () => `exp${randomUUID().slice(0, 8)}`;
const runId = () => randomUUID().replaceAll('-', '');

describe.each(stores)('LoggedModelStore contract: %s', (_name, create) => {
  const store = create();
  const newModel = (experimentId = experiment(), name = 'model') =>
    store.create({ experimentId, name, sourceRunId: runId(), params: { lr: '0.1' }, tags: { 'mlflow.user': 'ana' } });

  it('creates a PENDING model with an MLflow-style id and its artifact location, and reads it back', async () => {
    const experimentId = experiment();
    const before = Date.now();
    const model = await newModel(experimentId);
    expect(model.id).toMatch(/^m-[0-9a-f]{32}$/);
    expect(model).toMatchObject({
      experimentId,
      name: 'model',
      status: 'LOGGED_MODEL_PENDING',
      params: { lr: '0.1' },
      tags: { 'mlflow.user': 'ana' },
      artifactLocation: `mlflow-artifacts:/${experimentId}/models/${model.id}/artifacts`,
    });
    expect(model.createdAt).toBeGreaterThanOrEqual(before);
    expect(model.updatedAt).toBe(model.createdAt);
    expect(await store.get(model.id)).toEqual(model);
    expect(await store.get(`m-${'0'.repeat(32)}`)).toBeUndefined();
  });

  it('finalizes a model, keeping the message only while one is given', async () => {
    const model = await newModel();
    const failed = await store.finalize(model.id, 'LOGGED_MODEL_UPLOAD_FAILED', 'disk full');
    expect(failed).toMatchObject({ status: 'LOGGED_MODEL_UPLOAD_FAILED', statusMessage: 'disk full' });
    expect(failed!.updatedAt).toBeGreaterThanOrEqual(model.updatedAt);
    const ready = await store.finalize(model.id, 'LOGGED_MODEL_READY');
    expect(ready?.status).toBe('LOGGED_MODEL_READY');
    expect(ready).not.toHaveProperty('statusMessage');
    expect(await store.get(model.id)).toEqual(ready);
    await expect(store.finalize(model.id, 'DONE' as never)).rejects.toMatchObject({ code: 'TRACKING.INVALID_VALUE' });
  });

  it('sets and deletes tags, and refuses to change a param once set', async () => {
    const model = await newModel();
    await store.setTags(model.id, { team: 'risk', 'mlflow.user': 'bo' });
    expect((await store.deleteTag(model.id, 'team'))?.tags).toEqual({ 'mlflow.user': 'bo' });
    expect((await store.deleteTag(model.id, 'absent'))?.tags).toEqual({ 'mlflow.user': 'bo' });
    expect((await store.logParams(model.id, { lr: '0.1', depth: '3' }))?.params).toEqual({ lr: '0.1', depth: '3' });
    await expect(store.logParams(model.id, { lr: '0.2' })).rejects.toMatchObject({ code: 'TRACKING.PARAM_CONFLICT' });
    expect((await store.get(model.id))?.params).toEqual({ lr: '0.1', depth: '3' });
  });

  it('answers undefined for changes to a model that does not exist', async () => {
    const missing = `m-${'f'.repeat(32)}`;
    expect(await store.finalize(missing, 'LOGGED_MODEL_READY')).toBeUndefined();
    expect(await store.setTags(missing, { a: 'b' })).toBeUndefined();
    expect(await store.deleteTag(missing, 'a')).toBeUndefined();
    expect(await store.logParams(missing, { a: 'b' })).toBeUndefined();
  });

  it('refuses bad ids, names and keys with a code', async () => {
    await expect(store.get('model-1')).rejects.toMatchObject({ code: 'NAME.INVALID' });
    await expect(newModel(experiment(), 'a/b')).rejects.toMatchObject({ code: 'NAME.INVALID' });
    await expect(store.create({ experimentId: experiment(), name: 'm', params: { __name__: 'x' }, tags: {} })).rejects.toMatchObject({
      code: 'NAME.INVALID',
    });
  });

  it('searches the given experiments only, newest first, across more experiments than one query takes', async () => {
    const mine = Array.from({ length: 31 }, experiment);
    const first = await newModel(mine[0], 'first');
    const second = await newModel(mine[30], 'second');
    const third = await newModel(mine[0], 'third');
    await newModel(experiment(), 'elsewhere');
    const found = await store.search({ experimentIds: mine });
    expect(found.map((model) => model.name)).toEqual(['third', 'second', 'first']);
    expect(found.map((model) => model.id)).toEqual([third.id, second.id, first.id]);
    expect((await store.search({ experimentIds: mine, maxResults: 2 })).map((model) => model.name)).toEqual(['third', 'second']);
  });

  it('records what a run produced and used, keeping the latest step of an output logged twice', async () => {
    const run = runId();
    const [a, b, c] = [await newModel(), await newModel(), await newModel()];
    await store.logOutputs(run, [{ modelId: a.id, step: 0 }]);
    await store.logOutputs(run, [{ modelId: b.id, step: 5 }]);
    await store.logOutputs(run, [{ modelId: a.id, step: 7 }]);
    await store.logInputs(run, [c.id]);
    const models = await store.runModels(run);
    expect(models.outputs).toEqual(
      expect.arrayContaining([
        { modelId: a.id, step: 7 },
        { modelId: b.id, step: 5 },
      ]),
    );
    expect(models.outputs).toHaveLength(2);
    expect(models.inputs).toEqual([{ modelId: c.id }]);
    expect(await store.runModels(runId())).toEqual({ outputs: [], inputs: [] });
  });
});
