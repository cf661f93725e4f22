import { type ErrorCode, PlatformError } from '../../shared/domain/errors.js';
import type { CliContext } from './context.js';

type ErrorBody = { error?: unknown; code?: unknown; details?: unknown; rejected?: unknown };

/** What a call takes: fetch's options, plus how long to wait for the whole answer. */
export type CallOptions = RequestInit & { duplex?: 'half'; timeoutMs?: number };

/** Long enough for a large features file to stream in; a hung server is still given up on. */
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/** undici's own timeouts, which reach the caller as a `fetch failed` with this cause. */
const UNDICI_TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * What a status alone says when the answer has no `{error, code}` body: a proxy or the platform's
 * front end answered (a 413 for a body over its limit, a 403 from IAM), not the function.
 */
const CODE_BY_BARE_STATUS: Record<number, ErrorCode> = {
  401: 'AUTH.REQUIRED',
  403: 'AUTH.REQUIRED',
  404: 'REQUEST.NOT_FOUND',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
};

/**
 * Calls a function of the platform over HTTP. An answer with a per-record report (a `rejected`
 * list) is returned even when its status refuses the whole batch, so the caller can print every
 * refused line; other `{error, code}` answers become PlatformErrors with the server's code.
 * No answer in time is CLI.TIMEOUT; an answer that is not the platform's JSON is CLI.UNEXPECTED_RESPONSE.
 */
export async function callFunction<T>(
  context: CliContext,
  name: string,
  path: string,
  { timeoutMs = DEFAULT_TIMEOUT_MS, ...init }: CallOptions = {},
): Promise<T> {
  const headers = new Headers(init.headers);
  if (context.apiKey) headers.set('authorization', `Bearer ${context.apiKey}`);
  const url = `${context.functionUrl(name)}${path}`;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { ...init, headers, signal });
    text = await response.text();
  } catch (error) {
    throw callFailure(error as Error, url, timeoutMs);
  }
  return readAnswer<T>(name, response, text);
}

function callFailure(error: Error, url: string, timeoutMs: number): PlatformError {
  const cause = (error.cause as { code?: string } | undefined)?.code;
  if (error.name === 'TimeoutError' || (cause !== undefined && UNDICI_TIMEOUTS.has(cause))) {
    return new PlatformError('CLI.TIMEOUT', `No answer from ${url} within ${timeoutMs / 1000} s; the request may still finish.`, {
      permanent: false,
      cause: error,
    });
  }
  return new PlatformError('CONFIG.INVALID', `Cannot reach ${url} (${error.message}). Is the platform running (npm start)?`, {
    permanent: false,
    cause: error,
  });
}

/** The answer's JSON, or the PlatformError it stands for. */
function readAnswer<T>(name: string, response: Response, text: string): T {
  const payload = parseObject(text);
  if (!payload) {
    const code = response.ok ? undefined : CODE_BY_BARE_STATUS[response.status];
    const shown = text.trim() === '' ? 'an empty body' : `${JSON.stringify(text.slice(0, 200))}${text.length > 200 ? '...' : ''}`;
    throw new PlatformError(code ?? 'CLI.UNEXPECTED_RESPONSE', `${name} answered ${response.status} with ${shown} instead of a JSON object.`, {
      details: { status: response.status },
    });
  }
  if (response.ok || Array.isArray(payload.rejected)) return payload as T;
  if (typeof payload.code !== 'string') {
    const said = typeof payload.error === 'string' ? `: ${payload.error}` : '';
    throw new PlatformError('CLI.UNEXPECTED_RESPONSE', `${name} answered ${response.status} without an error code${said}`, {
      details: { status: response.status },
    });
  }
  // The server's code is passed on as is: a newer platform may know codes this CLI does not.
  const message = typeof payload.error === 'string' ? payload.error : `${name} answered ${response.status}.`;
  const details = typeof payload.details === 'object' && payload.details !== null ? (payload.details as Record<string, unknown>) : undefined;
  throw new PlatformError(payload.code as ErrorCode, message, { details });
}

function parseObject(text: string): ErrorBody | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as ErrorBody) : undefined;
  } catch {
    return undefined;
  }
}
