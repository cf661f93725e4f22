import type { z } from 'zod';
import { PlatformError } from '../domain/errors.js';
import { parseWith } from '../domain/validation.js';

/** Largest JSON body the APIs buffer by default; Cloud Functions refuses bodies over 32 MiB anyway. */
export const DEFAULT_MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Options of {@link readJsonBody}. */
export interface ReadJsonBodyOptions {
  /** Largest body read, in bytes: a larger one is REQUEST.TOO_LARGE (413), refused on its Content-Length when it declares one. */
  maxBytes?: number;
  /** Refuses a Content-Type other than JSON in UTF-8 with REQUEST.UNSUPPORTED_MEDIA_TYPE (415). */
  requireJsonType?: boolean;
  /** Reads an empty body as `{}` instead of refusing it. */
  allowEmpty?: boolean;
  /** A good body, shown when refusing one, e.g. `{"instances": [[...]]}`. */
  example?: string;
}

/** `application/json` or a `+json` type, with no charset but UTF-8. */
const JSON_MEDIA_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The one reader of JSON request bodies. Every refusal is typed: REQUEST.UNSUPPORTED_MEDIA_TYPE
 * (415), REQUEST.TOO_LARGE (413), or REQUEST.INVALID (400) for an empty, non-UTF-8 or unparseable body.
 * Built for the serving hot path: one await, no allocation beyond the body's bytes and text.
 */
export async function readJsonBody(
  request: Request,
  { maxBytes = DEFAULT_MAX_JSON_BYTES, requireJsonType = false, allowEmpty = false, example }: ReadJsonBodyOptions = {},
): Promise<unknown> {
  const headers = request.headers;
  checkJsonHeaders(headers.get('content-type'), headers.get('content-length'), { maxBytes, requireJsonType });
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > maxBytes) tooLarge(maxBytes);
  return parseJsonBytes(bytes, { allowEmpty, example });
}

/**
 * The checks {@link readJsonBody} makes before reading a body, for a server that reads it itself:
 * REQUEST.UNSUPPORTED_MEDIA_TYPE for a type other than JSON (when required), REQUEST.TOO_LARGE for a declared length over the limit.
 */
export function checkJsonHeaders(
  type: string | null | undefined,
  length: string | null | undefined,
  { maxBytes = DEFAULT_MAX_JSON_BYTES, requireJsonType = false }: Pick<ReadJsonBodyOptions, 'maxBytes' | 'requireJsonType'>,
): void {
  if (requireJsonType && (!type || !JSON_MEDIA_TYPE.test(type))) {
    throw new PlatformError(
      'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      `Send the body as JSON with Content-Type: application/json (got ${type ? `"${type}"` : 'none'}).`,
    );
  }
  if (Number(length ?? 0) > maxBytes) tooLarge(maxBytes);
}

/** Parses a body's bytes as {@link readJsonBody} does: REQUEST.INVALID for a byte order mark, bad UTF-8, bad or (unless allowed) empty JSON. */
export function parseJsonBytes(bytes: Uint8Array, { allowEmpty = false, example }: Pick<ReadJsonBodyOptions, 'allowEmpty' | 'example'> = {}): unknown {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    throw new PlatformError('REQUEST.INVALID', 'The request body starts with a byte order mark: JSON must be sent without one (RFC 8259).');
  }
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new PlatformError('REQUEST.INVALID', 'The request body is not valid UTF-8: JSON must be UTF-8 encoded.');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // Checked only once parsing failed, so a good body pays nothing for it.
    if (text.trim() === '') {
      if (allowEmpty) return {};
      throw new PlatformError('REQUEST.INVALID', `The request body is empty${example ? `: send JSON such as ${example}` : ''}.`);
    }
    throw new PlatformError('REQUEST.INVALID', `The request body is not valid JSON (${(error as Error).message})${example ? `: send ${example}` : ''}.`);
  }
}

/** REQUEST.TOO_LARGE naming the limit. */
export function tooLargeError(maxBytes: number): PlatformError {
  return new PlatformError('REQUEST.TOO_LARGE', `The request body is over the ${maxBytes}-byte limit: send less per request.`);
}

function tooLarge(maxBytes: number): never {
  throw tooLargeError(maxBytes);
}

/**
 * Validates a request body against its schema: REQUEST.INVALID naming every problem. (Bodies are
 * not events; EVENT.INVALID is for Pub/Sub payloads only.)
 */
export function parseRequestBody<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  return parseWith(schema, data, 'REQUEST.INVALID', `${what} body`);
}

/** Reads a JSON body and validates it: the usual pair for an API route. */
export async function readRequestBody<T>(request: Request, schema: z.ZodType<T>, what: string, options?: ReadJsonBodyOptions): Promise<T> {
  return parseRequestBody(schema, await readJsonBody(request, { allowEmpty: true, ...options }), what);
}
