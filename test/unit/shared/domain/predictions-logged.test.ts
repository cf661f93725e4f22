import { describe, expect, it } from 'vitest';
import type { PlatformError } from '../../../../shared/domain/errors.js';
import { PredictionsLogged, parseEvent } from '../../../../shared/domain/events.js';

const parse = (message: unknown) => parseEvent(PredictionsLogged, message, 'predictions-logged');
const refusal = (message: unknown): PlatformError => {
  try {
    parse(message);
  } catch (error) {
    return error as PlatformError;
  }
  throw new Error('expected a refusal');
};
const head = { schemaVersion: 2, model: 'churn', version: 4 } as const;
const MINUTE = '2026-12-01T12:03:00.000Z';

describe('PredictionsLogged with shadows and request outcomes', () => {
  it("links a shadow's compact prediction to production's id, and leaves the link off where the 6th element is absent", () => {
    const message = {
      ...head,
      source: 'shadow',
      predictions: [
        ['s-1', MINUTE, 1, { tenure: 4 }, { probability: 0.5 }, 'p-1'],
        ['s-2', MINUTE, 1, { tenure: 5 }, { probability: 0.6 }],
      ],
    };
    const [linked, unlinked] = parse(message).predictions;
    expect(linked).toMatchObject({ predictionId: 's-1', source: 'shadow', shadowOf: 'p-1', model: 'churn', version: 4 });
    expect(unlinked).not.toHaveProperty('shadowOf');
  });

  it('reads the outcome counts of an instance, with or without predictions beside them', () => {
    const message = { ...head, source: 'online', predictions: [], instance: 'i-1', outcomes: [[MINUTE, 400, 'MODEL.INVALID_INPUT', 7]] };
    expect(parse(message)).toEqual({
      schemaVersion: 1,
      predictions: [],
      outcomes: [{ model: 'churn', version: 4, minute: MINUTE, status: 400, code: 'MODEL.INVALID_INPUT', instance: 'i-1', count: 7 }],
    });
  });

  it('still reads a v1 message and a v2 message of older revisions, which carry no outcomes', () => {
    const record = { predictionId: 'p', model: 'churn', version: 4, requestTime: MINUTE, features: {}, outputs: {}, latencyMs: null, source: 'batch' };
    expect(parse({ schemaVersion: 1, predictions: [record] })).toEqual({ schemaVersion: 1, predictions: [record] });
    expect(parse({ ...head, source: 'online', predictions: [['p', MINUTE, null, {}, {}]] }).outcomes).toBeUndefined();
  });

  it('refuses an empty message, outcomes without their instance and a status that is no refusal, naming the field', () => {
    expect(refusal({ ...head, source: 'online', predictions: [] }).message).toContain('needs predictions or outcomes');
    expect(refusal({ ...head, source: 'online', predictions: [], outcomes: [[MINUTE, 400, 'X', 1]] }).message).toContain('instance');
    const ok = refusal({ ...head, source: 'online', predictions: [], instance: 'i', outcomes: [[MINUTE, 200, 'X', 1]] });
    expect(ok.code).toBe('EVENT.INVALID');
    expect(ok.message).toContain('outcomes.0.1');
  });
});
