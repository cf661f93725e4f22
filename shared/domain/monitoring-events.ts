import { ALERT_PREFIX } from './monitoring/family.js';
import { z } from 'zod';

/** Longest window a run may look back over: 90 days. */
export const MAX_WINDOW_HOURS = 24 * 90;

/**
 * A monitoring run on monitor-schedule: from Cloud Scheduler (`{"trigger": "schedule"}`, nothing
 * else) or from `mlops drift run`, which names a request id to wait for on drift-computed.
 */
export const DriftRunRequested = z.object({
  schemaVersion: z.literal(1).default(1),
  trigger: z.enum(['schedule', 'manual']).default('schedule'),
  requestId: z.string().min(1).max(200).optional(),
  /** Only this model (a valid model name, see names.ts); every model with an alias by default. */
  model: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,62}$/)
    .optional(),
  windowHours: z.number().positive().max(MAX_WINDOW_HOURS).optional(),
  /** End of the current window; a scheduled run ends it at the top of the hour it was published in. */
  windowEnd: z.string().datetime({ offset: true }).optional(),
  /** Set by the local scheduler; Cloud Scheduler sends no time, so publishTime stands in. */
  scheduledTime: z.string().optional(),
});
export type DriftRunRequested = z.infer<typeof DriftRunRequested>;

const FeatureDriftSummary = z.object({
  feature: z.string(),
  kind: z.enum(['numeric', 'categorical']),
  method: z.string(),
  value: z.number(),
  threshold: z.number(),
  drifted: z.boolean(),
  statistic: z.number(),
  tolerance: z.number(),
  referenceSize: z.number(),
  currentSize: z.number(),
});

/** What one version's run found, in the drift-computed event. */
const QualityOutcome = z.object({
  checks: z.array(
    z.object({
      feature: z.string(),
      check: z.string(),
      value: z.number(),
      failing: z.number(),
      rows: z.number(),
      threshold: z.number(),
      crossed: z.boolean(),
    }),
  ),
  refused: z.array(z.object({ code: z.string(), count: z.number() })),
  requests: z.number(),
});

const Judged = { value: z.number(), threshold: z.number(), drifted: z.boolean() };

const AttributionOutcome = z.object({
  reference: z.string(),
  method: z.string(),
  referenceSize: z.number(),
  currentSize: z.number(),
  features: z.array(
    z.object({
      feature: z.string(),
      referenceImportance: z.number(),
      currentImportance: z.number(),
      referenceShare: z.number(),
      currentShare: z.number(),
      ...Judged,
    }),
  ),
  ndcg: z.object(Judged).optional(),
});

const FairnessOutcome = z.object({
  positive: z.string().optional(),
  attributes: z.array(
    z.object({
      attribute: z.string(),
      groups: z.array(
        z.object({
          group: z.string(),
          predictions: z.number(),
          labelled: z.number(),
          metrics: z.array(z.object({ metric: z.string(), value: z.number().nullable(), tooSmall: z.boolean() })),
        }),
      ),
      comparisons: z.array(
        z.object({
          metric: z.string(),
          value: z.number().nullable(),
          threshold: z.number(),
          flagged: z.boolean(),
          groups: z.array(z.string()),
          predictions: z.number(),
          labelled: z.number(),
        }),
      ),
      ungrouped: z.number(),
    }),
  ),
});

export const VersionMonitoring = z.object({
  model: z.string(),
  version: z.number().int(),
  aliases: z.array(z.string()),
  /** `dataset:<id>`, `window:<start>/<end>` (the first full window after launch), or `none`. */
  reference: z.string(),
  features: z.array(FeatureDriftSummary),
  skipped: z.array(z.object({ feature: z.string(), reason: z.string() })),
  datasetDrift: z.object({ share: z.number(), threshold: z.number(), drifted: z.boolean() }),
  performance: z.record(z.string(), z.number().nullable()),
  health: z.record(z.string(), z.number().nullable()),
  /** Data quality, feature importance and fairness of the window; absent from runs before they existed, fairness without an attribute tagged. */
  quality: QualityOutcome.optional(),
  attributions: AttributionOutcome.optional(),
  fairness: FairnessOutcome.optional(),
  alertsOpened: z.array(z.string()),
  alertsResolved: z.array(z.string()),
  problems: z.array(z.string()),
});
export type VersionMonitoring = z.infer<typeof VersionMonitoring>;

/** The outcome of a run, on drift-computed (what `mlops drift run` waits for). */
export const DriftComputed = z.object({
  schemaVersion: z.literal(1),
  requestId: z.string().nullable(),
  status: z.enum(['succeeded', 'failed']),
  windowStart: z.string(),
  windowEnd: z.string(),
  versions: z.array(VersionMonitoring),
  seconds: z.number(),
  error: z.string().optional(),
});
export type DriftComputed = z.infer<typeof DriftComputed>;

/** A threshold crossed, on drift-alerts: sent once per model, version and feature until it recovers. */
export const DriftAlert = z.object({
  schemaVersion: z.literal(1),
  alertId: z.string(),
  model: z.string(),
  version: z.number().int(),
  feature: z.string(),
  method: z.string(),
  value: z.number(),
  threshold: z.number(),
  windowStart: z.string(),
  windowEnd: z.string(),
  reference: z.string(),
  referenceSize: z.number(),
  currentSize: z.number(),
  openedAt: z.string(),
  /** Where the model's report of the window opens in a browser; absent when the run writes no reports. */
  report: z.string().url().optional(),
});
export type DriftAlert = z.infer<typeof DriftAlert>;

/** The Slack-compatible webhook body for an alert: `{"text": ...}`, ending with the report's link when the alert has one. */
export function alertText(alert: DriftAlert): string {
  return alert.report ? `${alertSentence(alert)} Report: ${alert.report}` : alertSentence(alert);
}

function alertSentence(alert: DriftAlert): string {
  const window = `(window ${alert.windowStart} to ${alert.windowEnd}, ${alert.currentSize} rows; reference ${alert.reference}, ${alert.referenceSize} rows)`;
  const [family, subject] = familyOf(alert.feature);
  if (family === 'quality')
    return `:warning: Data quality in ${alert.model} v${alert.version}: feature "${subject}" — ${alert.method.replaceAll('_', ' ')} share ${round(alert.value)} is above ${alert.threshold} ${window}.`;
  if (family === 'attribution') {
    const what =
      subject === '__dataset__'
        ? `the ranking of feature importance — nDCG ${round(alert.value)} is below ${alert.threshold}`
        : `feature "${subject}" — its importance moved by ${round(alert.value)} of the reference's total, at or above ${alert.threshold}`;
    return `:warning: Attribution drift in ${alert.model} v${alert.version}: ${what} ${window}.`;
  }
  if (family === 'fairness') {
    const direction = alert.method === 'disparate_impact_ratio' ? 'below' : 'above';
    return `:warning: Fairness in ${alert.model} v${alert.version}: attribute "${subject}" — ${alert.method.replaceAll('_', ' ')} ${round(alert.value)} is ${direction} ${alert.threshold} ${window}.`;
  }
  const score = ['ks', 'chi_square', 'z_test'].includes(alert.method) ? 'p-value' : 'distance';
  const direction = score === 'p-value' ? 'below' : 'at or above';
  const feature = alert.feature === '__dataset__' ? 'the dataset (share of drifted features)' : `feature "${alert.feature}"`;
  return `:warning: Drift in ${alert.model} v${alert.version}: ${feature} — ${alert.method} ${score} ${round(alert.value)} is ${direction} ${alert.threshold} ${window}.`;
}

/** The family an alert's feature belongs to (`quality:age` is data quality on age), and its subject. */
function familyOf(feature: string): ['drift' | 'quality' | 'attribution' | 'fairness', string] {
  for (const family of ['quality', 'attribution', 'fairness'] as const) {
    if (feature.startsWith(ALERT_PREFIX[family])) return [family, feature.slice(ALERT_PREFIX[family].length)];
  }
  return ['drift', feature];
}

const round = (value: number): string => (Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(3));

/**
 * The window a run covers. A scheduled run ends at the top of the hour it was scheduled in (or,
 * from Cloud Scheduler, published in), so a redelivery recomputes the same window; a manual run ends
 * when it says, or now.
 */
export function requestedWindow(request: DriftRunRequested, { publishTime, now, defaultHours }: { publishTime?: string; now: Date; defaultHours: number }) {
  const hours = request.windowHours ?? defaultHours;
  if (request.windowEnd) return { windowEnd: new Date(request.windowEnd), windowHours: hours };
  if (request.trigger === 'manual') return { windowEnd: now, windowHours: hours };
  const scheduled = [request.scheduledTime, publishTime]
    .map((time) => (time ? new Date(time) : undefined))
    .find((time) => time && !Number.isNaN(time.getTime()));
  const at = scheduled ?? now;
  return { windowEnd: new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000), windowHours: hours };
}
