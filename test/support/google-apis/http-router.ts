import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a route handler receives: the request as parsed once, and the captures of its path pattern. */
export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The body parsed as JSON when it is JSON, else undefined (see `raw`). */
  body: Record<string, unknown> | undefined;
  raw: Buffer;
  params: Record<string, string>;
  /** The region gcloud put before the host, for regional endpoints (Cloud Run v1). */
  region?: string;
}

/** A reply: a status and a JSON body (or raw text). */
export interface ApiReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One route: method, a path pattern with `{name}` (one segment) and `{name=**}` (the rest) captures. */
export interface Route {
  method: string;
  pattern: string;
  handle: (request: ApiRequest) => ApiReply | Promise<ApiReply>;
}

/** A Google API error, answered as Google's JSON error envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** 404 NOT_FOUND for a resource name, worded as Google words it. */
export function notFound(name: string): ApiError {
  return new ApiError(404, 'NOT_FOUND', `Resource not found (resource=${name}).`);
}

/** A 200 JSON reply. */
export function ok(body: unknown = {}): ApiReply {
  return { status: 200, body };
}

function compile(pattern: string): RegExp {
  const source = pattern
    .split(/(\{[a-zA-Z]+(?:=\*\*)?\})/)
    .map((part) => {
      const capture = /^\{([a-zA-Z]+)(=\*\*)?\}$/.exec(part);
      if (!capture) return part.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
      return capture[2] ? `(?<${capture[1]}>.+)` : `(?<${capture[1]}>[^/:]+)`;
    })
    .join('');
  return new RegExp(`^${source}$`);
}

/** Routes compiled once; the first whose method and pattern match handles the request. */
export class Router {
  private readonly compiled: { method: string; regex: RegExp; handle: Route['handle'] }[];

  constructor(routes: Route[]) {
    this.compiled = routes.map((route) => ({ method: route.method, regex: compile(route.pattern), handle: route.handle }));
  }

  /** Finds the handler for a method and decoded path, with its captures. */
  match(method: string, path: string): { handle: Route['handle']; params: Record<string, string> } | undefined {
    for (const route of this.compiled) {
      if (route.method !== method) continue;
      const found = route.regex.exec(path);
      if (found) return { handle: route.handle, params: { ...found.groups } };
    }
    return undefined;
  }
}

/** Reads a whole request body. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Parses a body as JSON when it is JSON. */
export function parseJson(raw: Buffer): Record<string, unknown> | undefined {
  if (raw.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes a reply; errors become Google's envelope `{error: {code, message, status}}`. */
export function send(response: ServerResponse, reply: ApiReply): void {
  const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
  response.writeHead(reply.status, { 'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json', ...reply.headers });
  response.end(text);
}

/** The reply for a thrown error. */
export function errorReply(error: unknown): ApiReply {
  if (error instanceof ApiError) return { status: error.status, body: { error: { code: error.status, message: error.message, status: error.code } } };
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { status: 500, body: { error: { code: 500, message: `fake-google-apis: ${message}`, status: 'INTERNAL' } } };
}
