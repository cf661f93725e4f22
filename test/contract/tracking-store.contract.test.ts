import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { FirestoreTrackingStore } from '../../shared/adapters/firestore/firestore-tracking-store.js';
import type { MetricPoint } from '../../shared/domain/tracking.js';
import type { TrackingStore } from '../../shared/ports/tracking-store.port.js';
import { useEmulators } from '../support/environment.js';

const { projectId } = useEmulators();
const clients: Firestore[] = [];
const client = () => {
  const made = new Firestore({ projectId, ignoreUndefinedProperties: true });
  clients.push(made);
  return made;
};

/** Every TrackingStore backend that runs here: Firestore, against Google's emulator. */
const stores: [string, () => TrackingStore][] = [['firestore', () => new FirestoreTrackingStore({ projectId, client: client() })]];

afterAll(async () => {
  await Promise.all(clients.map((made) => made.terminate()));
});

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const points = (key: string, steps: number[], value = (step: number) => step / 10): MetricPoint[] =>
  steps.map((step) => ({ key, step, value: value(step), timestamp: 1_700_000_000_000 + step }));

describe.each(stores)('TrackingStore contract: %s', (_name, create) => {
  const store = create();
  const newRun = async (experiment = unique('exp'), name?: string) =>
    store.createRun({ experimentId: (await store.createExperiment(experiment)).experiment.id, name });

  it('creates an experiment once when many callers race for the name', async () => {
    const name = unique('race');
    const results = await Promise.all(Array.from({ length: 10 }, () => store.createExperiment(name, { team: 'risk' })));
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.experiment.id)).size).toBe(1);
    expect(await store.getExperimentByName(name)).toEqual(results[0]!.experiment);
    expect((await store.listExperiments()).map((experiment) => experiment.name)).toContain(name);
  });

  it('logs params, tags and metrics, keeps the latest value per metric and the whole history, and ends the run', async () => {
    const run = await newRun(undefined, 'baseline');
    expect(run).toMatchObject({ name: 'baseline', status: 'RUNNING', endTime: null, params: {}, metrics: {} });
    await store.logBatch(run.id, { params: { lr: '0.1' }, tags: { team: 'risk' }, metrics: [...points('loss', [0, 1, 2]), ...points('auc', [0])] });
    await store.logBatch(run.id, { params: { epochs: '3' }, tags: { team: 'growth' }, metrics: points('loss', [3], () => 0.05) });
    const logged = await store.getRun(run.id);
    expect(logged).toMatchObject({
      params: { lr: '0.1', epochs: '3' },
      tags: { team: 'growth' },
      metrics: { loss: 0.05, auc: 0 },
      metricSummaries: { loss: { step: 3, min: 0, max: 0.2 } },
    });
    expect((await store.metricHistory(run.id, 'loss')).map((point) => [point.step, point.value])).toEqual([
      [0, 0],
      [1, 0.1],
      [2, 0.2],
      [3, 0.05],
    ]);
    const ended = await store.endRun(run.id, 'FAILED');
    expect(ended).toMatchObject({ status: 'FAILED', endTime: expect.any(String) });
    expect(await store.getRun(run.id)).toEqual(ended);
  });

  it('refuses to change a param, storing nothing of that batch, and names unknown runs and experiments', async () => {
    const run = await newRun();
    await store.logBatch(run.id, { params: { lr: '0.1' } });
    await store.logBatch(run.id, { params: { lr: '0.1' } });
    await expect(store.logBatch(run.id, { params: { lr: '0.2' }, metrics: points('auc', [0]) })).rejects.toMatchObject({ code: 'TRACKING.PARAM_CONFLICT' });
    expect(await store.getRun(run.id)).toMatchObject({ params: { lr: '0.1' }, metrics: {} });
    expect(await store.metricHistory(run.id, 'auc')).toEqual([]);
    await expect(store.logBatch('no-such-run', { params: { a: '1' } })).rejects.toMatchObject({ code: 'TRACKING.RUN_NOT_FOUND' });
    await expect(store.endRun('no-such-run', 'FINISHED')).rejects.toMatchObject({ code: 'TRACKING.RUN_NOT_FOUND' });
    await expect(store.createRun({ experimentId: 'no-such-experiment' })).rejects.toMatchObject({ code: 'TRACKING.EXPERIMENT_NOT_FOUND' });
    expect(await store.getRun('no-such-run')).toBeUndefined();
  });

  it('stores a retried batch once', async () => {
    const run = await newRun();
    const batch = { metrics: points('loss', [0, 1, 2]), batchId: 'retry-1' };
    await store.logBatch(run.id, batch);
    await store.logBatch(run.id, batch);
    expect(await store.metricHistory(run.id, 'loss')).toHaveLength(3);
  });

  it('loses nothing when 25 runs log 8 batches each, all at once', async () => {
    const experiment = unique('crowd');
    const runs = await Promise.all(Array.from({ length: 25 }, () => newRun(experiment)));
    await Promise.all(
      runs.flatMap((run) =>
        Array.from({ length: 8 }, (_, batch) =>
          store.logBatch(run.id, {
            params: { [`p${batch}`]: String(batch) },
            tags: { [`t${batch}`]: run.id },
            metrics: points(
              'loss',
              Array.from({ length: 50 }, (_, index) => batch * 50 + index),
            ),
          }),
        ),
      ),
    );
    for (const run of runs) {
      const stored = (await store.getRun(run.id))!;
      expect(Object.keys(stored.params)).toHaveLength(8);
      expect(Object.values(stored.tags)).toEqual(Array(8).fill(run.id));
      expect(stored.metrics.loss).toBe(39.9);
      expect((await store.metricHistory(run.id, 'loss')).map((point) => point.step)).toEqual(Array.from({ length: 400 }, (_, index) => index));
    }
  });

  it('loses nothing when two instances write one run at once', async () => {
    const run = await newRun();
    const other = create();
    await Promise.all(
      Array.from({ length: 4 }, (_, batch) =>
        (batch % 2 === 0 ? store : other).logBatch(run.id, { params: { [`p${batch}`]: 'x' }, metrics: points('auc', [batch], () => batch) }),
      ),
    );
    const stored = (await store.getRun(run.id))!;
    expect(Object.keys(stored.params).sort()).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(stored.metrics.auc).toBe(3);
    expect(await store.metricHistory(run.id, 'auc')).toHaveLength(4);
  });

  it('keeps 10,000 points of one run in step order, logged out of order in 10 batches, within seconds', async () => {
    const run = await newRun();
    const started = Date.now();
    for (let batch = 0; batch < 10; batch++) {
      // Batch k holds steps k, k+10, k+20...: every batch interleaves with the others.
      await store.logBatch(run.id, {
        metrics: points(
          'loss',
          Array.from({ length: 1000 }, (_, index) => index * 10 + batch),
          (step) => 1 / (step + 1),
        ),
      });
    }
    const history = await store.metricHistory(run.id, 'loss');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(history).toHaveLength(10_000);
    expect(history.map((point) => point.step)).toEqual(Array.from({ length: 10_000 }, (_, index) => index));
    expect(history.every((point) => point.value === 1 / (point.step + 1))).toBe(true);
    expect((await store.getRun(run.id))!.metricSummaries.loss).toMatchObject({ step: 9999, min: 1 / 10_000, max: 1 });
  });

  it('writes a batch of more metrics than one commit holds', async () => {
    const run = await newRun();
    const metrics = Array.from({ length: 600 }, (_, index) => points(`m${index}`, [0], () => index)[0]!);
    await store.logBatch(run.id, { metrics });
    expect(Object.keys((await store.getRun(run.id))!.metrics)).toHaveLength(600);
    expect(await store.metricHistory(run.id, 'm599')).toMatchObject([{ step: 0, value: 599 }]);
  });

  it('gives the default experiment MLflow\'s id "0", once', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, () => store.createExperiment('Default')));
    expect(results.filter((result) => result.created).length).toBeLessThanOrEqual(1);
    expect(new Set(results.map((result) => result.experiment.id))).toEqual(new Set(['0']));
    expect(await store.getExperimentByName('Default')).toMatchObject({ id: '0', name: 'Default' });
  });

  it('starts a run at a given time, updates its status, end time and name, and removes tags', async () => {
    const experimentId = (await store.createExperiment(unique('update'))).experiment.id;
    const run = await store.createRun({ experimentId, name: 'first', tags: { team: 'risk', keep: 'yes' }, startTime: 1_700_000_000_000 });
    expect(run.startTime).toBe('2023-11-14T22:13:20.000Z');
    const ended = await store.updateRun(run.id, { status: 'FINISHED', endTime: 1_700_000_060_000 });
    expect(ended).toMatchObject({ status: 'FINISHED', endTime: '2023-11-14T22:14:20.000Z', name: 'first' });
    expect(await store.updateRun(run.id, { status: 'KILLED' })).toMatchObject({ status: 'KILLED', endTime: ended.endTime });
    expect(await store.updateRun(run.id, { status: 'RUNNING', name: 'second' })).toMatchObject({ status: 'RUNNING', endTime: null, name: 'second' });
    const stopped = await store.updateRun(run.id, { status: 'FAILED' });
    expect(Math.abs(Date.parse(stopped.endTime!) - Date.now())).toBeLessThan(60_000);
    await store.deleteTag(run.id, 'team');
    await store.deleteTag(run.id, 'never-set');
    expect(await store.getRun(run.id)).toMatchObject({ name: 'second', status: 'FAILED', tags: { keep: 'yes' } });
    expect((await store.getRun(run.id))!.tags).not.toHaveProperty('team');
    await expect(store.updateRun('no-such-run', { status: 'FINISHED' })).rejects.toMatchObject({ code: 'TRACKING.RUN_NOT_FOUND' });
    await expect(store.deleteTag('no-such-run', 'team')).rejects.toMatchObject({ code: 'TRACKING.RUN_NOT_FOUND' });
    await expect(store.updateRun(run.id, { name: '' })).rejects.toMatchObject({ code: 'TRACKING.INVALID_VALUE' });
  });

  it('moves a run to the bin and back: search leaves it out unless asked, and writes are refused meanwhile', async () => {
    const experiment = unique('bin');
    const [kept, binned] = [await newRun(experiment, 'kept'), await newRun(experiment, 'binned')];
    const experimentIds = [(await store.getExperimentByName(experiment))!.id];
    expect(await store.setRunLifecycle(binned.id, 'deleted')).toMatchObject({ id: binned.id, lifecycleStage: 'deleted' });
    const names = async (runView?: 'active' | 'deleted' | 'all') =>
      (await store.searchRuns({ experimentIds, runView, orderBy: ['attributes.run_name'] })).map((run) => run.name);
    expect(await names()).toEqual(['kept']);
    expect(await names('deleted')).toEqual(['binned']);
    expect(await names('all')).toEqual(['binned', 'kept']);
    await expect(store.logBatch(binned.id, { params: { a: '1' } })).rejects.toMatchObject({ code: 'TRACKING.INVALID_VALUE' });
    await expect(store.updateRun(binned.id, { status: 'FINISHED' })).rejects.toMatchObject({ code: 'TRACKING.INVALID_VALUE' });
    await store.setRunLifecycle(binned.id, 'active');
    await store.logBatch(binned.id, { params: { a: '1' } });
    expect(await names()).toEqual(['binned', 'kept']);
    expect(kept.lifecycleStage).toBeUndefined();
    await expect(store.setRunLifecycle('no-such-run', 'deleted')).rejects.toMatchObject({ code: 'TRACKING.RUN_NOT_FOUND' });
  });

  it('searches runs by experiment with filters and ordering', async () => {
    const [first, second] = [unique('search'), unique('search')];
    const logged = async (experiment: string, name: string, auc: number, lr: string) => {
      const run = await newRun(experiment, name);
      await store.logBatch(run.id, { params: { lr }, metrics: points('auc', [0], () => auc) });
      return run;
    };
    await logged(first, 'low', 0.7, '0.1');
    await logged(first, 'high', 0.9, '0.1');
    await logged(first, 'other-lr', 0.95, '0.01');
    const ended = await logged(second, 'elsewhere', 0.99, '0.1');
    await store.endRun(ended.id, 'FINISHED');
    const ids = [(await store.getExperimentByName(first))!.id];
    const names = async (search: Parameters<TrackingStore['searchRuns']>[0]) => (await store.searchRuns(search)).map((run) => run.name);
    expect(await names({ experimentIds: ids, filter: 'metrics.auc > 0.8 and params.lr = 0.1' })).toEqual(['high']);
    expect(await names({ experimentIds: ids, orderBy: ['metrics.auc desc'] })).toEqual(['other-lr', 'high', 'low']);
    expect(await names({ experimentIds: ids, orderBy: ['metrics.auc'], maxResults: 2 })).toEqual(['low', 'high']);
    expect(await names({ filter: "metrics.auc > 0.9 and attributes.status = 'FINISHED'" })).toEqual(['elsewhere']);
    await expect(store.searchRuns({ filter: 'metrics.auc > 0.9 or params.lr = 1' })).rejects.toMatchObject({ code: 'TRACKING.INVALID_FILTER' });
  });
});

describe('ModelRegistry.listVersionsByRun: lineage from a run to its versions', () => {
  it('finds the versions of every model made from one run', async () => {
    const registry = new FirestoreModelRegistry({ projectId, client: client() });
    const runId = randomUUID().replaceAll('-', '');
    const register = (model: string, run: string) =>
      registry.registerVersion({
        model,
        registrationKey: `bucket/${randomUUID()}`,
        actor: 'tester',
        artifactUri: `gs://bucket/models/${model}/${randomUUID()}/model.onnx`,
        generation: '1',
        sha256: 'ab'.repeat(32),
        sizeBytes: 1,
        signature: { inputs: [], outputs: [] },
        metrics: {},
        params: {},
        tags: {},
        description: '',
        lineage: { sourceUri: 'gs://bucket/x', runId: run },
      });
    const [a, b] = [unique('lineage-a'), unique('lineage-b')];
    await register(b, runId);
    await register(a, runId);
    await register(a, 'another-run');
    await register(a, runId);
    expect((await registry.listVersionsByRun(runId)).map((version) => [version.model, version.version])).toEqual([
      [a, 1],
      [a, 3],
      [b, 1],
    ]);
    expect(await registry.listVersionsByRun('nobody')).toEqual([]);
  });
});
