import type { IncomingHttpHeaders } from 'node:http';
import { stickyBucket } from '../../shared/domain/rollout.js';
import type { InputPlan } from '../../shared/domain/serving/input-plan.js';
import { type RolloutTarget, type StickyKey, bytesOf } from './rollout-settings.js';

/** How long the candidate may take and how a request without a key is drawn; `random` lets a test choose. */
export interface StickySplitOptions {
  timeoutMs?: number;
  random?: () => number;
}

/** The candidate's answer, passed to the client as it came. */
export interface CandidateAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Where the requests of a split went. */
export interface StickySplitStats {
  /** Answered by the candidate. */
  forwarded: number;
  /** Answered here: their key fell outside the candidate's share. */
  kept: number;
  /** Meant for the candidate, answered here because it could not be reached. */
  fallback: number;
}

// Headers of one hop, which a forwarded request gets anew (fetch sets its own length and host).
const NOT_FORWARDED = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer']);
// What a proxy answers when the revision behind it is down or not ready: the candidate is as good as unreachable.
const UNREACHABLE = new Set([502, 503, 504]);

/**
 * A sticky A/B split on the primary: a request whose sticky key falls in the candidate's share
 * (stickyBucket(key) < percent) is forwarded there and answered with the candidate's answer; the
 * same key always reaches the same version. A request without the key is drawn at random with the
 * same share. A candidate that cannot be reached never fails the client: the primary answers.
 */
export class StickySplit {
  readonly stats: StickySplitStats = { forwarded: 0, kept: 0, fallback: 0 };
  private readonly featureColumn: number;
  private readonly timeoutMs: number;
  private readonly random: () => number;

  constructor(
    private readonly target: RolloutTarget & { stickyKey?: StickyKey },
    plan: InputPlan,
    { timeoutMs = 10_000, random = Math.random }: StickySplitOptions = {},
  ) {
    const key = target.stickyKey;
    // An array instance holds the feature at its position in the plan, when the model names its features.
    this.featureColumn = key?.from === 'feature' ? plan.slots.findIndex((slot) => slot.name === key.name) : -1;
    this.timeoutMs = timeoutMs;
    this.random = random;
  }

  /** True when this request belongs to the candidate; counts the ones kept here. */
  takes(headers: IncomingHttpHeaders, body: unknown): boolean {
    const key = this.keyOf(headers, body);
    const taken = (key === undefined ? this.random() * 100 : stickyBucket(key)) < this.target.percent;
    if (!taken) this.stats.kept++;
    return taken;
  }

  /** The candidate's answer to the request, or undefined when it could not be reached (the caller answers then). */
  async forward(path: string, headers: IncomingHttpHeaders, body: Buffer): Promise<CandidateAnswer | undefined> {
    try {
      const response = await fetch(`${this.target.url}${path}`, {
        method: 'POST',
        headers: forwardedHeaders(headers),
        body: bytesOf(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const answer = {
        status: response.status,
        contentType: response.headers.get('content-type') ?? 'application/json',
        body: Buffer.from(await response.arrayBuffer()),
      };
      if (UNREACHABLE.has(answer.status)) return this.fellBack();
      this.stats.forwarded++;
      return answer;
    } catch {
      return this.fellBack();
    }
  }

  private fellBack(): undefined {
    this.stats.fallback++;
    return undefined;
  }

  private keyOf(headers: IncomingHttpHeaders, body: unknown): string | undefined {
    const key = this.target.stickyKey;
    if (!key) return undefined;
    if (key.from === 'header') return nonEmpty(headers[key.name]);
    const first = (body as { instances?: unknown[] } | null)?.instances?.[0];
    if (Array.isArray(first)) return this.featureColumn < 0 ? undefined : nonEmpty(first[this.featureColumn]);
    return typeof first === 'object' && first !== null ? nonEmpty((first as Record<string, unknown>)[key.name]) : undefined;
  }
}

/** A key's text: strings as they are, numbers and booleans as written; anything else is no key. */
function nonEmpty(value: unknown): string | undefined {
  if (Array.isArray(value)) return nonEmpty(value.join(', '));
  if (typeof value === 'string') return value === '' ? undefined : value;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}

function forwardedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const forwarded: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || NOT_FORWARDED.has(name) || name.startsWith('proxy-')) continue;
    forwarded[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return forwarded;
}
