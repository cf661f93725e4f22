import type { Observation } from '../drift/alert-state.js';
import { ALERT_PREFIX } from '../monitoring/family.js';
import type { FairnessThresholds } from './settings.js';

/**
 * Fairness from counts: per group of a sensitive attribute, the selection rate, accuracy and the
 * true and false positive rates; across groups, the demographic parity difference, disparate impact
 * ratio and equalized odds difference (as fairlearn defines them: max − min, min / max, and the larger
 * of the TPR and FPR ranges). A group below the minimum count is too small: it has no value and is
 * left out of every comparison, so it is never reported as fair.
 */

/** What one pass over a window counts per group. */
export interface GroupCounts {
  group: string;
  /** Predictions with a predicted class. */
  predictions: number;
  /** Of which the positive class. */
  predictedPositive: number;
  /** Of which with a ground-truth label. */
  labelled: number;
  /** Labelled and predicted right. */
  correct: number;
  truePositives: number;
  falsePositives: number;
  trueNegatives: number;
  falseNegatives: number;
}

/** A metric of one group. */
export type GroupMetric = 'selection_rate' | 'accuracy' | 'true_positive_rate' | 'false_positive_rate';
/** A comparison across the groups of an attribute. */
export type ComparisonMetric = 'demographic_parity_difference' | 'disparate_impact_ratio' | 'equalized_odds_difference';

/** The order comparisons are listed, and checked for the attribute's alert. */
export const COMPARISON_METRICS: readonly ComparisonMetric[] = ['demographic_parity_difference', 'disparate_impact_ratio', 'equalized_odds_difference'];
/** The group_value of the rows holding comparisons. */
export const ALL_GROUPS = '__all__';

/** One metric of one group: null when the group is too small for it or it has no denominator. */
export interface GroupMetricValue {
  metric: GroupMetric;
  value: number | null;
  tooSmall: boolean;
}

/** One group's counts and metrics. */
export interface GroupFairness {
  group: string;
  predictions: number;
  labelled: number;
  metrics: GroupMetricValue[];
}

/** One comparison across groups: null, and not flagged, with fewer than two groups to compare. */
export interface FairnessComparison {
  metric: ComparisonMetric;
  value: number | null;
  threshold: number;
  flagged: boolean;
  /** The groups compared: large enough, with a value. */
  groups: string[];
  /** Predictions and labelled predictions of those groups. */
  predictions: number;
  labelled: number;
}

/** The fairness of one attribute in one window. */
export interface AttributeFairness {
  attribute: string;
  groups: GroupFairness[];
  comparisons: FairnessComparison[];
  /** Predictions of the window without a value for the attribute, in no group. */
  ungrouped: number;
}

const ratio = (numerator: number, denominator: number): number | null => (denominator > 0 ? numerator / denominator : null);

/** Each group's metrics: selection rate needs `minGroup` predictions, accuracy and the rates `minGroup` labelled ones. */
export function groupFairness(counts: GroupCounts, minGroup: number): GroupFairness {
  const fewPredictions = counts.predictions < minGroup;
  const fewLabelled = counts.labelled < minGroup;
  const metric = (name: GroupMetric, tooSmall: boolean, value: number | null): GroupMetricValue => ({ metric: name, value: tooSmall ? null : value, tooSmall });
  const { truePositives, falsePositives, trueNegatives, falseNegatives } = counts;
  return {
    group: counts.group,
    predictions: counts.predictions,
    labelled: counts.labelled,
    metrics: [
      metric('selection_rate', fewPredictions, ratio(counts.predictedPositive, counts.predictions)),
      metric('accuracy', fewLabelled, ratio(counts.correct, counts.labelled)),
      metric('true_positive_rate', fewLabelled, ratio(truePositives, truePositives + falseNegatives)),
      metric('false_positive_rate', fewLabelled, ratio(falsePositives, falsePositives + trueNegatives)),
    ],
  };
}

/** The groups with a value of `metric`, each with that value. */
function valuesOf(groups: GroupFairness[], metric: GroupMetric): { group: GroupFairness; value: number }[] {
  return groups.flatMap((group) => {
    const value = group.metrics.find((entry) => entry.metric === metric)?.value;
    return value === null || value === undefined ? [] : [{ group, value }];
  });
}

/** max − min of the values, null with fewer than two. */
function range(values: number[]): number | null {
  return values.length < 2 ? null : Math.max(...values) - Math.min(...values);
}

function comparison(metric: ComparisonMetric, value: number | null, threshold: number, compared: GroupFairness[]): FairnessComparison {
  const flagged = value !== null && (metric === 'disparate_impact_ratio' ? value < threshold : value > threshold);
  return {
    metric,
    value,
    threshold,
    flagged,
    groups: compared.map((group) => group.group),
    predictions: compared.reduce((sum, group) => sum + group.predictions, 0),
    labelled: compared.reduce((sum, group) => sum + group.labelled, 0),
  };
}

/** The three comparisons across `groups`, each over the groups that have the metrics it compares. */
export function fairnessComparisons(groups: GroupFairness[], thresholds: FairnessThresholds): FairnessComparison[] {
  const selection = valuesOf(groups, 'selection_rate');
  const rates = selection.map((entry) => entry.value);
  const highest = rates.length < 2 ? 0 : Math.max(...rates);
  const truePositive = valuesOf(groups, 'true_positive_rate');
  const falsePositive = valuesOf(groups, 'false_positive_rate');
  const oddsRanges = [range(truePositive.map((entry) => entry.value)), range(falsePositive.map((entry) => entry.value))].filter(
    (value): value is number => value !== null,
  );
  const oddsGroups = groups.filter((group) => [...truePositive, ...falsePositive].some((entry) => entry.group === group));
  const selected = selection.map((entry) => entry.group);
  return [
    comparison('demographic_parity_difference', range(rates), thresholds.maxParityDifference, selected),
    comparison('disparate_impact_ratio', highest > 0 ? Math.min(...rates) / highest : null, thresholds.minDisparateImpact, selected),
    comparison('equalized_odds_difference', oddsRanges.length > 0 ? Math.max(...oddsRanges) : null, thresholds.maxEqualizedOddsDifference, oddsGroups),
  ];
}

/** An attribute's fairness from its groups' counts, groups in the order of their values. */
export function attributeFairness(attribute: string, counts: GroupCounts[], ungrouped: number, thresholds: FairnessThresholds): AttributeFairness {
  const groups = [...counts].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0)).map((group) => groupFairness(group, thresholds.minGroup));
  return { attribute, groups, comparisons: fairnessComparisons(groups, thresholds), ungrouped };
}

/**
 * What the alert state observes of an attribute: the first flagged comparison, else the first with a
 * value. Undefined when no comparison has one (groups too small): the alert then keeps its state,
 * since too few predictions say nothing of fairness either way.
 */
export function fairnessObservation(fairness: AttributeFairness): Observation | undefined {
  const measured = fairness.comparisons.filter((entry) => entry.value !== null);
  const observed = measured.find((entry) => entry.flagged) ?? measured[0];
  if (!observed) return undefined;
  return {
    feature: `${ALERT_PREFIX.fairness}${fairness.attribute}`,
    method: observed.metric,
    value: observed.value!,
    threshold: observed.threshold,
    drifted: observed.flagged,
  };
}
