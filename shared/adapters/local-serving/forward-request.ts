import { type Agent, type ClientRequest, type IncomingMessage, type ServerResponse, request } from 'node:http';
import type { ConnectionHandoff } from '../../processes/index.js';

/** Where the router sends traffic now: one revision's port and the connection pool to it. */
export interface RouteTarget {
  port: number;
  agent: Agent;
  /** The version it serves: proxied answers name it in `x-mlops-version`. */
  version?: number;
  /** The revision's IPC channel, when the router's process started it: connections are then handed to it, not proxied. */
  handoff?: ConnectionHandoff;
}

/** How a forwarded request finds its revision, and what it answers when there is none. */
export interface Routes {
  /** The current target, counted busy until `release`; undefined when no revision is up. */
  acquire(): RouteTarget | undefined;
  release(target: RouteTarget): void;
  unavailable(res: ServerResponse): void;
}

/** Limits of one forwarded request. */
export interface ForwardOptions {
  maxBodyBytes: number;
  /** Called once when a body without Content-Length grows past `maxBodyBytes`. */
  onTooLarge(): void;
}

const RETRIES = 5;
/** Names the version that produced a proxied answer, so a client of a split endpoint can tell the arms apart. */
export const VERSION_HEADER = 'x-mlops-version';
/** A body this small is kept until the revision answers, so a connection lost before the answer can be resent. */
const REPLAY_BYTES = 64 * 1024;
/** Hop-by-hop headers: they describe one connection, so each side sets its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'expect', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/**
 * Streams a request to the current revision and its answer back. A connection that fails before
 * any answer (a revision closing, or killed) is retried on the then-current target while the body
 * can still be replayed; when none answers, the client gets `routes.unavailable`.
 */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, routes: Routes, { maxBodyBytes, onTooLarge }: ForwardOptions): void {
  let upstream: ClientRequest | undefined;
  let clientGone = false;
  const body = new BodyRelay(req, maxBodyBytes, () => {
    upstream?.destroy();
    onTooLarge();
  });
  const headers = requestHeaders(req.rawHeaders);
  const attempt = (attempts: number): void => {
    if (clientGone) return;
    const target = routes.acquire();
    if (!target) return void routes.unavailable(res);
    const sent = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers, agent: target.agent }, (response) => {
      res.writeHead(response.statusCode ?? 502, answerHeaders(response.rawHeaders, target.version));
      relayAnswer(response, res);
    });
    upstream = sent;
    sent.once('close', () => routes.release(target));
    sent.once('error', (error) => {
      // Refused (the 413 is on its way) or abandoned by the client: nothing more to answer.
      if (body.refused || clientGone) return;
      if (res.headersSent) return void res.destroy(error);
      if (attempts < RETRIES && body.replayable) return void setTimeout(() => attempt(attempts + 1), 20 * (attempts + 1));
      routes.unavailable(res);
    });
    body.sendTo(sent);
  };
  // A client gone before its answer frees the revision's connection too.
  res.once('close', () => {
    if (res.writableFinished) return;
    clientGone = true;
    upstream?.destroy();
  });
  attempt(0);
}

/** Relays a request body to a sink as it arrives, under a byte cap, keeping a small body for a resend. */
class BodyRelay {
  refused = false;
  private held: Buffer[] | undefined = [];
  private heldBytes = 0;
  private received = 0;
  private ended = false;
  private sink: ClientRequest | undefined;

  constructor(
    private readonly req: IncomingMessage,
    private readonly maxBytes: number,
    private readonly onTooLarge: () => void,
  ) {
    req.on('data', (chunk: Buffer) => this.push(chunk));
    req.once('end', () => {
      this.ended = true;
      this.sink?.end();
    });
  }

  /** True while every byte received so far is held, so the body can be sent again from the start. */
  get replayable(): boolean {
    return this.held !== undefined && !this.refused;
  }

  /** Sends what arrived so far to `sink`, then the rest as it comes. */
  sendTo(sink: ClientRequest): void {
    this.sink = sink;
    for (const chunk of this.held ?? []) sink.write(chunk);
    if (this.ended) sink.end();
    else this.req.resume();
  }

  private push(chunk: Buffer): void {
    if (this.refused) return;
    this.received += chunk.length;
    if (this.received > this.maxBytes) {
      this.refused = true;
      this.req.pause();
      return void this.onTooLarge();
    }
    this.hold(chunk);
    const sink = this.sink;
    if (sink && !sink.write(chunk)) {
      this.req.pause();
      sink.once('drain', () => this.sink === sink && this.req.resume());
    }
  }

  private hold(chunk: Buffer): void {
    if (!this.held) return;
    this.heldBytes += chunk.length;
    if (this.heldBytes <= REPLAY_BYTES) this.held.push(chunk);
    else this.held = undefined;
  }
}

/** Streams the revision's answer to the client; lighter than `pipe` for the one small chunk most answers are. */
function relayAnswer(response: IncomingMessage, res: ServerResponse): void {
  response.on('data', (chunk: Buffer) => {
    if (res.write(chunk)) return;
    response.pause();
    res.once('drain', () => response.resume());
  });
  response.once('end', () => res.end());
  // A revision dying mid-answer: the client's answer is cut too, rather than left hanging.
  response.once('close', () => response.complete || res.destroy());
}

/** The value of a header in Node's raw `[name, value, ...]` list, without building the headers object. */
export function headerValue(raw: string[], name: string): string | undefined {
  for (let index = 0; index < raw.length; index += 2) {
    if (raw[index]!.length === name.length && raw[index]!.toLowerCase() === name) return raw[index + 1];
  }
  return undefined;
}

/** The client's headers for the revision: its own hop-by-hop ones dropped, and a Host an HTTP/1.0 client may not send. */
function requestHeaders(raw: string[]): string[] {
  const headers = withoutHopByHop(raw);
  if (headerValue(headers, 'host') === undefined) headers.push('Host', '127.0.0.1');
  return headers;
}

/** The revision's answer headers for the client, naming the version that answered unless the revision did. */
function answerHeaders(raw: string[], version: number | undefined): string[] {
  const headers = withoutHopByHop(raw);
  if (version !== undefined && headerValue(raw, VERSION_HEADER) === undefined) headers.push(VERSION_HEADER, String(version));
  return headers;
}

function withoutHopByHop(raw: string[]): string[] {
  const kept: string[] = [];
  for (let index = 0; index < raw.length; index += 2) {
    if (!HOP_BY_HOP.has(raw[index]!.toLowerCase())) kept.push(raw[index]!, raw[index + 1]!);
  }
  return kept;
}

/** Answers a JSON error `{ error, code }`, the shape every serving error has. */
export function replyError(res: ServerResponse, status: number, code: string, error: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ error, code }));
}
