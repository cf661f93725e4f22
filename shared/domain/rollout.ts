import { PlatformError } from './errors.js';

/**
 * Online experiments. A rollout moves a model's traffic from the version production holds (the
 * baseline) to a candidate in analysed steps, and ends by itself:
 * - canary: the candidate takes each step's share of requests; a step passes when its interval is over,
 *   it has enough requests and its figures are within the criteria; passing the last step promotes the
 *   candidate, failing any step sends all traffic back.
 * - shadow: the candidate gets a copy of a share of production's requests; clients only see production's
 *   answers. It runs for its duration and completes, promoting nothing: `mlops rollout compare` reads it.
 * - split: an A/B test with a fixed share and sticky assignment; when its duration ends the candidate is
 *   promoted if it is significantly better from ground truth, else traffic goes back to the baseline.
 * Everything here is pure: the registry stores rollouts, serving follows `trafficOf`, the analyser
 * feeds `judgeStep` with figures from the warehouse.
 */
export type RolloutMode = 'canary' | 'shadow' | 'split';

/** running and paused hold traffic; the rest are ended. */
export type RolloutState = 'running' | 'paused' | 'promoted' | 'rolled_back' | 'completed' | 'aborted';

/** When a step fails. A null limit is not checked. */
export interface RolloutCriteria {
  /** Share of the candidate's requests refused (4xx other than auth) or failed (5xx) above which a step fails. */
  maxErrorRate: number;
  maxP99Ms: number | null;
  /** Largest output drift of the candidate's answers against the baseline's over the same step (Jensen-Shannon distance). */
  maxOutputDrift: number | null;
  /** Requests the candidate must have answered in a step before it is judged (errors are judged sooner). */
  minRequests: number;
}

export const DEFAULT_CRITERIA: RolloutCriteria = { maxErrorRate: 0.01, maxP99Ms: null, maxOutputDrift: 0.1, minRequests: 500 };
export const DEFAULT_CANARY_STEPS = [10, 50, 100];
export const DEFAULT_INTERVAL_MS = 10 * 60_000;
export const DEFAULT_SHADOW_DURATION_MS = 60 * 60_000;

/** What starting a rollout asks for (the API's body, with durations already in milliseconds). */
export interface RolloutRequest {
  model: string;
  candidate: number;
  mode: RolloutMode;
  /** canary: the candidate's share at each step, increasing, in (0, 100]; shadow: [copied share]; split: [candidate's share]. */
  steps: number[];
  intervalMs: number;
  /** shadow and split: how long it runs; null runs a split until it is stopped. */
  durationMs: number | null;
  /** split: a request header (`header:x-user-id`) or feature (`feature:customer_id`) whose value keeps a client on one arm. */
  stickyKey: string | null;
  criteria: RolloutCriteria;
  actor: string;
  reason: string;
  /** Idempotency key: the same start delivered twice starts one rollout. */
  requestId: string;
}

/** One arm's figures over a step, from the warehouse. */
export interface ArmFigures {
  version: number;
  /** Answered requests (predictions logged by the arm, by request). */
  requests: number;
  /** Refused (4xx other than auth) and failed (5xx) requests. */
  errors: number;
  p99Ms: number | null;
}

/** What the analyser measured over one step. */
export interface StepFigures {
  from: string;
  to: string;
  candidate: ArmFigures;
  baseline: ArmFigures;
  /** Jensen-Shannon distance of the candidate's outputs against the baseline's over the step; null when either had none. */
  outputDrift: number | null;
  /** split: the comparison from ground truth, when any arrived. */
  comparison?: ArmComparison | null;
}

/** A/B comparison of two arms from ground truth. */
export interface ArmComparison {
  metric: 'accuracy' | 'mean_absolute_error';
  candidate: { n: number; value: number };
  baseline: { n: number; value: number };
  test: 'two-proportion z' | "Welch's t";
  statistic: number;
  pValue: number;
  verdict: 'candidate better' | 'candidate worse' | 'not yet distinguishable';
}

/** One step as it ran. */
export interface RolloutStep {
  index: number;
  percent: number;
  startedAt: string;
  endedAt: string | null;
  figures: StepFigures | null;
  verdict: 'passed' | 'failed' | null;
  reason: string | null;
}

/** A rollout as the registry stores it. */
export interface Rollout {
  id: string;
  model: string;
  mode: RolloutMode;
  baseline: number;
  candidate: number;
  steps: number[];
  intervalMs: number;
  durationMs: number | null;
  stickyKey: string | null;
  criteria: RolloutCriteria;
  state: RolloutState;
  /** The step under way (or the last one, once ended). */
  stepIndex: number;
  history: RolloutStep[];
  actor: string;
  /** Who made the latest change (a pause, resume, abort, or `analyser` for a step); the audit trail names them. */
  changedBy?: string;
  /** Why it started, and once ended why it ended. */
  reason: string;
  requestId: string;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
}

/** Where a model's requests go: the serving deployer makes it so, on Cloud Run or behind the local stable URL. */
export interface Traffic {
  /** The version production holds: it answers whatever share is not routed elsewhere. */
  primary: number;
  /** Versions other than the primary with the share of requests they answer (percent). */
  routes: { version: number; percent: number }[];
  /** A version receiving a copy of this share of the primary's requests; its answers never reach clients. */
  shadow: { version: number; percent: number } | null;
  /** How a client is kept on one route (see RolloutRequest.stickyKey); null: each request is drawn independently. */
  stickyKey: string | null;
}

/** What the analyser decided for the step under way. */
export type StepDecision = { kind: 'wait'; why: string } | { kind: 'pass'; why: string } | { kind: 'fail'; why: string };

/** What the registry must do after a rollout changed. */
export type RolloutEffect = 'none' | 'traffic' | 'promote' | 'rollback';

const STICKY_KEY = /^(header:[A-Za-z0-9-]{1,100}|feature:[A-Za-z0-9_.-]{1,100})$/;

/** Who the audit trail names for the analyser's changes. */
export const ANALYSER = 'analyser';

/** The header a primary sends its shadow copies with: the comma-separated prediction ids of its own answer. */
export const SHADOW_OF_HEADER = 'x-mlops-shadow-of';

/**
 * A sticky key's bucket in [0, 100): the same value always lands in the same bucket, so a client
 * with a given key always reaches the same arm (bucket < candidate's percent: the candidate).
 * FNV-1a over the value's UTF-16 code units.
 */
export function stickyBucket(value: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < value.length; index++) {
    hash ^= value.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 100;
}

/** True while a rollout holds traffic. */
export function isActive(rollout: Pick<Rollout, 'state'>): boolean {
  return rollout.state === 'running' || rollout.state === 'paused';
}

/** `30s`, `10m`, `1h`, `2d` (or a bare number of seconds) to milliseconds. */
export function parseDuration(text: string, what = 'duration'): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const value = match ? Number(match[1]) * unit[(match[2] ?? 's') as keyof typeof unit] : Number.NaN;
  if (!Number.isFinite(value) || value <= 0) {
    throw new PlatformError('REQUEST.INVALID', `The ${what} "${text}" is not a duration: write it as 30s, 10m, 1h or 2d.`);
  }
  return value;
}

/** Validates a start request against the model's production holder and the candidate, and returns the new rollout. */
export function planRollout(
  request: RolloutRequest,
  production: number | undefined,
  candidate: { version: number; status: string } | undefined,
  { id, now }: { id: string; now: string },
): Rollout {
  const refuse = (message: string) => new PlatformError('ROLLOUT.INVALID', message);
  if (production === undefined) {
    throw refuse(`"${request.model}" has no production version to roll out from. Promote one first: mlops promote ${request.model} <version> --to production`);
  }
  if (!candidate) throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Model "${request.model}" has no version ${request.candidate}.`);
  if (candidate.status !== 'ready')
    throw new PlatformError(
      'REGISTRY.VERSION_NOT_READY',
      `Version ${candidate.version} of "${request.model}" is ${candidate.status}; only a ready version can be rolled out.`,
    );
  if (candidate.version === production) throw refuse(`Version ${candidate.version} already holds production for "${request.model}": roll out another version.`);
  const { steps, mode } = request;
  if (steps.length === 0 || steps.some((step) => !Number.isFinite(step) || step <= 0 || step > 100)) {
    throw refuse(`Every step must be a percentage in (0, 100]; got ${JSON.stringify(steps)}.`);
  }
  if (mode === 'canary' && steps.some((step, index) => index > 0 && step <= steps[index - 1]!)) {
    throw refuse(`Canary steps must increase; got ${steps.join(',')}.`);
  }
  if (mode !== 'canary' && steps.length !== 1) throw refuse(`A ${mode} rollout takes one share (--percent or --split), got ${steps.length}.`);
  if (mode === 'split' && steps[0]! >= 100) throw refuse('An A/B split must leave the baseline some traffic: --split below 100.');
  if (request.stickyKey !== null && !STICKY_KEY.test(request.stickyKey)) {
    throw refuse(`--sticky-key "${request.stickyKey}" must be header:<name> or feature:<name>.`);
  }
  if (request.stickyKey !== null && mode === 'shadow') throw refuse('A shadow rollout copies requests; --sticky-key applies to canary and split.');
  if (mode === 'shadow' && request.durationMs === null) throw refuse('A shadow rollout needs a --duration.');
  const { criteria } = request;
  if (!(criteria.maxErrorRate >= 0 && criteria.maxErrorRate <= 1)) throw refuse(`--max-error-rate must be in [0, 1]; got ${criteria.maxErrorRate}.`);
  if (!(Number.isInteger(criteria.minRequests) && criteria.minRequests >= 1))
    throw refuse(`--min-requests must be a whole number ≥ 1; got ${criteria.minRequests}.`);
  if (criteria.maxP99Ms !== null && !(criteria.maxP99Ms > 0)) throw refuse(`--max-p99-ms must be positive; got ${criteria.maxP99Ms}.`);
  if (criteria.maxOutputDrift !== null && !(criteria.maxOutputDrift >= 0 && criteria.maxOutputDrift <= 1)) {
    throw refuse(`--max-output-drift must be in [0, 1]; got ${criteria.maxOutputDrift}.`);
  }
  return {
    id,
    model: request.model,
    mode,
    baseline: production,
    candidate: candidate.version,
    steps: [...steps],
    intervalMs: request.intervalMs,
    durationMs: request.durationMs,
    stickyKey: request.stickyKey,
    criteria: { ...criteria },
    state: 'running',
    stepIndex: 0,
    history: [{ index: 0, percent: steps[0]!, startedAt: now, endedAt: null, figures: null, verdict: null, reason: null }],
    actor: request.actor,
    reason: request.reason,
    requestId: request.requestId,
    createdAt: now,
    updatedAt: now,
    endedAt: null,
  };
}

/** Where requests go: production alone, or as the active rollout's step says (a paused one keeps its share). */
export function trafficOf(production: number, rollout: Rollout | undefined): Traffic {
  const alone: Traffic = { primary: production, routes: [], shadow: null, stickyKey: null };
  if (!rollout || !isActive(rollout) || rollout.baseline !== production) return alone;
  const percent = rollout.steps[rollout.stepIndex]!;
  if (rollout.mode === 'shadow') return { ...alone, shadow: { version: rollout.candidate, percent } };
  return { ...alone, routes: [{ version: rollout.candidate, percent }], stickyKey: rollout.stickyKey };
}

/** The end of the step under way: its interval (canary) or the rollout's duration (shadow, split). */
export function stepEndsAt(rollout: Rollout): number | null {
  const step = rollout.history[rollout.stepIndex]!;
  if (rollout.mode === 'canary') return Date.parse(step.startedAt) + rollout.intervalMs;
  return rollout.durationMs === null ? null : Date.parse(rollout.createdAt) + rollout.durationMs;
}

/**
 * Judges the step under way. Errors over the limit fail a step as soon as the candidate has answered
 * enough requests to count (min(minRequests, 100)); the rest is judged once the step's time is over and
 * it has `minRequests`. A split ends on its comparison; a shadow passes when its duration is over.
 */
export function judgeStep(rollout: Rollout, figures: StepFigures, now: number): StepDecision {
  const { criteria } = rollout;
  const { candidate } = figures;
  const seen = candidate.requests + candidate.errors;
  const errorRate = seen === 0 ? 0 : candidate.errors / seen;
  const enoughForErrors = seen >= Math.min(criteria.minRequests, 100);
  if (rollout.mode !== 'shadow' && enoughForErrors && errorRate > criteria.maxErrorRate) {
    return {
      kind: 'fail',
      why: `error rate ${formatShare(errorRate)} (${candidate.errors} of ${seen} requests) is over the limit of ${formatShare(criteria.maxErrorRate)}`,
    };
  }
  const endsAt = stepEndsAt(rollout);
  if (endsAt === null || now < endsAt)
    return { kind: 'wait', why: endsAt === null ? 'runs until stopped' : `the step runs until ${new Date(endsAt).toISOString()}` };
  if (rollout.mode === 'shadow')
    return { kind: 'pass', why: `the shadow ran its ${formatDuration(rollout.durationMs ?? 0)} on ${candidate.requests} copied requests` };
  if (candidate.requests < criteria.minRequests) {
    return { kind: 'wait', why: `${candidate.requests} of the ${criteria.minRequests} requests a step needs so far` };
  }
  if (criteria.maxP99Ms !== null && candidate.p99Ms !== null && candidate.p99Ms > criteria.maxP99Ms) {
    return { kind: 'fail', why: `p99 latency ${candidate.p99Ms.toFixed(1)} ms is over the limit of ${criteria.maxP99Ms} ms` };
  }
  // A canary is meant to answer like production; an A/B split is expected to differ, and is judged on ground truth.
  if (rollout.mode === 'canary' && criteria.maxOutputDrift !== null && figures.outputDrift !== null && figures.outputDrift > criteria.maxOutputDrift) {
    return {
      kind: 'fail',
      why: `the candidate's outputs drifted ${figures.outputDrift.toFixed(3)} from the baseline's (Jensen-Shannon), over the limit of ${criteria.maxOutputDrift}`,
    };
  }
  if (rollout.mode === 'split') {
    const comparison = figures.comparison;
    if (comparison?.verdict === 'candidate better') return { kind: 'pass', why: describeComparison(comparison) };
    return { kind: 'fail', why: comparison ? describeComparison(comparison) : 'no ground truth arrived to compare the arms' };
  }
  const p99 = candidate.p99Ms === null ? '' : `, p99 ${candidate.p99Ms.toFixed(1)} ms`;
  const drift = figures.outputDrift === null ? '' : `, output drift ${figures.outputDrift.toFixed(3)}`;
  return { kind: 'pass', why: `${candidate.requests} requests, error rate ${formatShare(errorRate)}${p99}${drift}: within the criteria` };
}

/**
 * The rollout after a decision on its step under way, and what the registry must do about it: a passed
 * step moves to the next (traffic) or, past the last, promotes the candidate (a shadow completes); a
 * failed one rolls back. Waiting records the figures and changes nothing else.
 */
export function applyDecision(rollout: Rollout, decision: StepDecision, figures: StepFigures, now: string): { rollout: Rollout; effect: RolloutEffect } {
  if (rollout.state !== 'running') return { rollout, effect: 'none' };
  const history = rollout.history.map((step) => ({ ...step }));
  const step = history[rollout.stepIndex]!;
  step.figures = figures;
  if (decision.kind === 'wait') return { rollout: { ...rollout, history, updatedAt: now, changedBy: ANALYSER }, effect: 'none' };
  step.endedAt = now;
  step.verdict = decision.kind === 'pass' ? 'passed' : 'failed';
  step.reason = decision.why;
  const ended = (state: RolloutState, reason: string, effect: RolloutEffect) => ({
    rollout: { ...rollout, history, state, reason, updatedAt: now, endedAt: now, changedBy: ANALYSER },
    effect,
  });
  if (decision.kind === 'fail') return ended('rolled_back', `step ${rollout.stepIndex + 1} (${step.percent}%) failed: ${decision.why}`, 'rollback');
  if (rollout.mode === 'shadow') return ended('completed', `shadow completed: ${decision.why}`, 'traffic');
  const next = rollout.stepIndex + 1;
  if (next >= rollout.steps.length) {
    return ended('promoted', `every step passed (${rollout.steps.join('% → ')}%): ${decision.why}`, 'promote');
  }
  history.push({ index: next, percent: rollout.steps[next]!, startedAt: now, endedAt: null, figures: null, verdict: null, reason: null });
  return { rollout: { ...rollout, history, stepIndex: next, updatedAt: now, changedBy: ANALYSER }, effect: 'traffic' };
}

/** Pause keeps the share where it is and stops the analysis from advancing; resume restarts the step's clock. */
export function pauseRollout(rollout: Rollout, now: string, actor = rollout.actor): Rollout {
  if (rollout.state !== 'running') throw notActive(rollout, 'pause');
  return { ...rollout, state: 'paused', updatedAt: now, changedBy: actor };
}

export function resumeRollout(rollout: Rollout, now: string, actor = rollout.actor): Rollout {
  if (rollout.state !== 'paused') throw new PlatformError('ROLLOUT.INVALID', `Rollout ${rollout.id} of "${rollout.model}" is ${rollout.state}, not paused.`);
  const history = rollout.history.map((step, index) => (index === rollout.stepIndex ? { ...step, startedAt: now } : step));
  return { ...rollout, state: 'running', history, updatedAt: now, changedBy: actor };
}

/** Sends all traffic back to the baseline at once. */
export function abortRollout(rollout: Rollout, { actor, reason, now }: { actor: string; reason: string; now: string }): Rollout {
  if (!isActive(rollout)) throw notActive(rollout, 'abort');
  const why = `aborted by ${actor}${reason ? `: ${reason}` : ''}`;
  const history = rollout.history.map((step, index) =>
    index === rollout.stepIndex && step.endedAt === null ? { ...step, endedAt: now, verdict: 'failed' as const, reason: why } : step,
  );
  return { ...rollout, state: 'aborted', reason: why, history, updatedAt: now, endedAt: now, changedBy: actor };
}

/** One line per rollout for people: `canary 1 → 2 at 50% (step 2 of 3), running`. */
export function describeRollout(rollout: Rollout): string {
  const share = rollout.steps[rollout.stepIndex];
  const where = rollout.mode === 'canary' ? ` (step ${rollout.stepIndex + 1} of ${rollout.steps.length})` : '';
  return `${rollout.mode} ${rollout.baseline} → ${rollout.candidate} at ${share}%${where}, ${rollout.state.replace('_', ' ')}${isActive(rollout) ? '' : `: ${rollout.reason}`}`;
}

function describeComparison(comparison: ArmComparison): string {
  const metric = comparison.metric.replaceAll('_', ' ');
  return `${comparison.verdict}: ${metric} ${comparison.candidate.value.toFixed(4)} (n=${comparison.candidate.n}) against ${comparison.baseline.value.toFixed(4)} (n=${comparison.baseline.n}), ${comparison.test} p=${comparison.pValue.toPrecision(3)}`;
}

function notActive(rollout: Rollout, what: string): PlatformError {
  return new PlatformError('ROLLOUT.INVALID', `Cannot ${what} rollout ${rollout.id} of "${rollout.model}": it is ${rollout.state.replace('_', ' ')}.`);
}

function formatShare(share: number): string {
  return `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`;
}

function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
