import { type ErrorCode, PlatformError } from '../../shared/domain/errors.js';
import type { CliContext } from './context.js';

type ErrorBody = { error?: string; code?: ErrorCode; rejected?: unknown };

/**
 * Calls a function of the platform over HTTP. An answer with a per-record report (a `rejected`
 * list) is returned even when its status refuses the whole batch, so the caller can print every
 * refused line; other `{error, code}` answers become PlatformErrors.
 */
export async function callFunction<T>(context: CliContext, name: string, path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (context.apiKey) headers.set('authorization', `Bearer ${context.apiKey}`);
  const url = `${context.functionUrl(name)}${path}`;
  const response = await fetch(url, { ...init, headers }).catch((error: Error) => {
    throw new PlatformError('CONFIG.INVALID', `Cannot reach ${url} (${error.message}). Is the platform running (npm start)?`, { permanent: false });
  });
  const payload = (await response.json().catch(() => ({}))) as T & ErrorBody;
  if (!response.ok && !Array.isArray(payload.rejected))
    throw new PlatformError(payload.code ?? 'EVENT.INVALID', payload.error ?? `${name} answered ${response.status}.`);
  return payload;
}
