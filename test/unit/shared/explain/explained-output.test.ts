import { describe, expect, it } from 'vitest';
import { argmax, explainSettings, explainedOutput, outputName, targetIndex } from '../../../../shared/domain/explain/explained-output.js';
import { columnMeans, linearAttribution } from '../../../../shared/domain/explain/linear-attribution.js';
import type { ModelTask } from '../../../../shared/domain/model-task.js';

const binary: ModelTask = { kind: 'binary', classes: ['no', 'yes'], label: 'label', probabilities: 'probs', fromTags: [] };
const multiclass: ModelTask = { kind: 'multiclass', classes: ['a', 'b', 'c'], probabilities: 'p', fromTags: [] };
const regression: ModelTask = { kind: 'regression', score: 'value', fromTags: [] };

describe('explainedOutput and targetIndex', () => {
  it("explain a binary task's positive class, a multiclass task's predicted class, a regression's value", () => {
    expect(targetIndex(explainedOutput(binary), undefined)).toBe(1);
    expect(outputName(explainedOutput(binary), 1)).toBe('probs.yes');
    expect(targetIndex(explainedOutput(multiclass), undefined)).toBeUndefined();
    expect(targetIndex(explainedOutput(multiclass), 'c')).toBe(2);
    expect(outputName(explainedOutput(regression), targetIndex(explainedOutput(regression), undefined))).toBe('value');
  });

  it('refuse a target the model lacks, a target for a value, and a model without a score', () => {
    expect(() => targetIndex(explainedOutput(multiclass), 'd')).toThrow(/"d" is not a class of this model; its classes are "a", "b", "c"/);
    expect(() => targetIndex(explainedOutput(regression), 'a')).toThrow(/predicts a value and has no classes/);
    expect(() => explainedOutput({ kind: 'binary', classes: ['0', '1'], label: 'label', fromTags: [] })).toThrow(
      expect.objectContaining({ code: 'EXPLAIN.UNSUPPORTED' }),
    );
    expect(() => explainedOutput({ kind: 'other', fromTags: [] })).toThrow(/output\.score/);
  });
});

describe('explainSettings', () => {
  it('defaults to 64 samples and a fixed seed, and rounds an odd count up to whole antithetic pairs', () => {
    expect(explainSettings({})).toEqual({ samples: 64, seed: 19, target: undefined });
    expect(explainSettings({ samples: 25, seed: 3, target: 'a' })).toEqual({ samples: 26, seed: 3, target: 'a' });
  });

  it('refuses sample counts out of range, fractional seeds and empty targets', () => {
    for (const samples of [0, 3, 1001, 10.5, '64']) expect(() => explainSettings({ samples })).toThrow(/"samples" must be a whole number from 4 to 1000/);
    expect(() => explainSettings({ seed: 1.5 })).toThrow(/"seed"/);
    expect(() => explainSettings({ target: '' })).toThrow(/"target"/);
  });
});

describe('linearAttribution', () => {
  it('gives weight × (value − mean), summing to the score minus the score at the mean', () => {
    const mean = columnMeans([
      [1, 2],
      [3, 6],
    ]);
    expect(mean).toEqual([2, 4]);
    const { prediction, baseline, attributions } = linearAttribution({ weights: [0.5, -2], intercept: 1 }, [4, 1], mean);
    expect(attributions).toEqual([1, 6]);
    expect(prediction).toBe(1 + 2 - 2);
    expect(baseline).toBe(1 + 1 - 8);
    expect(prediction - baseline).toBe(attributions[0]! + attributions[1]!);
  });

  it('argmax picks the first of equal largest scores', () => {
    expect(argmax([0.2, 0.5, 0.5, 0.1])).toBe(1);
  });
});
