import type { SkippedFeature } from '../drift/drift-result.js';
import { isMonitorableKey } from '../drift/sql-dialect.js';
import { type ModelTask, positiveClassOf } from '../model-task.js';
import { ALERT_PREFIX } from '../monitoring/family.js';
import { POSITIVE_LABELS } from '../monitoring/performance.js';

/** The limits fairness is judged by: the smallest group compared, and each comparison's threshold. */
export interface FairnessThresholds {
  /** Groups with fewer predictions (or labelled predictions, for accuracy and the rates) are too small to judge. */
  minGroup: number;
  /** Demographic parity difference above this is flagged. */
  maxParityDifference: number;
  /** Disparate impact ratio below this is flagged (the four-fifths rule). */
  minDisparateImpact: number;
  /** Equalized odds difference above this is flagged. */
  maxEqualizedOddsDifference: number;
}

/** The defaults of the fairness.* tags. */
export const FAIRNESS_DEFAULTS: FairnessThresholds = { minGroup: 30, maxParityDifference: 0.1, minDisparateImpact: 0.8, maxEqualizedOddsDifference: 0.1 };

/** What is read as the prediction: the class output, and the labels (predicted or observed) that count as the positive class. */
export interface FairnessPrediction {
  /** The output holding the predicted class. */
  label: string;
  /** The positive class, as the tag or the task names it. */
  positive: string;
  /** Labels read as that class: 1 and true stand for each other, as in performance from ground truth. */
  positives: string[];
}

/** Fairness settings of one model version. */
export interface FairnessSettings {
  /** The sensitive attributes: a feature of the predictions, else an attribute sent with ground truth. */
  attributes: string[];
  /** Undefined when the model's task gives no class to judge; `skipped` then says why. */
  prediction?: FairnessPrediction;
  thresholds: FairnessThresholds;
  /** Attributes that cannot be measured for this model, as `fairness:<attribute>` with the reason. */
  skipped: SkippedFeature[];
}

const TAG = 'fairness.';
const THRESHOLD_TAGS: Record<string, { key: keyof FairnessThresholds; valid: (value: number) => boolean; expected: string }> = {
  'fairness.min_group': { key: 'minGroup', valid: (value) => Number.isInteger(value) && value >= 1, expected: 'a whole number of at least 1' },
  'fairness.max_parity_difference': { key: 'maxParityDifference', valid: (value) => value > 0 && value <= 1, expected: 'a number in (0, 1]' },
  'fairness.min_disparate_impact': { key: 'minDisparateImpact', valid: (value) => value > 0 && value <= 1, expected: 'a number in (0, 1]' },
  'fairness.max_equalized_odds_difference': { key: 'maxEqualizedOddsDifference', valid: (value) => value > 0 && value <= 1, expected: 'a number in (0, 1]' },
};

/**
 * Reads `fairness.attribute` (one or more names, comma-separated), `fairness.positive` (default: the
 * binary task's positive class) and the thresholds `fairness.min_group`, `fairness.max_parity_difference`,
 * `fairness.min_disparate_impact` and `fairness.max_equalized_odds_difference`. Settings are undefined
 * when no attribute is tagged; a tag that is not understood is a problem, reported and never fatal.
 */
export function fairnessSettingsFromTags(tags: Record<string, string>, task: ModelTask): { settings: FairnessSettings | undefined; problems: string[] } {
  const problems: string[] = [];
  const attributes = attributesOf(tags[`${TAG}attribute`], problems);
  if (attributes.length === 0) return { settings: undefined, problems };
  const thresholds = thresholdsOf(tags, problems);
  const prediction = predictionOf(task, tags[`${TAG}positive`]?.trim(), problems);
  const skipped =
    typeof prediction === 'string' ? attributes.map((attribute) => ({ feature: `${ALERT_PREFIX.fairness}${attribute}`, reason: prediction })) : [];
  return { settings: { attributes, thresholds, skipped, ...(typeof prediction === 'string' ? {} : { prediction }) }, problems };
}

function attributesOf(raw: string | undefined, problems: string[]): string[] {
  const names = [...new Set((raw ?? '').split(',').map((name) => name.trim()))].filter((name) => name !== '');
  if (raw !== undefined && names.length === 0) problems.push(`${TAG}attribute: "${raw}" names no attribute (write fairness.attribute=sex or sex,age_band)`);
  const invalid = names.filter((name) => !isMonitorableKey(name));
  for (const name of invalid) problems.push(`${TAG}attribute: "${name}" cannot be monitored (letters, digits, _ - : only)`);
  return names.filter((name) => isMonitorableKey(name));
}

function thresholdsOf(tags: Record<string, string>, problems: string[]): FairnessThresholds {
  const thresholds = { ...FAIRNESS_DEFAULTS };
  for (const [tag, { key, valid, expected }] of Object.entries(THRESHOLD_TAGS)) {
    const raw = tags[tag];
    if (raw === undefined) continue;
    const value = raw.trim() === '' ? Number.NaN : Number(raw);
    if (valid(value)) thresholds[key] = value;
    else problems.push(`${tag}: "${raw}" is not ${expected}; using ${thresholds[key]}`);
  }
  return thresholds;
}

/** The prediction read for fairness, or why the task gives none. */
function predictionOf(task: ModelTask, tagged: string | undefined, problems: string[]): FairnessPrediction | string {
  if (task.kind !== 'binary' && task.kind !== 'multiclass')
    return `fairness compares the classes a classifier predicts, and the model's task is '${task.kind}' (the task tag can declare it)`;
  if (task.label === undefined) return 'the model has no label output holding the predicted class (the output.label tag can name it)';
  if (!isMonitorableKey(task.label)) return `output name '${task.label}' cannot be named in a JSONPath (letters, digits, _ - : only)`;
  const positive = positiveOf(task, tagged, problems);
  if (positive === undefined) return 'a multiclass model has no positive class: name the favourable outcome with fairness.positive=<class>';
  return { label: task.label, positive, positives: POSITIVE_LABELS.includes(positive) ? POSITIVE_LABELS : [positive] };
}

function positiveOf(task: ModelTask, tagged: string | undefined, problems: string[]): string | undefined {
  if (tagged === undefined) return positiveClassOf(task);
  if (tagged !== '' && (task.classes === undefined || task.classes.includes(tagged))) return tagged;
  const fallback = positiveClassOf(task);
  problems.push(
    `${TAG}positive: "${tagged}" is not a class of the model (${task.classes?.join(', ') ?? 'none named'})${fallback === undefined ? '' : `; using ${fallback}`}`,
  );
  return fallback;
}
