import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { PlatformError } from '../domain/errors.js';

/** The sha256 hex digest under which an API key is configured (keys are never stored in clear). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The key a request presents, from `Authorization: Bearer <key>` or `x-api-key`. */
export function presentedKey(headers: { get(name: string): string | null | undefined }): string | undefined {
  const bearer = /^Bearer\s+(.+)$/i.exec(headers.get('authorization') ?? '')?.[1];
  return bearer ?? headers.get('x-api-key') ?? undefined;
}

/**
 * Requires a configured API key when any are configured; with none, access is left to the
 * platform (IAM invoker on Google Cloud, loopback locally).
 */
export function requireApiKey(hashes: string[]): MiddlewareHandler {
  const check = apiKeyCheck(hashes);
  return async (c, next) => {
    check(c.req.raw.headers);
    return next();
  };
}

/**
 * The check {@link requireApiKey} makes, for a server that reads headers itself: throws AUTH.REQUIRED
 * unless the request presents one of the configured keys; with none configured it accepts every request.
 */
export function apiKeyCheck(hashes: string[]): (headers: { get(name: string): string | null | undefined }) => void {
  const expected = hashes.map((hash) => Buffer.from(hash, 'hex'));
  return (headers) => {
    if (expected.length === 0) return;
    const key = presentedKey(headers);
    const digest = key ? createHash('sha256').update(key).digest() : undefined;
    if (!digest || !expected.some((hash) => hash.length === digest.length && timingSafeEqual(hash, digest))) {
      throw new PlatformError('AUTH.REQUIRED', 'A valid API key is required: send it as "Authorization: Bearer <key>" or "x-api-key: <key>".');
    }
  };
}
