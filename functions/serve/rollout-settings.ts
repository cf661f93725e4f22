import { INTERNAL_ENV } from '../../shared/config/env.js';
import { PlatformError } from '../../shared/domain/errors.js';

/** What keeps a client on one arm of a split: a request header, or a feature of the request's first instance. */
export interface StickyKey {
  from: 'header' | 'feature';
  name: string;
}

/** A share of requests and where it goes. */
export interface RolloutTarget {
  url: string;
  /** Percent of requests, in (0, 100]. */
  percent: number;
}

/**
 * A serving revision's part in a rollout, set by the serving deployer (see INTERNAL_ENV): a shadow
 * logs copies of production's requests; a primary may mirror a share to a shadow, or forward a
 * sticky share to a candidate. Without any of these variables it is a plain primary.
 */
export interface RolloutSettings {
  role: 'primary' | 'shadow';
  shadow?: RolloutTarget;
  split?: RolloutTarget & { stickyKey?: StickyKey };
}

type Env = Record<string, string | undefined>;

const STICKY_KEY = /^(header|feature):([A-Za-z0-9_.-]{1,100})$/;

function invalid(variable: string, raw: string, expected: string): PlatformError {
  return new PlatformError('CONFIG.INVALID', `${variable}=${JSON.stringify(raw)} is invalid: expected ${expected}.`, { details: { variable } });
}

function readUrl(env: Env, variable: string): string {
  const raw = env[variable]!.trim();
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    throw invalid(variable, raw, 'an http(s) URL of a serving revision, such as https://churn-v4-abc.a.run.app');
  }
  return url.href.replace(/\/+$/, '');
}

function readPercent(env: Env, variable: string): number {
  const raw = env[variable]?.trim() ?? '';
  const percent = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(percent > 0 && percent <= 100)) throw invalid(variable, raw, 'a percentage greater than 0 and at most 100, such as 10 or 12.5');
  return percent;
}

function readStickyKey(env: Env): StickyKey | undefined {
  const raw = env[INTERNAL_ENV.stickyKey]?.trim();
  if (!raw) return undefined;
  const match = STICKY_KEY.exec(raw);
  if (!match) throw invalid(INTERNAL_ENV.stickyKey, raw, '"header:<name>" or "feature:<name>" (letters, digits, _ . -)');
  const from = match[1] as StickyKey['from'];
  // Node lower-cases the names of the headers it reads.
  return { from, name: from === 'header' ? match[2]!.toLowerCase() : match[2]! };
}

/** A URL and its percentage, both or neither: one without the other is a deployer's mistake worth stopping for. */
function readTarget(env: Env, urlVariable: string, percentVariable: string): RolloutTarget | undefined {
  const hasUrl = Boolean(env[urlVariable]?.trim());
  const hasPercent = Boolean(env[percentVariable]?.trim());
  if (!hasUrl && !hasPercent) return undefined;
  if (!hasUrl || !hasPercent) {
    const [missing, set] = hasUrl ? [percentVariable, urlVariable] : [urlVariable, percentVariable];
    throw new PlatformError('CONFIG.INVALID', `${set} is set but ${missing} is not: set both, or neither.`, { details: { variable: missing } });
  }
  return { url: readUrl(env, urlVariable), percent: readPercent(env, percentVariable) };
}

/**
 * Reads a serving revision's rollout settings, once, at cold start. Pure: tests pass their own env.
 * Throws CONFIG.INVALID naming the variable and what it expects.
 */
export function parseRolloutSettings(env: Env): RolloutSettings {
  const rawRole = env[INTERNAL_ENV.serveRole]?.trim() || 'primary';
  if (rawRole !== 'primary' && rawRole !== 'shadow') throw invalid(INTERNAL_ENV.serveRole, rawRole, '"primary" or "shadow"');
  const shadow = readTarget(env, INTERNAL_ENV.shadowUrl, INTERNAL_ENV.shadowPercent);
  const split = readTarget(env, INTERNAL_ENV.splitUrl, INTERNAL_ENV.splitPercent);
  const stickyKey = readStickyKey(env);
  if (rawRole === 'shadow' && (shadow || split)) {
    throw new PlatformError(
      'CONFIG.INVALID',
      `A shadow revision (${INTERNAL_ENV.serveRole}=shadow) neither mirrors nor splits: unset the shadow and split variables.`,
      {
        details: { variable: INTERNAL_ENV.serveRole },
      },
    );
  }
  // A sticky key without a split is left unused: the deployer may set it on every revision of a rollout.
  return { role: rawRole, ...(shadow && { shadow }), ...(split && { split: { ...split, ...(stickyKey && { stickyKey }) } }) };
}

/** A Buffer as the bytes fetch takes for a body, without a copy. */
export function bytesOf(buffer: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength);
}
