import { describe, expect, it } from 'vitest';
import type { ModelTask } from '../../../../../shared/domain/model-task.js';
import { MAX_CASE_CLASSES, outputLayout, outputReading } from '../../../../../shared/domain/monitoring/performance.js';

const task = (fields: Partial<ModelTask> & Pick<ModelTask, 'kind'>): ModelTask => ({ fromTags: [], ...fields });
const IRIS = ['Iris setosa', 'Iris versicolor', 'Iris virginica'];

describe('where performance reads each output role', () => {
  it('reads the platform writer’s label and probability through the task, 1 and true both positive', () => {
    const reading = outputReading(task({ kind: 'binary', classes: ['0', '1'], label: 'label', score: 'probability' }));
    expect(reading).toMatchObject({ label: 'label', score: 'probability', argmax: false, positives: ['1', 'true'], skipped: [] });
    expect(reading.classes).toBeUndefined();
  });

  it('reads a binary positive-class probability by class label when keyed, by column when an array', () => {
    const skl = task({ kind: 'binary', classes: ['no', 'yes'], label: 'output_label', probabilities: 'output_probability' });
    expect(outputReading(skl, { keyedProbabilities: true })).toMatchObject({ score: ['output_probability', 'yes'], positives: ['yes'] });
    expect(outputReading(skl).score).toEqual(['output_probability', 1]);
  });

  it('takes the most probable class when there is no label, and reads class labels with spaces by column', () => {
    const reading = outputReading(task({ kind: 'multiclass', classes: IRIS, probabilities: 'probabilities' }));
    expect(reading.argmax).toBe(true);
    expect(reading.classes).toEqual(IRIS.map((label, index) => ({ label, path: ['probabilities', index] })));
  });

  it('skips the per-class metrics of a keyed output whose class label a JSONPath cannot name, keeping the label', () => {
    const reading = outputReading(task({ kind: 'multiclass', classes: IRIS, label: 'output_label', probabilities: 'output_probability' }), {
      keyedProbabilities: true,
    });
    expect(reading.label).toBe('output_label');
    expect(reading.classes).toBeUndefined();
    expect(reading.skipped).toEqual([{ metric: 'roc_auc, log_loss', reason: expect.stringContaining('"Iris setosa" cannot be named in a JSONPath') }]);
  });

  it(`reads no class one by one above ${MAX_CASE_CLASSES} classes`, () => {
    const classes = Array.from({ length: MAX_CASE_CLASSES + 1 }, (_, index) => `c${index}`);
    const reading = outputReading(task({ kind: 'multiclass', classes, probabilities: 'probabilities' }));
    expect(reading.label).toBeUndefined();
    expect(reading.argmax).toBe(false);
    expect(reading.skipped.map((skip) => skip.metric)).toEqual(['accuracy, precision, recall, f1', 'roc_auc, log_loss']);
  });

  it('reads a regression value from the score, and nothing for a task of kind other', () => {
    expect(outputReading(task({ kind: 'regression', score: 'variable' }))).toMatchObject({ value: 'variable', skipped: [] });
    const other = outputReading(task({ kind: 'other' }));
    expect([other.label, other.score, other.value, other.classes]).toEqual([undefined, undefined, undefined, undefined]);
    expect(other.skipped).toEqual([{ metric: 'performance', reason: expect.stringContaining("task is 'other'") }]);
  });

  it('takes the layout of the probabilities output from the signature', () => {
    const skl = task({ kind: 'binary', probabilities: 'output_probability' });
    expect(outputLayout([{ name: 'output_probability', keyedByClass: true }], skl)).toEqual({ keyedProbabilities: true });
    expect(outputLayout([{ name: 'output_probability' }, { name: 'other', keyedByClass: true }], skl)).toEqual({ keyedProbabilities: false });
  });
});
