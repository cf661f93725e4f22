/** Data quality checks, their default thresholds, and per-feature thresholds read from a version's tags. */

/** A check on one feature's values in a window, in the order a feature's checks are reported and alerted on. */
export type QualityCheck = 'missing' | 'out_of_range' | 'unseen_category' | 'type_violation';

/** Every check, in report order: the first crossed one is what a feature's alert names. */
export const QUALITY_CHECKS: readonly QualityCheck[] = ['missing', 'out_of_range', 'unseen_category', 'type_violation'];

/**
 * The largest share of a window's predictions each check allows before it alerts. A missing or odd
 * value now and then is normal; a type violation never is, so any one crosses.
 */
export const DEFAULT_QUALITY_THRESHOLDS: Readonly<Record<QualityCheck, number>> = {
  missing: 0.05,
  out_of_range: 0.05,
  unseen_category: 0.05,
  type_violation: 0,
};

/** Texts a request carries for a value it does not have: counted as missing, like an absent key or a JSON null. */
export const NAN_LIKE_TEXTS: readonly string[] = ['NaN', 'nan', ''];

/** The `feature` of the rows that count refused requests, one check `refused:<error code>` each. */
export const REQUESTS_FEATURE = '__requests__';

/** Data quality thresholds of one model version. */
export interface QualitySettings {
  /** For every feature without its own. */
  thresholds: Record<QualityCheck, number>;
  /** By feature name, only the checks its tags set. */
  features: Record<string, Partial<Record<QualityCheck, number>>>;
}

const TAG = /^quality\.(?:(.+)\.)?max_(missing|out_of_range|unseen_category|type_violation)$/;

/**
 * Reads `quality.max_<check>` (every feature) and `quality.<feature>.max_<check>` (one feature), each a
 * share from 0 to 1. A tag that is not understood is a problem, reported, never fatal.
 */
export function qualitySettingsFromTags(tags: Record<string, string>): { settings: QualitySettings; problems: string[] } {
  const settings: QualitySettings = { thresholds: { ...DEFAULT_QUALITY_THRESHOLDS }, features: {} };
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(tags)) {
    if (!key.startsWith('quality.')) continue;
    const match = TAG.exec(key);
    if (!match) {
      problems.push(`${key}: not a quality setting (use quality.max_<check> or quality.<feature>.max_<check>, check one of ${QUALITY_CHECKS.join(', ')})`);
      continue;
    }
    const [, feature, check] = match as unknown as [string, string | undefined, QualityCheck];
    const share = raw.trim() === '' ? Number.NaN : Number(raw);
    if (!(share >= 0 && share <= 1)) problems.push(`${key}: "${raw}" is not a share from 0 to 1`);
    else if (feature === undefined) settings.thresholds[check] = share;
    else settings.features[feature] = { ...settings.features[feature], [check]: share };
  }
  return { settings, problems };
}

/** The threshold of one feature's check: its own, else the version's, else the default. */
export function qualityThreshold(settings: QualitySettings, feature: string, check: QualityCheck): number {
  return settings.features[feature]?.[check] ?? settings.thresholds[check];
}
