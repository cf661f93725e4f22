import { describe, expect, it } from 'vitest';
import { FAIRNESS_DEFAULTS, fairnessSettingsFromTags } from '../../../../shared/domain/fairness/settings.js';
import type { ModelTask } from '../../../../shared/domain/model-task.js';

const BINARY: ModelTask = { kind: 'binary', classes: ['0', '1'], label: 'output_label', probabilities: 'output_probability', fromTags: [] };
const APPROVAL: ModelTask = { kind: 'binary', classes: ['denied', 'approved'], label: 'label', fromTags: [] };
const MULTICLASS: ModelTask = { kind: 'multiclass', classes: ['a', 'b', 'c'], label: 'label', fromTags: [] };

describe('fairnessSettingsFromTags', () => {
  it('is undefined without fairness.attribute: nothing to judge, and nothing to report', () => {
    expect(fairnessSettingsFromTags({ 'fairness.min_group': '10' }, BINARY)).toEqual({ settings: undefined, problems: [] });
  });

  it('reads comma-separated attributes, the binary positive class and the defaults', () => {
    const { settings, problems } = fairnessSettingsFromTags({ 'fairness.attribute': ' sex, age_band ,sex,' }, BINARY);
    expect(problems).toEqual([]);
    expect(settings).toEqual({
      attributes: ['sex', 'age_band'],
      prediction: { label: 'output_label', positive: '1', positives: ['1', 'true'] },
      thresholds: { minGroup: 30, maxParityDifference: 0.1, minDisparateImpact: 0.8, maxEqualizedOddsDifference: 0.1 },
      skipped: [],
    });
    expect(FAIRNESS_DEFAULTS).toEqual(settings!.thresholds);
  });

  it('takes a named positive class and every threshold from tags', () => {
    const { settings, problems } = fairnessSettingsFromTags(
      {
        'fairness.attribute': 'region',
        'fairness.positive': 'b',
        'fairness.min_group': '50',
        'fairness.max_parity_difference': '0.2',
        'fairness.min_disparate_impact': '0.9',
        'fairness.max_equalized_odds_difference': '0.05',
      },
      MULTICLASS,
    );
    expect(problems).toEqual([]);
    expect(settings?.prediction).toEqual({ label: 'label', positive: 'b', positives: ['b'] });
    expect(settings?.thresholds).toEqual({ minGroup: 50, maxParityDifference: 0.2, minDisparateImpact: 0.9, maxEqualizedOddsDifference: 0.05 });
  });

  it('reports each bad value as a problem naming the tag, and keeps the default', () => {
    const { settings, problems } = fairnessSettingsFromTags(
      {
        'fairness.attribute': 'sex,home town',
        'fairness.positive': 'maybe',
        'fairness.min_group': '2.5',
        'fairness.max_parity_difference': 'lots',
        'fairness.min_disparate_impact': '1.2',
        'fairness.max_equalized_odds_difference': '',
      },
      APPROVAL,
    );
    expect(settings?.attributes).toEqual(['sex']);
    expect(settings?.prediction?.positive).toBe('approved');
    expect(settings?.thresholds).toEqual(FAIRNESS_DEFAULTS);
    expect(problems).toEqual([
      'fairness.attribute: "home town" cannot be monitored (letters, digits, _ - : only)',
      'fairness.min_group: "2.5" is not a whole number of at least 1; using 30',
      'fairness.max_parity_difference: "lots" is not a number in (0, 1]; using 0.1',
      'fairness.min_disparate_impact: "1.2" is not a number in (0, 1]; using 0.8',
      'fairness.max_equalized_odds_difference: "" is not a number in (0, 1]; using 0.1',
      'fairness.positive: "maybe" is not a class of the model (denied, approved); using approved',
    ]);
  });

  it('an attribute tag naming nothing monitorable gives no settings, only the problem', () => {
    expect(fairnessSettingsFromTags({ 'fairness.attribute': ' , ' }, BINARY)).toEqual({
      settings: undefined,
      problems: ['fairness.attribute: " , " names no attribute (write fairness.attribute=sex or sex,age_band)'],
    });
  });

  it.each([
    ['a regression', { kind: 'regression', score: 'variable', fromTags: [] }, /task is 'regression'/],
    ['a classifier without a label output', { kind: 'binary', classes: ['0', '1'], probabilities: 'p', fromTags: [] }, /no label output .*output\.label tag/],
    [
      'a label output JSONPath cannot name',
      { kind: 'binary', classes: ['0', '1'], label: 'the label', fromTags: [] },
      /'the label' cannot be named in a JSONPath/,
    ],
    ['a multiclass model without fairness.positive', MULTICLASS, /multiclass model has no positive class: .*fairness\.positive=<class>/],
  ] as [string, ModelTask, RegExp][])('%s: every attribute skipped with the reason, no prediction to read', (_, task, reason) => {
    const { settings, problems } = fairnessSettingsFromTags({ 'fairness.attribute': 'sex,region' }, task);
    expect(problems).toEqual([]);
    expect(settings?.prediction).toBeUndefined();
    expect(settings?.skipped.map((entry) => entry.feature)).toEqual(['fairness:sex', 'fairness:region']);
    for (const entry of settings!.skipped) expect(entry.reason).toMatch(reason);
  });
});
