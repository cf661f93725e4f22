import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { OPTIONS } from '../../shared/config/config.js';
import { readOption } from '../../shared/config/options.js';
import { tooLargeError } from '../../shared/http/json.js';
import { receiveHandedConnections } from '../../shared/processes/index.js';

/** Limits a revision keeps once it serves its model's stable URL itself. */
export interface StableUrlLimitsOptions {
  /** MLOPS_MAX_BODY_BYTES: a larger declared body is refused before it is read. */
  maxBodyBytes?: number;
  /** Requests in flight at once; more are answered 503 SERVING.OVERLOADED. */
  maxConcurrentRequests?: number;
  /** How long a connection closed before its request body arrived stays open, unread, so the client reads the answer. */
  lingerMs?: number;
}

/** A revision's server taking the stable URL's connections. */
export interface StableUrlServer {
  /** Serves a connection accepted elsewhere (the router's), as if this server had accepted it. */
  take(socket: Socket): void;
  /**
   * From now on every answer closes its connection, so clients reconnect (to the next revision);
   * idle connections still close only on their keep-alive timeout, as a client may be sending on
   * one. Resolves once every taken connection is closed.
   */
  drain(): Promise<void>;
}

/**
 * Serves the connections the local router hands this revision (see ConnectionHandoff), and drains
 * when told. Call before `listen`. Outside local serving (no IPC channel, as on Cloud Run) it
 * changes nothing.
 */
export function serveHandedConnections(server: Server, { env = process.env, ...limits }: StableUrlLimitsOptions & { env?: NodeJS.ProcessEnv } = {}): void {
  if (!process.send) return;
  const maxBodyBytes = limits.maxBodyBytes ?? readOption(OPTIONS.maxBodyBytes, env, 'local');
  const stableUrl = serveStableUrl(server, { ...limits, maxBodyBytes });
  const link = receiveHandedConnections({
    accept: (socket) => stableUrl.take(socket),
    drain: () => void stableUrl.drain().then(() => link?.reportDrained()),
  });
}

/**
 * Makes a revision's server keep the stable URL's promises, which the router keeps for the
 * connections it serves itself: a declared body over the limit refused with 413 before it is read
 * (and Expect: 100-continue refused for it), overload answered 503 SERVING.OVERLOADED, slow clients
 * dropped within a second of their timeout. Call before `listen`.
 */
export function serveStableUrl(
  server: Server,
  { maxBodyBytes = 1024 * 1024, maxConcurrentRequests = 1024, lingerMs = 1000 }: StableUrlLimitsOptions = {},
): StableUrlServer {
  const taken = new Set<Socket>();
  const requests = new WeakMap<Socket, IncomingMessage>();
  const inFlight = new Set<ServerResponse>();
  const whenEmpty = new Set<() => void>();
  let draining = false;
  // Node checks the header and request timeouts every connectionsCheckingInterval (30 s by default, read
  // when the server starts listening): check each second.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = 1000;
  const app = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const serve = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    requests.set(req.socket, req);
    if (draining) res.shouldKeepAlive = false;
    if (inFlight.size >= maxConcurrentRequests) return overloaded(res, inFlight.size);
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return tooLarge(res, maxBodyBytes);
    if (expectsContinue) res.writeContinue();
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    for (const listener of app) listener(req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => serve(req, res, false));
  // Without this listener Node answers 100 Continue to any request that asks, even one refused next.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => serve(req, res, true));
  return {
    take: (socket) => {
      taken.add(socket);
      socket.once('close', () => {
        taken.delete(socket);
        if (taken.size > 0) return;
        for (const resolve of whenEmpty) resolve();
        whenEmpty.clear();
      });
      lingerBeforeClosing(socket, requests, lingerMs);
      server.emit('connection', socket);
      // One accepted with pauseOnConnect (and not yet handed on) reads only once resumed.
      socket.resume();
    },
    drain: () => {
      draining = true;
      for (const res of inFlight) res.shouldKeepAlive = false;
      if (taken.size === 0) return Promise.resolve();
      return new Promise((resolve) => whenEmpty.add(resolve));
    },
  };
}

/**
 * Node closes a connection right after an answer that ends it. When the client is still sending
 * its body (an upload refused on its length), that close resets the connection and the client may
 * see the reset instead of the answer: such a connection is closed a moment later, and the rest of
 * the body is left unread meanwhile (Node would read and discard it at the client's pace).
 */
function lingerBeforeClosing(socket: Socket, requests: WeakMap<Socket, IncomingMessage>, lingerMs: number): void {
  const destroySoon = socket.destroySoon.bind(socket);
  socket.destroySoon = () => {
    const req = requests.get(socket);
    if (req?.complete !== false) return destroySoon();
    // Paused, it takes what is in its buffer and no more: Node stops reading the connection.
    req.pause();
    setTimeout(destroySoon, lingerMs).unref();
  };
}

function overloaded(res: ServerResponse, inFlight: number): void {
  reply(res, 503, 'SERVING.OVERLOADED', `${inFlight} requests are in flight, this revision's limit: retry shortly.`, { 'retry-after': '1' });
}

function tooLarge(res: ServerResponse, maxBodyBytes: number): void {
  reply(res, 413, 'REQUEST.TOO_LARGE', tooLargeError(maxBodyBytes).message, { connection: 'close' });
}

function reply(res: ServerResponse, status: number, code: string, error: string, headers: Record<string, string>): void {
  const body = JSON.stringify({ error, code });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
