import { describe, expect, it } from 'vitest';
import {
  type ArmComparison,
  abortRollout,
  applyDecision,
  DEFAULT_CRITERIA,
  describeRollout,
  judgeStep,
  parseDuration,
  pauseRollout,
  planRollout,
  type Rollout,
  type RolloutRequest,
  resumeRollout,
  type StepFigures,
  stickyBucket,
  trafficOf,
} from '../../../../shared/domain/rollout.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const MINUTE = 60_000;

function request(overrides: Partial<RolloutRequest> = {}): RolloutRequest {
  return {
    model: 'churn',
    candidate: 2,
    mode: 'canary',
    steps: [10, 50, 100],
    intervalMs: 10 * MINUTE,
    durationMs: null,
    stickyKey: null,
    criteria: { ...DEFAULT_CRITERIA, maxP99Ms: 100 },
    actor: 'alice',
    reason: 'try v2',
    requestId: 'r-1',
    ...overrides,
  };
}

const ready = { version: 2, status: 'ready' };
const plan = (overrides: Partial<RolloutRequest> = {}, production = 1, candidate: typeof ready | undefined = ready) =>
  planRollout(request(overrides), production, candidate, { id: 'ro-1', now: at(0) });

function figures({
  requests = 600,
  errors = 0,
  p99Ms = 20 as number | null,
  outputDrift = 0.02 as number | null,
  comparison = undefined as ArmComparison | undefined,
} = {}): StepFigures {
  return {
    from: at(0),
    to: at(10 * MINUTE),
    candidate: { version: 2, requests, errors, p99Ms },
    baseline: { version: 1, requests: requests * 9, errors: 0, p99Ms: 20 },
    outputDrift,
    ...(comparison ? { comparison } : {}),
  };
}

function comparison(verdict: ArmComparison['verdict']): ArmComparison {
  return {
    metric: 'accuracy',
    candidate: { n: 900, value: 0.91 },
    baseline: { n: 900, value: 0.86 },
    test: 'two-proportion z',
    statistic: 3.2,
    pValue: 0.0014,
    verdict,
  };
}

describe('planRollout', () => {
  it('plans a running rollout at its first step, from the production holder', () => {
    const rollout = plan();
    expect(rollout).toMatchObject({ id: 'ro-1', model: 'churn', mode: 'canary', baseline: 1, candidate: 2, state: 'running', stepIndex: 0, endedAt: null });
    expect(rollout.history).toEqual([{ index: 0, percent: 10, startedAt: at(0), endedAt: null, figures: null, verdict: null, reason: null }]);
  });

  it('refuses each impossible start with a message saying what to do', () => {
    const cases: [() => Rollout, string, RegExp][] = [
      [
        () => planRollout(request(), undefined, ready, { id: 'ro-1', now: at(0) }),
        'ROLLOUT.INVALID',
        /no production version to roll out from\. Promote one first: mlops promote churn <version> --to production/,
      ],
      [() => planRollout(request(), 1, undefined, { id: 'ro-1', now: at(0) }), 'REGISTRY.VERSION_NOT_FOUND', /has no version 2/],
      [() => plan({}, 1, { version: 2, status: 'rejected' }), 'REGISTRY.VERSION_NOT_READY', /is rejected; only a ready version/],
      [() => plan({}, 2), 'ROLLOUT.INVALID', /already holds production/],
      [() => plan({ steps: [] }), 'ROLLOUT.INVALID', /Every step must be a percentage in \(0, 100\]; got \[\]/],
      [() => plan({ steps: [0, 100] }), 'ROLLOUT.INVALID', /Every step must be a percentage/],
      [() => plan({ steps: [10, 101] }), 'ROLLOUT.INVALID', /Every step must be a percentage/],
      [() => plan({ steps: [50, 10] }), 'ROLLOUT.INVALID', /Canary steps must increase; got 50,10/],
      [() => plan({ steps: [10, 10] }), 'ROLLOUT.INVALID', /must increase/],
      [() => plan({ mode: 'shadow', steps: [50, 100], durationMs: MINUTE }), 'ROLLOUT.INVALID', /A shadow rollout takes one share/],
      [() => plan({ mode: 'split', steps: [100] }), 'ROLLOUT.INVALID', /must leave the baseline some traffic/],
      [
        () => plan({ mode: 'split', steps: [50], stickyKey: 'cookie:id' }),
        'ROLLOUT.INVALID',
        /--sticky-key "cookie:id" must be header:<name> or feature:<name>/,
      ],
      [
        () => plan({ mode: 'shadow', steps: [100], durationMs: MINUTE, stickyKey: 'header:x-user' }),
        'ROLLOUT.INVALID',
        /--sticky-key applies to canary and split/,
      ],
      [() => plan({ mode: 'shadow', steps: [100], durationMs: null }), 'ROLLOUT.INVALID', /needs a --duration/],
      [() => plan({ criteria: { ...DEFAULT_CRITERIA, maxErrorRate: 1.5 } }), 'ROLLOUT.INVALID', /--max-error-rate must be in \[0, 1\]; got 1.5/],
      [() => plan({ criteria: { ...DEFAULT_CRITERIA, minRequests: 0 } }), 'ROLLOUT.INVALID', /--min-requests must be a whole number/],
      [() => plan({ criteria: { ...DEFAULT_CRITERIA, minRequests: 2.5 } }), 'ROLLOUT.INVALID', /--min-requests must be a whole number/],
      [() => plan({ criteria: { ...DEFAULT_CRITERIA, maxP99Ms: 0 } }), 'ROLLOUT.INVALID', /--max-p99-ms must be positive/],
      [() => plan({ criteria: { ...DEFAULT_CRITERIA, maxOutputDrift: 2 } }), 'ROLLOUT.INVALID', /--max-output-drift must be in \[0, 1\]/],
    ];
    for (const [start, code, message] of cases) {
      const refusal = (() => {
        try {
          start();
        } catch (error) {
          return error as { code?: string; message?: string };
        }
      })();
      expect({ case: String(message), code: refusal?.code, message: refusal?.message }).toEqual({
        case: String(message),
        code,
        message: expect.stringMatching(message),
      });
    }
  });

  it('accepts header and feature sticky keys', () => {
    expect(plan({ mode: 'split', steps: [50], stickyKey: 'header:x-user-id' }).stickyKey).toBe('header:x-user-id');
    expect(plan({ mode: 'split', steps: [50], stickyKey: 'feature:customer_id' }).stickyKey).toBe('feature:customer_id');
  });
});

describe('trafficOf', () => {
  const alone = { primary: 1, routes: [], shadow: null, stickyKey: null };

  it('sends everything to production without an active rollout of it', () => {
    const rollout = plan();
    expect(trafficOf(1, undefined)).toEqual(alone);
    expect(trafficOf(1, abortRollout(rollout, { actor: 'alice', reason: '', now: at(1) }))).toEqual(alone);
    expect(trafficOf(3, rollout)).toEqual({ ...alone, primary: 3 });
  });

  it("routes a canary's step share to the candidate, and keeps it while paused", () => {
    const rollout = plan();
    expect(trafficOf(1, rollout)).toEqual({ ...alone, routes: [{ version: 2, percent: 10 }] });
    expect(trafficOf(1, pauseRollout(rollout, at(1)))).toEqual({ ...alone, routes: [{ version: 2, percent: 10 }] });
    const next = applyDecision(rollout, { kind: 'pass', why: 'fine' }, figures(), at(10 * MINUTE)).rollout;
    expect(trafficOf(1, next).routes).toEqual([{ version: 2, percent: 50 }]);
  });

  it('copies a shadow share, and splits sticky A/B traffic', () => {
    expect(trafficOf(1, plan({ mode: 'shadow', steps: [30], durationMs: MINUTE }))).toEqual({ ...alone, shadow: { version: 2, percent: 30 } });
    expect(trafficOf(1, plan({ mode: 'split', steps: [50], stickyKey: 'header:x-user-id' }))).toEqual({
      ...alone,
      routes: [{ version: 2, percent: 50 }],
      stickyKey: 'header:x-user-id',
    });
  });
});

describe('judgeStep', () => {
  const canary = plan();
  const end = 10 * MINUTE;

  it('fails on errors as soon as min(minRequests, 100) requests are seen, before the interval ends', () => {
    expect(judgeStep(canary, figures({ requests: 95, errors: 5 }), T0 + MINUTE)).toMatchObject({
      kind: 'fail',
      why: expect.stringMatching(/error rate 5\.0% \(5 of 100 requests\)/),
    });
    expect(judgeStep(canary, figures({ requests: 94, errors: 5 }), T0 + MINUTE).kind).toBe('wait');
    const few = plan({ criteria: { ...DEFAULT_CRITERIA, minRequests: 20 } });
    expect(judgeStep(few, figures({ requests: 19, errors: 1 }), T0 + MINUTE).kind).toBe('fail');
  });

  it('waits until the interval is over, then until the step has minRequests', () => {
    expect(judgeStep(canary, figures(), T0 + end - 1)).toEqual({ kind: 'wait', why: `the step runs until ${at(end)}` });
    expect(judgeStep(canary, figures({ requests: 499 }), T0 + end)).toEqual({ kind: 'wait', why: '499 of the 500 requests a step needs so far' });
    expect(judgeStep(canary, figures({ requests: 500 }), T0 + end)).toMatchObject({
      kind: 'pass',
      why: expect.stringMatching(/500 requests, error rate 0\.00%, p99 20\.0 ms, output drift 0\.020: within the criteria/),
    });
  });

  it('fails a step over the p99 or output drift limit, and skips a limit that is null or unmeasured', () => {
    expect(judgeStep(canary, figures({ p99Ms: 150 }), T0 + end)).toMatchObject({ kind: 'fail', why: 'p99 latency 150.0 ms is over the limit of 100 ms' });
    expect(judgeStep(canary, figures({ outputDrift: 0.3 }), T0 + end)).toMatchObject({
      kind: 'fail',
      why: expect.stringMatching(/drifted 0\.300 .* over the limit of 0\.1/),
    });
    expect(judgeStep(canary, figures({ p99Ms: null, outputDrift: null }), T0 + end).kind).toBe('pass');
    const lax = plan({ criteria: { ...DEFAULT_CRITERIA, maxP99Ms: null, maxOutputDrift: null } });
    expect(judgeStep(lax, figures({ p99Ms: 5000, outputDrift: 0.9 }), T0 + end).kind).toBe('pass');
  });

  it('passes a shadow when its duration is over, whatever its errors', () => {
    const shadow = plan({ mode: 'shadow', steps: [100], durationMs: 60 * MINUTE });
    expect(judgeStep(shadow, figures({ errors: 300 }), T0 + 59 * MINUTE).kind).toBe('wait');
    expect(judgeStep(shadow, figures({ requests: 10 }), T0 + 60 * MINUTE)).toEqual({ kind: 'pass', why: 'the shadow ran its 1h on 10 copied requests' });
  });

  it('ends a split on its comparison from ground truth, once its duration is over', () => {
    const split = plan({ mode: 'split', steps: [50], durationMs: 60 * MINUTE, stickyKey: 'header:x-user-id' });
    const after = T0 + 60 * MINUTE;
    expect(judgeStep(split, figures({ comparison: comparison('candidate better') }), after - 1).kind).toBe('wait');
    expect(judgeStep(split, figures({ comparison: comparison('candidate better') }), after)).toMatchObject({
      kind: 'pass',
      why: expect.stringMatching(/^candidate better: accuracy 0\.9100 \(n=900\).*p=0\.00140/),
    });
    expect(judgeStep(split, figures({ comparison: comparison('candidate worse') }), after).kind).toBe('fail');
    expect(judgeStep(split, figures({ comparison: comparison('not yet distinguishable') }), after).kind).toBe('fail');
    expect(judgeStep(split, figures(), after)).toEqual({ kind: 'fail', why: 'no ground truth arrived to compare the arms' });
    expect(judgeStep(split, figures({ requests: 100, errors: 10 }), T0 + MINUTE).kind).toBe('fail');
    // Arms of an A/B test are expected to answer differently: output drift does not end a split.
    expect(judgeStep(split, figures({ outputDrift: 0.9, comparison: comparison('candidate better') }), after).kind).toBe('pass');
    const open = plan({ mode: 'split', steps: [50], durationMs: null });
    expect(judgeStep(open, figures({ comparison: comparison('candidate better') }), T0 + 1000 * MINUTE)).toEqual({ kind: 'wait', why: 'runs until stopped' });
  });
});

describe('applyDecision', () => {
  const canary = plan();
  const end = at(10 * MINUTE);

  it('records the figures of a wait and changes nothing else', () => {
    const { rollout, effect } = applyDecision(canary, { kind: 'wait', why: 'not yet' }, figures(), end);
    expect(effect).toBe('none');
    expect(rollout).toMatchObject({ state: 'running', stepIndex: 0, updatedAt: end });
    expect(rollout.history).toEqual([{ ...canary.history[0], figures: figures() }]);
    expect(canary.history[0]!.figures).toBeNull();
  });

  it('advances a passed step, and promotes after the last', () => {
    let rollout = canary;
    const effects: string[] = [];
    for (const [index, now] of [at(10 * MINUTE), at(20 * MINUTE), at(30 * MINUTE)].entries()) {
      const result = applyDecision(rollout, { kind: 'pass', why: `step ${index} fine` }, figures(), now);
      effects.push(result.effect);
      rollout = result.rollout;
    }
    expect(effects).toEqual(['traffic', 'traffic', 'promote']);
    expect(rollout).toMatchObject({ state: 'promoted', stepIndex: 2, endedAt: at(30 * MINUTE), reason: 'every step passed (10% → 50% → 100%): step 2 fine' });
    expect(rollout.history.map((step) => [step.percent, step.startedAt, step.verdict])).toEqual([
      [10, at(0), 'passed'],
      [50, at(10 * MINUTE), 'passed'],
      [100, at(20 * MINUTE), 'passed'],
    ]);
  });

  it('rolls back on a failed step, with the reason', () => {
    const { rollout, effect } = applyDecision(canary, { kind: 'fail', why: 'error rate 5.0%' }, figures(), end);
    expect(effect).toBe('rollback');
    expect(rollout).toMatchObject({ state: 'rolled_back', endedAt: end, reason: 'step 1 (10%) failed: error rate 5.0%' });
    expect(rollout.history[0]).toMatchObject({ verdict: 'failed', reason: 'error rate 5.0%', endedAt: end });
  });

  it('completes a shadow, promotes a winning split, and leaves a rollout that is not running alone', () => {
    const shadow = plan({ mode: 'shadow', steps: [100], durationMs: MINUTE });
    expect(applyDecision(shadow, { kind: 'pass', why: 'ran' }, figures(), end)).toMatchObject({ effect: 'traffic', rollout: { state: 'completed' } });
    const split = plan({ mode: 'split', steps: [50], durationMs: MINUTE });
    expect(applyDecision(split, { kind: 'pass', why: 'better' }, figures(), end)).toMatchObject({ effect: 'promote', rollout: { state: 'promoted' } });
    const paused = pauseRollout(canary, at(1));
    expect(applyDecision(paused, { kind: 'pass', why: 'x' }, figures(), end)).toEqual({ rollout: paused, effect: 'none' });
  });
});

describe('pause, resume and abort', () => {
  const canary = plan();

  it('pauses a running rollout and resumes it with the step clock restarted', () => {
    const paused = pauseRollout(canary, at(MINUTE), 'carol');
    expect(paused).toMatchObject({ state: 'paused', updatedAt: at(MINUTE), changedBy: 'carol' });
    expect(() => pauseRollout(paused, at(2 * MINUTE))).toThrow(/Cannot pause rollout ro-1 of "churn": it is paused/);
    const resumed = resumeRollout(paused, at(5 * MINUTE));
    // Without an actor, the change is the starter's.
    expect(resumed).toMatchObject({ state: 'running', updatedAt: at(5 * MINUTE), changedBy: canary.actor });
    expect(applyDecision(resumed, { kind: 'pass', why: 'ok' }, figures(), at(20 * MINUTE)).rollout.changedBy).toBe('analyser');
    expect(resumed.history[0]!.startedAt).toBe(at(5 * MINUTE));
    expect(judgeStep(resumed, figures(), T0 + 14 * MINUTE).kind).toBe('wait');
    expect(() => resumeRollout(resumed, at(6 * MINUTE))).toThrow(
      expect.objectContaining({ code: 'ROLLOUT.INVALID', message: expect.stringMatching(/is running, not paused/) }),
    );
  });

  it('aborts a running or paused rollout, failing its step with who and why, and only once', () => {
    const aborted = abortRollout(canary, { actor: 'alice', reason: 'pager went off', now: at(MINUTE) });
    expect(aborted).toMatchObject({ state: 'aborted', reason: 'aborted by alice: pager went off', endedAt: at(MINUTE) });
    expect(aborted.history[0]).toMatchObject({ verdict: 'failed', reason: 'aborted by alice: pager went off', endedAt: at(MINUTE) });
    expect(abortRollout(pauseRollout(canary, at(1)), { actor: 'bob', reason: '', now: at(2) }).reason).toBe('aborted by bob');
    expect(() => abortRollout(aborted, { actor: 'alice', reason: '', now: at(2) })).toThrow(/Cannot abort rollout ro-1 of "churn": it is aborted/);
  });

  it('describes a rollout in one line', () => {
    expect(describeRollout(canary)).toBe('canary 1 → 2 at 10% (step 1 of 3), running');
    expect(describeRollout(abortRollout(canary, { actor: 'alice', reason: '', now: at(1) }))).toBe(
      'canary 1 → 2 at 10% (step 1 of 3), aborted: aborted by alice',
    );
  });
});

describe('parseDuration', () => {
  it('reads ms, s, m, h and d, and a bare number as seconds', () => {
    const cases: [string, number][] = [
      ['500ms', 500],
      ['30s', 30_000],
      ['10m', 600_000],
      ['1h', 3_600_000],
      ['1.5h', 5_400_000],
      ['2d', 172_800_000],
      ['90', 90_000],
      [' 5m ', 300_000],
    ];
    for (const [text, ms] of cases) expect([text, parseDuration(text)]).toEqual([text, ms]);
  });

  it('refuses what is not a positive duration, naming what it was for', () => {
    for (const text of ['', 'abc', '10x', '0s', '-5m', '1h30m', 'm']) {
      expect(() => parseDuration(text, '--interval')).toThrow(
        expect.objectContaining({ code: 'REQUEST.INVALID', message: `The --interval "${text}" is not a duration: write it as 30s, 10m, 1h or 2d.` }),
      );
    }
  });
});

describe('stickyBucket', () => {
  it('puts the same key in the same bucket, in [0, 100)', () => {
    expect(stickyBucket('user-42')).toBe(stickyBucket('user-42'));
    for (const key of ['', 'a', 'user-1', 'ünïcødé', 'x'.repeat(1000)]) {
      const bucket = stickyBucket(key);
      expect(Number.isInteger(bucket) && bucket >= 0 && bucket < 100).toBe(true);
    }
  });

  it('spreads 10,000 keys evenly: each percentile holds its share within 1.5 points', () => {
    const keys = Array.from({ length: 10_000 }, (_, index) => `user-${index}`);
    const buckets = keys.map(stickyBucket);
    const off: [number, number][] = [];
    for (let percent = 1; percent < 100; percent++) {
      const share = (100 * buckets.filter((bucket) => bucket < percent).length) / keys.length;
      if (Math.abs(share - percent) > 1.5) off.push([percent, share]);
    }
    expect(off).toEqual([]);
  });
});
