import { randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import { z } from 'zod';
import { PlatformError } from '../../shared/domain/errors.js';
import { parseVersionNumber, validateModelName } from '../../shared/domain/names.js';
import {
  DEFAULT_CANARY_STEPS,
  DEFAULT_CRITERIA,
  DEFAULT_INTERVAL_MS,
  DEFAULT_SHADOW_DURATION_MS,
  parseDuration,
  type RolloutMode,
  type RolloutRequest,
} from '../../shared/domain/rollout.js';
import type { PromotionPolicy } from '../../shared/domain/registry.js';
import { readRequestBody } from '../../shared/http/json.js';
import type { EventBus } from '../../shared/ports/event-bus.port.js';
import type { ModelRegistry } from '../../shared/ports/model-registry.port.js';
import { abortRollout, getRollouts, pauseRollout, type RolloutDeps, resumeRollout, startRollout } from '../../shared/services/rollouts.js';

/** A duration as `30s`, `10m`, `1h` or a number of milliseconds. */
const Duration = z.union([z.number(), z.string().max(40)]);

// Strict: a misspelt criterion (maxErrorrate) must be refused, not silently replaced by its default.
const StartBody = z
  .object({
    candidate: z.union([z.number(), z.string().max(20)]),
    mode: z.enum(['canary', 'shadow', 'split']).default('canary'),
    steps: z.array(z.number()).min(1).max(20).optional(),
    interval: Duration.optional(),
    duration: Duration.nullable().optional(),
    stickyKey: z.string().max(200).nullable().default(null),
    maxErrorRate: z.number().default(DEFAULT_CRITERIA.maxErrorRate),
    maxP99Ms: z.number().nullable().default(DEFAULT_CRITERIA.maxP99Ms),
    maxOutputDrift: z.number().nullable().default(DEFAULT_CRITERIA.maxOutputDrift),
    minRequests: z.number().default(DEFAULT_CRITERIA.minRequests),
    reason: z.string().max(1000).default(''),
    requestId: z.string().min(1).max(200).optional(),
  })
  .strict();
type StartBody = z.infer<typeof StartBody>;

const StopBody = z.object({ reason: z.string().max(1000).default('') });

/** Each mode's shares when the body names none: a canary's default steps, a full shadow copy, an even split. */
const DEFAULT_STEPS: Record<RolloutMode, number[]> = { canary: DEFAULT_CANARY_STEPS, shadow: [100], split: [50] };

/** What the rollout routes are built from: the registry API's own ports and policy. */
export interface RolloutRoutesOptions {
  registry: () => Promise<ModelRegistry>;
  bus: () => EventBus;
  policy: PromotionPolicy;
}

/** The rollout routes of the registry API: start, read, pause, resume and abort a model's rollout. */
export function addRolloutRoutes(app: Hono, { registry, bus, policy }: RolloutRoutesOptions): void {
  const deps = async (): Promise<RolloutDeps> => ({ registry: await registry(), bus: bus(), policy });
  app.post('/models/:name/rollouts', async (c) => {
    const body = await readRequestBody(c.req.raw, StartBody, 'rollout');
    const requestId = body.requestId ?? c.req.header('idempotency-key') ?? randomUUID();
    const request = rolloutRequest(validateModelName(c.req.param('name')), body, { actor: actorOf(c.req.raw.headers), requestId });
    const started = await startRollout(request, await deps());
    return c.json(started, started.created ? 201 : 200);
  });
  app.get('/models/:name/rollouts', async (c) => c.json(await getRollouts(validateModelName(c.req.param('name')), await deps())));
  const stops = { pause: pauseRollout, resume: resumeRollout, abort: abortRollout };
  for (const [verb, stop] of Object.entries(stops)) {
    app.post(`/models/:name/rollouts/current/${verb}`, async (c) => {
      const { reason } = await readRequestBody(c.req.raw, StopBody, verb);
      const rollout = await stop(validateModelName(c.req.param('name')), { actor: actorOf(c.req.raw.headers), reason }, await deps());
      return c.json({ rollout });
    });
  }
}

/** The start body as the domain reads it: defaults filled in per mode, durations in milliseconds. */
export function rolloutRequest(model: string, body: StartBody, { actor, requestId }: { actor: string; requestId: string }): RolloutRequest {
  const durationMs =
    body.duration === null
      ? null
      : body.duration !== undefined
        ? milliseconds(body.duration, 'duration')
        : body.mode === 'shadow'
          ? DEFAULT_SHADOW_DURATION_MS
          : null;
  return {
    model,
    candidate: parseVersionNumber(body.candidate),
    mode: body.mode,
    steps: body.steps ?? DEFAULT_STEPS[body.mode],
    intervalMs: body.interval === undefined ? DEFAULT_INTERVAL_MS : milliseconds(body.interval, 'interval'),
    durationMs,
    stickyKey: body.stickyKey,
    criteria: { maxErrorRate: body.maxErrorRate, maxP99Ms: body.maxP99Ms, maxOutputDrift: body.maxOutputDrift, minRequests: body.minRequests },
    actor,
    reason: body.reason,
    requestId,
  };
}

function milliseconds(value: string | number, what: string): number {
  if (typeof value === 'string') return parseDuration(value, what);
  if (!(Number.isFinite(value) && value > 0)) {
    throw new PlatformError(
      'REQUEST.INVALID',
      `The ${what} ${value} is not a duration: give a positive number of milliseconds, or text such as 30s, 10m or 1h.`,
    );
  }
  return value;
}

/** Who asked, as the CLI and other callers say in x-mlops-actor. */
export function actorOf(headers: Headers): string {
  return (headers.get('x-mlops-actor') ?? 'api').slice(0, 200);
}
