import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PredictionsLogged, type PredictionRecord, parseEvent } from '../../../../shared/domain/events.js';
import {
  type OnlineFeatureRow,
  documentIdOf,
  latestPerEntity,
  namesEntities,
  notOnline,
  onlineDatasetOf,
  readEntityRequest,
  supersedes,
  withOnlineFeatures,
} from '../../../../shared/domain/online-features.js';
import { compactPrediction, predictionRecords, predictionRow } from '../../../../shared/domain/prediction-rows.js';
import { platformError } from '../../../support/errors.js';
import { FIXTURES } from '../../../support/paths.js';

interface Reference {
  rows: { entity_id: string; event_time: string; features: Record<string, number> }[];
  latest: { entity_id: string; event_time: string; features: Record<string, number> }[];
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'online-features-reference.json'), 'utf8')) as Reference;
const asRow = ({ entity_id, event_time, features }: Reference['rows'][number]): OnlineFeatureRow => ({ entityId: entity_id, eventTime: event_time, features });
const NAMES = ['f0', 'f1', 'f2', 'f3'];

describe("picking each entity's latest row", () => {
  it('keeps the row with the greatest event time per entity, in entity id byte order, as numpy picks them', () => {
    expect(latestPerEntity(reference.rows.map(asRow))).toEqual(reference.latest.map(asRow));
  });

  it("lets only a strictly newer row replace a stored one, whatever the timestamp's spelling", () => {
    const stored = { eventTime: '2026-11-02T10:00:00.000Z' };
    expect(supersedes({ eventTime: '2026-11-02T10:00:00.001Z' }, stored)).toBe(true);
    expect(supersedes({ eventTime: '2026-11-02T10:00:00Z' }, stored)).toBe(false);
    expect(supersedes({ eventTime: '2026-11-02T11:00:00+02:00' }, stored)).toBe(false);
    expect(supersedes({ eventTime: '2026-11-01T00:00:00.000Z' }, undefined)).toBe(true);
  });
});

describe('document ids of entities', () => {
  it('escape what Firestore refuses and keep distinct ids distinct', () => {
    const ids = ['c-1', 'a/b', 'a%2Fb', '50%', '.', '..', '%2E', '__x__', '%5F_x__', '_x_'];
    const documentIds = ids.map(documentIdOf);
    expect(documentIds.slice(0, 7)).toEqual(['c-1', 'a%2Fb', 'a%252Fb', '50%25', '%2E', '%2E.', '%252E']);
    expect(documentIds.at(-1)).toBe('_x_');
    expect(new Set(documentIds).size).toBe(ids.length);
    for (const id of documentIds) {
      expect(id).not.toContain('/');
      expect(id).not.toMatch(/^(\.|\.\.|__.*__)$/);
    }
  });
});

describe('a /predict body naming entities', () => {
  it('is told apart from one that does not by its entity_ids field alone', () => {
    expect(namesEntities({ entity_ids: ['c-1'] })).toBe(true);
    expect(namesEntities({ instances: [[1, 2, 3, 4]] })).toBe(false);
    expect(namesEntities(null)).toBe(false);
    expect(namesEntities([1])).toBe(false);
  });

  it('is refused with a message naming the fault', () => {
    const cases: [unknown, RegExp][] = [
      [{ entity_ids: 'c-1' }, /"entity_ids" must be a non-empty array/],
      [{ entity_ids: [] }, /non-empty array/],
      [{ entity_ids: ['a', 'b', 'c'] }, /3 entries but at most 2/],
      [{ entity_ids: ['c-1', 7] }, /entity_ids\[1\] is 7; each entity id must be a non-empty string/],
      [{ entity_ids: ['c-1', ''] }, /entity_ids\[1\].*non-empty string/],
      [{ entity_ids: ['c-1'], instances: [{}, {}] }, /same length \(1\)/],
      [{ entity_ids: ['c-1'], instances: [[1, 2, 3, 4]] }, /instances\[0\].*object keyed by feature name/],
    ];
    for (const [body, message] of cases) {
      const error = platformError(() => readEntityRequest(body, 2));
      expect(error.code).toBe('MODEL.INVALID_INPUT');
      expect(error.message).toMatch(message);
    }
  });

  it("merges each entity's stored features the model takes with the instance sent, which wins", () => {
    const found = new Map([
      ['c-1', { f0: 1, f1: 2, f2: 3, f3: 4, region: 'north' }],
      ['c-2', { f0: -1, f1: 0, f2: 0.5, f3: 2 }],
    ]);
    const request = readEntityRequest({ entity_ids: ['c-1', 'c-2', 'c-1'], instances: [{ f1: 9 }, {}, { f3: 0 }] }, 10);
    expect(withOnlineFeatures(request, found, NAMES, 'customers')).toEqual([
      { f0: 1, f1: 9, f2: 3, f3: 4 },
      { f0: -1, f1: 0, f2: 0.5, f3: 2 },
      { f0: 1, f1: 2, f2: 3, f3: 0 },
    ]);
    expect(withOnlineFeatures(readEntityRequest({ entity_ids: ['c-2'] }, 10), found, NAMES, 'customers')).toEqual([{ f0: -1, f1: 0, f2: 0.5, f3: 2 }]);
  });

  it('refuses unknown entities with FEATURES.UNKNOWN_ENTITY naming each once, and counting past twenty', () => {
    const found = new Map([['c-1', { f0: 1 }]]);
    const error = platformError(() => withOnlineFeatures(readEntityRequest({ entity_ids: ['c-1', 'c-404', 'x/1', 'c-404'] }, 10), found, NAMES, 'customers'));
    expect(error.code).toBe('FEATURES.UNKNOWN_ENTITY');
    expect(error.message).toMatch(/"c-404", "x\/1" in dataset "customers"/);
    expect(error.details).toEqual({ dataset: 'customers', unknownEntities: ['c-404', 'x/1'], unknownCount: 2 });
    const many = Array.from({ length: 25 }, (_, index) => `u-${index}`);
    const manyError = platformError(() => withOnlineFeatures(readEntityRequest({ entity_ids: many }, 100), found, NAMES, 'customers'));
    expect(manyError.message).toMatch(/"u-19" and 5 more in dataset/);
    expect(manyError.details?.unknownCount).toBe(25);
  });

  it('is refused by a version without online features, saying which tag to set', () => {
    const error = notOnline('churn', 3);
    expect(error.code).toBe('FEATURES.NOT_ONLINE');
    expect(error.message).toMatch(/Version 3 of "churn".*--tag features\.online=<dataset id>/);
    expect(onlineDatasetOf({ 'features.online': ' customers ' })).toBe('customers');
    expect(onlineDatasetOf({ 'features.online': '' })).toBeUndefined();
    expect(onlineDatasetOf(undefined)).toBeUndefined();
  });
});

describe('the entity id of a logged prediction', () => {
  const batch = { model: 'churn', version: 3, requestTime: '2026-12-01T12:00:00.000Z', latencyMs: 1, source: 'online' } as const;
  const records = predictionRecords(batch, ['p-1', 'p-2'], [{ f0: 1 }, { f0: 2 }], [{ p: 0.1 }, { p: 0.2 }], undefined, ['c-1', 'c/2']);

  it('is on each record and its predictions row, and null on a row without one', () => {
    expect(records.map((record) => record.entityId)).toEqual(['c-1', 'c/2']);
    expect(predictionRow(records[0]!)).toMatchObject({ prediction_id: 'p-1', entity_id: 'c-1', features: { f0: 1 }, shadow_of: null });
    const [plain] = predictionRecords(batch, ['p-3'], [{ f0: 3 }], [{ p: 0.3 }]);
    expect(plain).not.toHaveProperty('entityId');
    expect(predictionRow(plain!).entity_id).toBeNull();
  });

  it('survives the compact predictions message, with or without a shadow link, as JSON carries it', () => {
    const shadowed: PredictionRecord = { ...records[1]!, source: 'shadow', shadowOf: 'p-0' };
    const { entityId: _none, ...shadowOnly } = shadowed;
    for (const [source, list] of [
      ['online', records],
      ['shadow', [shadowed, shadowOnly]],
    ] as const) {
      const message = JSON.parse(JSON.stringify({ schemaVersion: 2, model: 'churn', version: 3, source, predictions: list.map(compactPrediction) }));
      expect(parseEvent(PredictionsLogged, message, 'predictions').predictions).toEqual(list);
    }
    expect(compactPrediction(records[0]!)).toHaveLength(7);
    expect(compactPrediction(shadowOnly as PredictionRecord)).toHaveLength(6);
  });
});
