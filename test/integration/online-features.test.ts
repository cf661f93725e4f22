import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServingApp } from '../../functions/serve/app.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/index.js';
import { FirestoreOnlineFeatureStore, FirestoreOnlineReader } from '../../shared/adapters/firestore-online/index.js';
import { type PredictionRecord, PredictionsLogged, parseEvent } from '../../shared/domain/events.js';
import { documentIdOf } from '../../shared/domain/online-features.js';
import { TABLES } from '../../shared/domain/tables.js';
import { ingestPredictions } from '../../shared/services/ingest.js';
import { materializeFeatures } from '../../shared/services/materialize-features.js';
import { PredictionLog } from '../../shared/services/prediction-log.js';
import { useEmulators } from '../support/environment.js';
import { FIXTURES } from '../support/paths.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { listen, versionOf } from '../support/serving.js';

interface Reference {
  overrideF1: number;
  rows: { entity_id: string; event_time: string; features: Record<string, number> }[];
  latest: { entity_id: string; event_time: string; features: Record<string, number> }[];
  probabilities: Record<string, number>;
  overridden: Record<string, number>;
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'online-features-reference.json'), 'utf8')) as Reference;
const DATASET = 'customers';
const allIds = reference.latest.map((row) => row.entity_id);

/** The records the predictor hands the prediction log, as it hands them (the topic is another test's matter). */
class RecordedLog extends PredictionLog {
  readonly records: PredictionRecord[] = [];
  override log(records: PredictionRecord[]): void {
    this.records.push(...records);
  }
}

const { projectId, firestoreHost } = useEmulators();

describe('online features: materialized from DuckDB to the Firestore emulator, looked up at /predict', () => {
  const client = new Firestore({ projectId });
  const store = new FirestoreOnlineFeatureStore({ projectId, client });
  const reader = new FirestoreOnlineReader({ projectId, emulatorHost: firestoreHost });
  let folder: string;
  let warehouse: DuckDbWarehouse;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'online-features-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    const loadedAt = new Date().toISOString();
    await warehouse.insert(
      'offline_features',
      reference.rows.map((row) => ({ dataset_id: DATASET, ...row, loaded_at: loadedAt })),
    );
    // Another dataset's rows for the same entities are never materialized into this one.
    await warehouse.insert('offline_features', [
      { dataset_id: 'other', entity_id: 'c-1', event_time: '2027-01-01T00:00:00Z', features: { f0: 99 }, loaded_at: loadedAt },
    ]);
  });

  afterAll(async () => {
    await warehouse.close();
    await client.terminate();
    await rm(folder, { recursive: true, force: true });
  });

  const storedDocuments = async () => {
    const snapshots = await client.collection(`online_features/${documentIdOf(DATASET)}/entities`).get();
    return new Map(snapshots.docs.map((snapshot) => [snapshot.id, { data: snapshot.data(), updated: snapshot.updateTime.toMillis() }]));
  };

  it("writes each entity's latest row, as numpy picks it, in pages and batches, readable over REST and through the SDK alike", async () => {
    const report = await materializeFeatures({ dataset: DATASET, warehouse, store, batchSize: 7, concurrency: 2 });
    expect(report).toMatchObject({ dataset: DATASET, entities: reference.latest.length, written: reference.latest.length });
    expect(report.peakRssBytes).toBeGreaterThan(0);
    const expected = new Map(reference.latest.map((row) => [row.entity_id, row.features]));
    const viaRest = await reader.read(DATASET, [...allIds, 'c-404']);
    expect(viaRest).toEqual(expected);
    expect(await store.read(DATASET, [...allIds, 'c-404'])).toEqual(expected);
    const documents = await storedDocuments();
    expect(documents.size).toBe(reference.latest.length);
    expect(documents.get(documentIdOf('a/b'))?.data).toEqual({
      entity_id: 'a/b',
      event_time: reference.latest.find((row) => row.entity_id === 'a/b')!.event_time,
      features: JSON.stringify(reference.latest.find((row) => row.entity_id === 'a/b')!.features),
    });
  });

  it('re-run, writes nothing: every document keeps its content and its update time', async () => {
    const before = await storedDocuments();
    const report = await materializeFeatures({ dataset: DATASET, warehouse, store });
    expect(report).toMatchObject({ entities: reference.latest.length, written: 0 });
    expect(await storedDocuments()).toEqual(before);
  });

  it('never lets an older row replace a newer one, in sequence or racing', async () => {
    const entity = 'race-1';
    const older = { entityId: entity, eventTime: '2026-11-01T00:00:00.000Z', features: { f0: 1, f1: 1, f2: 1, f3: 1 } };
    const newer = { entityId: entity, eventTime: '2026-11-01T00:00:01.000Z', features: { f0: 2, f1: 2, f2: 2, f3: 2 } };
    expect(await store.write(DATASET, [newer])).toEqual({ written: 1, unchanged: 0 });
    expect(await store.write(DATASET, [older])).toEqual({ written: 0, unchanged: 1 });
    // Within one write the latest row per entity is the one written.
    expect(await store.write('racing', [newer, older])).toEqual({ written: 1, unchanged: 0 });
    const results = await Promise.all([store.write('racing-2', [older]), store.write('racing-2', [newer]), store.write('racing-2', [older])]);
    expect(results.reduce((sum, result) => sum + result.written, 0)).toBeGreaterThanOrEqual(1);
    for (const dataset of [DATASET, 'racing', 'racing-2']) expect((await reader.read(dataset, [entity])).get(entity)).toEqual(newer.features);
  });

  describe('a serving app whose version is tagged features.online=customers', () => {
    const predictionLog = new RecordedLog({ bus: () => ({}) as never });
    let serving: Awaited<ReturnType<typeof listen>>;
    let app: ReturnType<typeof createServingApp>;
    let untagged: ReturnType<typeof createServingApp>;

    beforeAll(async () => {
      const churn = await versionOf('churn', 3, binaryClassifierOnnx());
      app = createServingApp({ ...churn, version: { ...churn.version, tags: { 'features.online': DATASET } }, predictionLog, onlineFeatures: reader });
      untagged = createServingApp({ ...churn, onlineFeatures: reader });
      serving = await listen(app);
    });
    afterAll(() => serving.close());

    type Answer = { predictions: { probability: number; label: number }[]; ids: string[]; code?: string; error?: string; details?: Record<string, unknown> };
    const viaListener = async (body: unknown) => {
      const response = await fetch(`${serving.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Answer };
    };
    const viaHono = (target: ReturnType<typeof createServingApp>) => async (body: unknown) => {
      const response = await target.app.request('/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as Answer };
    };

    it("predicts from entities' stored features on the fast path and the Hono path alike, and sent features win", async () => {
      const ids = ['c-3', '__x__', 'a/b', 'c-3'];
      for (const post of [viaListener, viaHono(app)]) {
        const alone = await post({ entity_ids: ids });
        expect(alone.status).toBe(200);
        for (const [index, prediction] of alone.body.predictions.entries())
          expect(prediction.probability).toBeCloseTo(reference.probabilities[ids[index]!]!, 6);
        const beside = await post({ entity_ids: ids, instances: ids.map(() => ({ f1: reference.overrideF1 })) });
        expect(beside.status).toBe(200);
        for (const [index, prediction] of beside.body.predictions.entries()) expect(prediction.probability).toBeCloseTo(reference.overridden[ids[index]!]!, 6);
      }
      // A body without entity ids is served as before.
      const plain = await viaListener({ instances: [reference.latest[0]!.features] });
      expect(plain.body.predictions[0]!.probability).toBeCloseTo(reference.probabilities[reference.latest[0]!.entity_id]!, 6);
    });

    it('answers 400 FEATURES.UNKNOWN_ENTITY naming the unknown entities, on both paths', async () => {
      for (const post of [viaListener, viaHono(app)]) {
        const { status, body } = await post({ entity_ids: ['c-1', 'c-404', 'nobody'] });
        expect(status).toBe(400);
        expect(body.code).toBe('FEATURES.UNKNOWN_ENTITY');
        expect(body.error).toMatch(/"c-404", "nobody" in dataset "customers"/);
        expect(body.details).toMatchObject({ unknownEntities: ['c-404', 'nobody'] });
      }
    });

    it('documents entity_ids in /openapi.json: looked up in the dataset, or refused by an untagged version', async () => {
      const entityIds = async (target: ReturnType<typeof createServingApp>) => {
        type Document = {
          paths: {
            '/predict': { post: { requestBody: { content: { 'application/json': { schema: { properties: Record<string, { description: string }> } } } } } };
          };
        };
        const document = (await (await target.app.request('/openapi.json')).json()) as Document;
        return document.paths['/predict'].post.requestBody.content['application/json'].schema.properties.entity_ids!;
      };
      expect(await entityIds(app)).toMatchObject({ type: 'array', items: { type: 'string' }, description: expect.stringMatching(/dataset "customers"/) });
      expect((await entityIds(untagged)).description).toMatch(/FEATURES\.NOT_ONLINE.*features\.online=<dataset id>/);
    });

    it('answers 400 FEATURES.NOT_ONLINE, naming the tag, from a version without online features', async () => {
      const { status, body } = await viaHono(untagged)({ entity_ids: ['c-1'] });
      expect(status).toBe(400);
      expect(body.code).toBe('FEATURES.NOT_ONLINE');
      expect(body.error).toMatch(/--tag features\.online=<dataset id>/);
    });

    it('logs each prediction with its entity id and the features it used, looked-up ones included, down to the predictions table', async () => {
      predictionLog.records.length = 0;
      const { body } = await viaListener({ entity_ids: ['c-7', 'c-8'], instances: [{ f1: reference.overrideF1 }, {}] });
      const logged = predictionLog.records;
      expect(logged.map((record) => [record.predictionId, record.entityId])).toEqual([
        [body.ids[0], 'c-7'],
        [body.ids[1], 'c-8'],
      ]);
      const stored = (id: string) => reference.latest.find((row) => row.entity_id === id)!.features;
      expect(logged[0]!.features).toEqual({ ...stored('c-7'), f1: reference.overrideF1 });
      expect(logged[1]!.features).toEqual(stored('c-8'));
      const message = parseEvent(PredictionsLogged, JSON.parse(JSON.stringify({ schemaVersion: 1, predictions: logged })), 'predictions');
      expect(await ingestPredictions(message, warehouse)).toMatchObject({ inserted: 2 });
      const rows = await warehouse.query('SELECT prediction_id, entity_id, features FROM {{predictions}} WHERE entity_id IS NOT NULL ORDER BY entity_id');
      expect(rows).toEqual([
        { prediction_id: body.ids[0], entity_id: 'c-7', features: logged[0]!.features },
        { prediction_id: body.ids[1], entity_id: 'c-8', features: logged[1]!.features },
      ]);
    });
  });
});
