import { describe, expect, it } from 'vitest';
import { attributeFairness, fairnessObservation, type GroupCounts, groupFairness } from '../../../../shared/domain/fairness/metrics.js';
import { FAIRNESS_DEFAULTS } from '../../../../shared/domain/fairness/settings.js';

/** Counts of a group from its confusion matrix, `unlabelled` predictions of which `unlabelledPositive` predicted positive. */
function counts(group: string, { tp, fp, tn, fn, unlabelled = 0, unlabelledPositive = 0 }: Record<string, number>): GroupCounts {
  const labelled = tp! + fp! + tn! + fn!;
  return {
    group,
    predictions: labelled + unlabelled,
    predictedPositive: tp! + fp! + unlabelledPositive,
    labelled,
    correct: tp! + tn!,
    truePositives: tp!,
    falsePositives: fp!,
    trueNegatives: tn!,
    falseNegatives: fn!,
  };
}

const values = (fairness: ReturnType<typeof attributeFairness>) => Object.fromEntries(fairness.comparisons.map((entry) => [entry.metric, entry.value]));

describe('fairness from counts', () => {
  it('gives a group its selection rate over all predictions and its accuracy and rates over the labelled ones', () => {
    const group = groupFairness(counts('F', { tp: 20, fp: 10, tn: 50, fn: 20, unlabelled: 20, unlabelledPositive: 10 }), 30);
    expect(group.metrics).toEqual([
      { metric: 'selection_rate', value: 40 / 120, tooSmall: false },
      { metric: 'accuracy', value: 70 / 100, tooSmall: false },
      { metric: 'true_positive_rate', value: 20 / 40, tooSmall: false },
      { metric: 'false_positive_rate', value: 10 / 60, tooSmall: false },
    ]);
  });

  it('marks a group too small per denominator: enough predictions for a selection rate, too few labels for the rest', () => {
    const group = groupFairness(counts('X', { tp: 5, fp: 5, tn: 5, fn: 5, unlabelled: 20, unlabelledPositive: 0 }), 30);
    expect(group.metrics.map((entry) => [entry.metric, entry.value, entry.tooSmall])).toEqual([
      ['selection_rate', 0.25, false],
      ['accuracy', null, true],
      ['true_positive_rate', null, true],
      ['false_positive_rate', null, true],
    ]);
  });

  it('a rate with no denominator is null but not too small', () => {
    const group = groupFairness(counts('G', { tp: 0, fp: 10, tn: 30, fn: 0 }), 30);
    expect(group.metrics.find((entry) => entry.metric === 'true_positive_rate')).toEqual({ metric: 'true_positive_rate', value: null, tooSmall: false });
  });

  it('compares the groups large enough: parity max − min, impact min / max, odds the larger rate range', () => {
    const fairness = attributeFairness(
      'sex',
      [counts('M', { tp: 40, fp: 20, tn: 30, fn: 10 }), counts('F', { tp: 20, fp: 10, tn: 50, fn: 20 }), counts('tiny', { tp: 5, fp: 0, tn: 0, fn: 0 })],
      7,
      FAIRNESS_DEFAULTS,
    );
    expect(fairness.groups.map((group) => group.group)).toEqual(['F', 'M', 'tiny']);
    expect(fairness.ungrouped).toBe(7);
    // selection: F 0.3, M 0.6; TPR: F 0.5, M 0.8; FPR: F 1/6, M 0.4.
    expect(values(fairness).demographic_parity_difference).toBeCloseTo(0.3, 15);
    expect(values(fairness).disparate_impact_ratio).toBeCloseTo(0.5, 15);
    expect(values(fairness).equalized_odds_difference).toBeCloseTo(0.8 - 0.5, 15);
    expect(fairness.comparisons.map((entry) => [entry.flagged, entry.groups, entry.predictions, entry.labelled])).toEqual([
      [true, ['F', 'M'], 200, 200],
      [true, ['F', 'M'], 200, 200],
      [true, ['F', 'M'], 200, 200],
    ]);
  });

  it('flags impact below its threshold and differences above theirs, not at them', () => {
    const thresholds = { ...FAIRNESS_DEFAULTS, minGroup: 1, maxParityDifference: 0.25, minDisparateImpact: 0.5, maxEqualizedOddsDifference: 0.5 };
    const fairness = attributeFairness('sex', [counts('a', { tp: 1, fp: 0, tn: 1, fn: 0 }), counts('b', { tp: 1, fp: 1, tn: 0, fn: 0 })], 0, thresholds);
    expect(fairness.comparisons.map((entry) => [entry.metric, entry.value, entry.flagged])).toEqual([
      ['demographic_parity_difference', 0.5, true],
      ['disparate_impact_ratio', 0.5, false],
      ['equalized_odds_difference', 1, true],
    ]);
  });

  it('leaves a comparison null and unflagged with fewer than two groups, or impact with no group selected', () => {
    const one = attributeFairness('sex', [counts('F', { tp: 20, fp: 10, tn: 50, fn: 20 }), counts('M', { tp: 1, fp: 1, tn: 1, fn: 1 })], 0, FAIRNESS_DEFAULTS);
    expect(one.comparisons.map((entry) => [entry.value, entry.flagged, entry.groups])).toEqual([
      [null, false, ['F']],
      [null, false, ['F']],
      [null, false, ['F']],
    ]);
    expect(fairnessObservation(one)).toBeUndefined();
    const none = attributeFairness('sex', [counts('F', { tp: 0, fp: 0, tn: 30, fn: 10 }), counts('M', { tp: 0, fp: 0, tn: 40, fn: 5 })], 0, FAIRNESS_DEFAULTS);
    expect(values(none)).toEqual({ demographic_parity_difference: 0, disparate_impact_ratio: null, equalized_odds_difference: 0 });
  });

  it('observes the first flagged comparison, else the first measured, as fairness:<attribute>', () => {
    const thresholds = { ...FAIRNESS_DEFAULTS, minGroup: 1 };
    const impactOnly = attributeFairness(
      'band',
      [
        counts('a', { tp: 10, fp: 0, tn: 0, fn: 0, unlabelled: 90, unlabelledPositive: 0 }),
        counts('b', { tp: 10, fp: 0, tn: 0, fn: 0, unlabelled: 90, unlabelledPositive: 9 }),
      ],
      0,
      { ...thresholds, maxEqualizedOddsDifference: 1 },
    );
    // selection 0.1 vs 0.19: difference 0.09 under 0.1, impact 0.526 under 0.8.
    expect(fairnessObservation(impactOnly)).toEqual({
      feature: 'fairness:band',
      method: 'disparate_impact_ratio',
      value: 10 / 19,
      threshold: 0.8,
      drifted: true,
    });
    const fair = attributeFairness('band', [counts('a', { tp: 5, fp: 5, tn: 5, fn: 5 }), counts('b', { tp: 5, fp: 5, tn: 5, fn: 5 })], 0, thresholds);
    expect(fairnessObservation(fair)).toEqual({ feature: 'fairness:band', method: 'demographic_parity_difference', value: 0, threshold: 0.1, drifted: false });
  });
});
