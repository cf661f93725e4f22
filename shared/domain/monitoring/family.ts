import type { Observation } from '../drift/alert-state.js';
import type { SkippedFeature } from '../drift/drift-result.js';

/**
 * What one monitoring family (data quality, attributions, fairness) found for one version and window:
 * the rows of its table (replaced per model, version and window), what the alert state observes (each
 * feature prefixed by the family, e.g. `quality:age`), a summary for the run's outcome, and what it
 * could not measure and why.
 */
export interface FamilyOutcome<Summary> {
  rows: Record<string, unknown>[];
  observations: Observation[];
  summary: Summary;
  skipped: SkippedFeature[];
}

/** The prefix of a family's features in the drift_alerts table: `quality:`, `attribution:`, `fairness:`. */
export const ALERT_PREFIX = { quality: 'quality:', attribution: 'attribution:', fairness: 'fairness:' } as const;
