import { describe, expect, it } from 'vitest';
import type { ModelSignature } from '../../../../shared/domain/model-signature.js';
import { MISSING_INPUTS_TAG, planInputs } from '../../../../shared/domain/serving/input-plan.js';
import { decodeInstances } from '../../../../shared/domain/serving/predict-codec.js';
import { platformError } from '../../../support/errors.js';

const MATRIX: ModelSignature = {
  inputs: [{ name: 'X', type: 'float32', shape: [null, 3] }],
  outputs: [{ name: 'variable', type: 'float32', shape: [null, 1] }],
};
/** One input per column: a wide float, a float, an integer and a string. */
const COLUMNS: ModelSignature = {
  inputs: [
    { name: 'scores', type: 'float32', shape: [null, 2] },
    { name: 'income', type: 'float64', shape: [null, 1] },
    { name: 'age', type: 'int64', shape: [null, 1] },
    { name: 'country', type: 'string', shape: [null, 1] },
  ],
  outputs: [{ name: 'score', type: 'float32', shape: [null] }],
};
const NAMES = { feature_names: JSON.stringify(['a', 'b', 'c']) };
const TAKES_NAN = { [MISSING_INPUTS_TAG]: 'nan' };
const LIMITS = { maxBatch: 8 };

const refusalOf = (action: () => unknown) => {
  const error = platformError(action);
  expect(error.code).toBe('MODEL.INVALID_INPUT');
  return error.message;
};

describe('missing values for a model that takes them (inputs.missing=nan)', () => {
  it('feeds null and NaN-like texts to the model as NaN and logs them as null, in arrays and objects', () => {
    const plan = planInputs(MATRIX, NAMES, TAKES_NAN);
    const arrays = decodeInstances(
      plan,
      {
        instances: [
          [1, null, 'NaN'],
          ['nan', '', 2],
        ],
      },
      LIMITS,
    );
    expect(Array.from(arrays.inputs.X!.data as number[])).toEqual([1, Number.NaN, Number.NaN, Number.NaN, Number.NaN, 2]);
    expect(arrays.features).toEqual([
      { a: 1, b: null, c: null },
      { a: null, b: null, c: 2 },
    ]);
    const sent = { a: 0.5, b: null, c: 'NaN' };
    const objects = decodeInstances(plan, { instances: [sent] }, LIMITS);
    expect(Array.from(objects.inputs.X!.data as number[])).toEqual([0.5, Number.NaN, Number.NaN]);
    expect(objects.features).toEqual([{ a: 0.5, b: null, c: null }]);
    expect(sent).toEqual({ a: 0.5, b: null, c: 'NaN' });
  });

  it('takes them in every float input of a per-column model, wide ones included, and nowhere else', () => {
    const plan = planInputs(COLUMNS, {}, TAKES_NAN);
    const { inputs, features } = decodeInstances(plan, { instances: [{ income: null, scores: [0.1, 'NaN'], age: 30, country: 'fr' }] }, LIMITS);
    expect(inputs.income!.data).toEqual([Number.NaN]);
    expect(inputs.scores!.data).toEqual([0.1, Number.NaN]);
    expect(features).toEqual([{ scores_0: 0.1, scores_1: null, income: null, age: 30, country: 'fr' }]);
    const logged = decodeInstances(plan, { instances: [{ income: 2, scores_0: null, scores_1: 3, age: 1, country: 'de' }] }, LIMITS);
    expect(logged.features).toEqual([{ scores_0: null, scores_1: 3, income: 2, age: 1, country: 'de' }]);
    expect(logged.inputs.scores!.data).toEqual([Number.NaN, 3]);
    expect(refusalOf(() => decodeInstances(plan, { instances: [{ income: 1, scores: [1, 2], age: null, country: 'fr' }] }, LIMITS))).toContain(
      'instances[0].age: expected an integer',
    );
  });

  it('still refuses an absent key, a value of another type, and a missing value of a model without the tag', () => {
    const tagged = planInputs(MATRIX, NAMES, TAKES_NAN);
    expect(refusalOf(() => decodeInstances(tagged, { instances: [{ a: 1, b: 2 }] }, LIMITS))).toContain("is missing 'c'");
    expect(refusalOf(() => decodeInstances(tagged, { instances: [[1, 2, 'NA']] }, LIMITS))).toContain('not strings');
    const untagged = planInputs(MATRIX, NAMES);
    const message = refusalOf(() => decodeInstances(untagged, { instances: [[1, null, 2]] }, LIMITS));
    expect(message).toContain('missing values are not accepted');
    expect(message).toContain('tag the version inputs.missing=nan');
    expect(refusalOf(() => decodeInstances(untagged, { instances: [{ a: 1, b: 'NaN', c: 2 }] }, LIMITS))).toContain('tag the version inputs.missing=nan');
  });

  it('does not suggest the tag where it would not help: integer, bool and string inputs', () => {
    const plan = planInputs(COLUMNS, {});
    const message = refusalOf(() => decodeInstances(plan, { instances: [{ income: 1, scores: [1, 2], age: null, country: 'fr' }] }, LIMITS));
    expect(message).toContain('missing values are not accepted');
    expect(message).not.toContain('inputs.missing');
  });

  it('reads the model metadata when the version has no tag, the tag winning', () => {
    const fromMetadata = planInputs(MATRIX, { ...NAMES, [MISSING_INPUTS_TAG]: 'NaN' });
    expect(decodeInstances(fromMetadata, { instances: [[null, 1, 2]] }, LIMITS).features).toEqual([{ a: null, b: 1, c: 2 }]);
    expect(() => planInputs(MATRIX, { ...NAMES, [MISSING_INPUTS_TAG]: 'zero' }, TAKES_NAN)).not.toThrow();
  });

  it('refuses to plan a model whose tag it does not understand, saying the value it takes', () => {
    const error = platformError(() => planInputs(MATRIX, NAMES, { [MISSING_INPUTS_TAG]: 'zero' }));
    expect(error.code).toBe('MODEL.LOAD_FAILED');
    expect(error.message).toContain('inputs.missing="zero" is not understood; the only value is "nan"');
  });
});
