/**
 * Attribution drift: how much each feature moves the model's score (mean |attribution| over a sample),
 * as a share of the total, compared between a window and the reference, and whether the ranking of
 * features by importance still agrees (nDCG). Pure: the explanations come in as numbers.
 */
import type { Query, SampleSource } from '../drift/drift-queries.js';
import type { MonitoringDialect } from '../drift/sql-dialect.js';

/** Window predictions (and reference rows) explained per run, by default. */
export const DEFAULT_ATTRIBUTION_SAMPLE = 200;
/** At most this many rows per side: what one explain call takes (each row costs many model runs). */
export const MAX_ATTRIBUTION_SAMPLE = 1000;
/** Permutations per instance of a sampled estimate, by default. */
export const DEFAULT_ATTRIBUTION_PERMUTATIONS = 32;
/** The explainer's own limit on permutations per instance. */
export const MAX_ATTRIBUTION_PERMUTATIONS = 1000;
/** A feature's importance may move by this share of the reference's total before it counts as drifted, by default. */
export const DEFAULT_ATTRIBUTION_THRESHOLD = 0.1;
/** The window's ranking agrees with the reference's while its nDCG is at least this, by default. */
export const DEFAULT_MIN_NDCG = 0.9;
/** The `method` of the ranking row (feature `__dataset__`). */
export const NDCG_METHOD = 'ndcg';
/** The `method` of an alert on one feature's share. */
export const SHARE_METHOD = 'attribution_share';

/**
 * A deterministic sample of up to `limit` documents of a source: the first in the dialect's sample
 * order, a top-n inside the warehouse (one pass, memory bounded by `limit`), the same rows on every run.
 */
export function sampleQuery(dialect: MonitoringDialect, source: SampleSource, limit: number): Query {
  return { sql: `SELECT doc FROM (${source.sql}) AS s ORDER BY ${dialect.sampleOrder('doc')} LIMIT ${Math.max(0, Math.floor(limit))}`, params: source.params };
}

/** Attribution monitoring settings of one model version. */
export interface AttributionSettings {
  /** Rows sampled and explained per side. */
  sample: number;
  /** Permutations per instance (sampled method). */
  permutations: number;
  /** Default threshold of a feature's change of importance, as a share of the reference's total. */
  threshold: number;
  /** Thresholds of single features, over the default. */
  featureThresholds: Record<string, number>;
  /** The window's nDCG below this is drifted. */
  minNdcg: number;
}

const FEATURE_THRESHOLD = /^attribution\.(.+)\.threshold$/;

type Reader = (raw: string) => number | undefined;
const integerIn =
  (low: number, high: number): Reader =>
  (raw) => {
    const value = Number(raw);
    return Number.isInteger(value) && value >= low && value <= high ? value : undefined;
  };
const shareReader: Reader = (raw) => {
  const value = Number(raw);
  return raw !== '' && value > 0 && value <= 1 ? value : undefined;
};

const SHARE_TAG = { read: shareReader, expected: 'a share in (0, 1]' };

const SETTING_TAGS: Record<string, { field: Exclude<keyof AttributionSettings, 'featureThresholds'>; read: Reader; expected: string }> = {
  'attribution.sample': { field: 'sample', read: integerIn(1, MAX_ATTRIBUTION_SAMPLE), expected: `an integer from 1 to ${MAX_ATTRIBUTION_SAMPLE}` },
  'attribution.samples': {
    field: 'permutations',
    read: integerIn(1, MAX_ATTRIBUTION_PERMUTATIONS),
    expected: `an integer from 1 to ${MAX_ATTRIBUTION_PERMUTATIONS}`,
  },
  'attribution.threshold': { field: 'threshold', ...SHARE_TAG },
  'attribution.min_ndcg': { field: 'minNdcg', read: shareReader, expected: 'a value in (0, 1]' },
};

/**
 * Reads `attribution.sample` (rows explained per side, default 200), `attribution.samples`
 * (permutations per instance, default 32), `attribution.threshold` (default 0.1),
 * `attribution.<feature>.threshold` and `attribution.min_ndcg` (default 0.9) from tags; a value not
 * understood is a problem string and its default stays.
 */
export function attributionSettingsFromTags(tags: Record<string, string>): { settings: AttributionSettings; problems: string[] } {
  const settings: AttributionSettings = {
    sample: DEFAULT_ATTRIBUTION_SAMPLE,
    permutations: DEFAULT_ATTRIBUTION_PERMUTATIONS,
    threshold: DEFAULT_ATTRIBUTION_THRESHOLD,
    featureThresholds: {},
    minNdcg: DEFAULT_MIN_NDCG,
  };
  const problems: string[] = [];
  const read = (key: string, raw: string, { read: parse, expected }: { read: Reader; expected: string }): number | undefined => {
    const value = parse(raw.trim());
    if (value === undefined) problems.push(`${key}: "${raw}" is not ${expected}`);
    return value;
  };
  for (const [key, raw] of Object.entries(tags)) {
    const tag = SETTING_TAGS[key];
    const feature = FEATURE_THRESHOLD.exec(key)?.[1];
    if (tag) settings[tag.field] = read(key, raw, tag) ?? settings[tag.field];
    else if (feature !== undefined) {
      const threshold = read(key, raw, SHARE_TAG);
      if (threshold !== undefined) settings.featureThresholds[feature] = threshold;
    }
  }
  return { settings, problems };
}

/** The share threshold of one feature: its own, else the default. */
export function attributionThresholdFor(settings: AttributionSettings, feature: string): number {
  return settings.featureThresholds[feature] ?? settings.threshold;
}

/** Mean absolute attribution per feature over a set of explanations (0 for a feature none of them carries). */
export function meanAbsoluteAttributions(explanations: { attributions: Record<string, number> }[], features: string[]): Record<string, number> {
  const sums = Object.fromEntries(features.map((feature) => [feature, 0]));
  for (const { attributions } of explanations) for (const feature of features) sums[feature]! += Math.abs(attributions[feature] ?? 0);
  return Object.fromEntries(features.map((feature) => [feature, explanations.length === 0 ? 0 : sums[feature]! / explanations.length]));
}

/** Each feature's share of the total importance; all 0 when the total is 0 (a constant model). */
export function importanceShares(importance: Record<string, number>): Record<string, number> {
  const total = Object.values(importance).reduce((sum, value) => sum + value, 0);
  return Object.fromEntries(Object.entries(importance).map(([feature, value]) => [feature, total > 0 ? value / total : 0]));
}

/**
 * Normalised discounted cumulative gain of ranking the features by `scores` when `relevance` is the
 * truth: DCG = Σ relevance / log2(rank + 1), divided by the DCG of ranking by relevance itself. Tied
 * scores share the mean discount of the ranks they span, so the result does not depend on their order
 * (scikit-learn's `ndcg_score` with `ignore_ties=False`). 1 when every relevance is 0: there is no order to miss.
 */
export function ndcg(relevance: Record<string, number>, scores: Record<string, number>): number {
  const features = Object.keys(relevance);
  const ideal = dcg(features.map((feature) => ({ gain: relevance[feature]!, score: relevance[feature]! })));
  if (ideal === 0) return 1;
  return dcg(features.map((feature) => ({ gain: relevance[feature]!, score: scores[feature] ?? 0 }))) / ideal;
}

function dcg(items: { gain: number; score: number }[]): number {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  let total = 0;
  for (let start = 0; start < sorted.length; ) {
    let end = start;
    while (end < sorted.length && sorted[end]!.score === sorted[start]!.score) end += 1;
    let discount = 0;
    for (let rank = start + 1; rank <= end; rank += 1) discount += 1 / Math.log2(rank + 1);
    const gain = sorted.slice(start, end).reduce((sum, item) => sum + item.gain, 0);
    total += (gain * discount) / (end - start);
    start = end;
  }
  return total;
}

/** One feature's importance on both sides and its drift. */
export interface FeatureAttributionDrift {
  feature: string;
  referenceImportance: number;
  currentImportance: number;
  referenceShare: number;
  currentShare: number;
  /** |currentImportance − referenceImportance| / the reference's total importance. */
  value: number;
  threshold: number;
  drifted: boolean;
}

/** The attribution drift of a window: per feature, and the ranking's agreement. */
export interface AttributionDrift {
  features: FeatureAttributionDrift[];
  ndcg: { value: number; threshold: number; drifted: boolean };
}

/**
 * Compares the mean |attribution| per feature of a window's explanations with the reference's: a
 * feature drifts when its importance moves by more than its threshold, measured as a share of the
 * reference's total importance (so one feature growing does not move the others, as a change of each
 * feature's own share of the window's total would); the ranking drifts when the nDCG of the window's
 * importances, judged by the reference's, falls below `minNdcg`.
 */
export function attributionDrift(
  features: string[],
  reference: { attributions: Record<string, number> }[],
  current: { attributions: Record<string, number> }[],
  settings: AttributionSettings,
): AttributionDrift {
  const referenceImportance = meanAbsoluteAttributions(reference, features);
  const currentImportance = meanAbsoluteAttributions(current, features);
  const referenceShares = importanceShares(referenceImportance);
  const currentShares = importanceShares(currentImportance);
  const referenceTotal = features.reduce((sum, feature) => sum + referenceImportance[feature]!, 0);
  const measured = features.map((feature) => {
    const value = referenceTotal > 0 ? Math.abs(currentImportance[feature]! - referenceImportance[feature]!) / referenceTotal : 0;
    const threshold = attributionThresholdFor(settings, feature);
    return {
      feature,
      referenceImportance: referenceImportance[feature]!,
      currentImportance: currentImportance[feature]!,
      referenceShare: referenceShares[feature]!,
      currentShare: currentShares[feature]!,
      value,
      threshold,
      drifted: value > threshold,
    };
  });
  const agreement = ndcg(referenceImportance, currentImportance);
  return { features: measured, ndcg: { value: agreement, threshold: settings.minNdcg, drifted: agreement < settings.minNdcg } };
}
