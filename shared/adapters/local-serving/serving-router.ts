import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { type RouteTarget, type Routes, forwardRequest, headerValue, replyError } from './forward-request.js';
import { drawWeighted } from './weighted-draw.js';

export type { RouteTarget } from './forward-request.js';

/** A target and the share of requests (percent) it answers when the router splits them. */
export interface WeightedTarget {
  target: RouteTarget;
  percent: number;
}

/** How long a refused upload's connection stays open after its 413, unread, so the client reads the answer. */
const REFUSED_LINGER_MS = 1000;

/** Limits of a stable URL; the defaults suit one machine's local platform. */
export interface ServingRouterOptions {
  /** Named in error messages. */
  model?: string;
  /** The revision's own body limit (MLOPS_MAX_BODY_BYTES): larger bodies are refused here, unread. */
  maxBodyBytes?: number;
  /** Requests in flight at once; more are answered 503 SERVING.OVERLOADED. */
  maxConcurrentRequests?: number;
  /** A client must send its request headers within this time, and the whole request within `requestTimeoutMs`. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs?: number;
}

/**
 * A model's stable local endpoint, as Cloud Run's front end is for a service, which can be pointed
 * at a new revision at any moment. A revision this process started (with an IPC channel) is handed
 * each accepted connection and serves it itself, so the router costs nothing per request; the
 * revision then keeps the limits below (see functions/serve/handed-connections.ts), and on a switch
 * the old one drains: its connections close after their current answer, clients reconnect here and
 * reach the new one. Any other revision is reached through a keep-alive proxy, and so is every one
 * while requests are split between several (a canary): each request is then drawn by weight. With no revision up
 * the router answers 503 SERVING.UNAVAILABLE with Retry-After itself; a body over the revision's
 * limit is refused on its Content-Length before it is read, and slow clients are dropped.
 */
export class ServingRouter {
  private targets: WeightedTarget[] = [];
  /** The one target taking every request, when there is one: it is handed the connections. */
  private sole: RouteTarget | undefined;
  private inFlight = 0;
  private readonly busy = new Map<RouteTarget, number>();
  private readonly server: Server;
  private readonly maxBodyBytes: number;
  private readonly maxConcurrentRequests: number;
  private readonly routes: Routes;
  private readonly serveHere: (socket: Socket) => void;
  private handedAny = false;

  constructor({
    model = 'this model',
    maxBodyBytes = 1024 * 1024,
    maxConcurrentRequests = 1024,
    headersTimeoutMs = 10_000,
    requestTimeoutMs = 30_000,
    keepAliveTimeoutMs = 5_000,
  }: ServingRouterOptions = {}) {
    this.maxBodyBytes = maxBodyBytes;
    this.maxConcurrentRequests = maxConcurrentRequests;
    // Node checks the two timeouts every connectionsCheckingInterval (30 s by default): check each second.
    this.server = createServer({ headersTimeout: headersTimeoutMs, requestTimeout: requestTimeoutMs, connectionsCheckingInterval: 1000 }, (req, res) =>
      this.handle(req, res),
    );
    this.server.keepAliveTimeout = keepAliveTimeoutMs;
    // Connections arrive unread (net.Server's pauseOnConnect, which http.createServer does not pass on),
    // so one can be handed to a revision whole; the router's own are resumed by `serveHere`.
    (this.server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
    const serveHere = this.server.listeners('connection')[0] as (socket: Socket) => void;
    this.server.removeAllListeners('connection');
    this.serveHere = (socket) => {
      serveHere.call(this.server, socket);
      socket.resume();
    };
    this.server.on('connection', (socket: Socket) => this.dispatch(socket));
    // A client sending Expect: 100-continue is refused before it sends the body at all.
    this.server.on('checkContinue', (req, res) => this.handle(req, res, true));
    this.routes = {
      acquire: () => this.acquire(),
      release: (target) => this.release(target),
      unavailable: (res) =>
        replyError(res, 503, 'SERVING.UNAVAILABLE', `No serving revision of ${model} is up (it is starting or restarting): retry shortly.`, {
          'retry-after': '1',
        }),
    };
  }

  /** Starts listening; `port` 0 picks a free one. Resolves with the port. */
  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(port, '127.0.0.1', resolve));
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  /** Sends all new requests to `target` from now on; `undefined` answers 503 until a target is set again. */
  switchTo(target: RouteTarget | undefined): void {
    this.splitBetween(target ? [{ target, percent: 100 }] : []);
  }

  /**
   * Splits new requests between `targets` by their percent (those at 0 get none). With one target it
   * is handed the connections; with several, or `perRequest` (a split whose other targets are down for
   * now), the router serves them and draws a target per request. A revision that was handed connections
   * must drain them (see `drained`) for its clients to be split.
   */
  splitBetween(targets: WeightedTarget[], { perRequest = targets.length > 1 }: { perRequest?: boolean } = {}): void {
    this.targets = targets.filter((entry) => entry.percent > 0);
    this.sole = !perRequest && this.targets.length === 1 ? this.targets[0]!.target : undefined;
  }

  /**
   * Resolves true once `target` has finished what it holds, false if `timeoutMs` passes first: a
   * revision handed connections is told to drain (for good: its answers close their connections from
   * then on, so drain only a revision being retired) and reports when they are closed; and no request
   * the router forwarded to it is in flight.
   */
  async drained(target: RouteTarget, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    // A revision may hold both: connections handed to it, and requests the router forwarded to it.
    if (target.handoff && !(await target.handoff.drain(timeoutMs))) return false;
    while (this.busy.has(target)) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  /**
   * Stops listening and closes every connection it serves itself. Connections handed to a revision
   * are the revision's: they end when it stops, so this does not wait for them.
   */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    if (!this.handedAny) await closed;
  }

  /** A connection goes whole to a revision that takes handed connections; otherwise the router serves it. */
  private dispatch(socket: Socket): void {
    const handoff = this.sole?.handoff;
    if (!handoff?.open) return void this.serveHere(socket);
    this.handedAny = true;
    // Until the revision has it, this process holds it: a client resetting it meanwhile must not end the router.
    socket.on('error', () => undefined);
    // A revision that went away before taking it leaves it unread: it goes where new connections go now.
    void handoff.handOff(socket).then((handed) => handed || this.dispatch(socket));
  }

  private handle(req: IncomingMessage, res: ServerResponse, expectsContinue = false): void {
    if (!this.targets.some(({ target }) => isUp(target))) return void this.routes.unavailable(res);
    if (this.inFlight >= this.maxConcurrentRequests) {
      return void replyError(res, 503, 'SERVING.OVERLOADED', `${this.inFlight} requests are in flight, the router's limit: retry shortly.`, {
        'retry-after': '1',
      });
    }
    if (Number(headerValue(req.rawHeaders, 'content-length') ?? 0) > this.maxBodyBytes) return void this.refuseTooLarge(res);
    if (expectsContinue) res.writeContinue();
    // A connection the router took while no revision was up: once one takes connections, the client reconnects to reach it directly.
    if (this.sole?.handoff) res.shouldKeepAlive = false;
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    forwardRequest(req, res, this.routes, { maxBodyBytes: this.maxBodyBytes, onTooLarge: () => this.refuseTooLarge(res) });
  }

  /**
   * Answers 413 without reading the body. The answer is complete once written, but the connection
   * closes only a moment later: closing at once on an unread upload resets it, and a client still
   * writing would see the reset instead of the answer.
   */
  private refuseTooLarge(res: ServerResponse): void {
    if (res.headersSent) return void res.destroy();
    const body = JSON.stringify({
      error: `The request body is over the ${this.maxBodyBytes}-byte limit: send fewer instances per request.`,
      code: 'REQUEST.TOO_LARGE',
    });
    res.writeHead(413, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.write(body);
    setTimeout(() => res.end(), REFUSED_LINGER_MS).unref();
  }

  private acquire(): RouteTarget | undefined {
    const target = this.sole ?? this.draw();
    if (target) this.busy.set(target, (this.busy.get(target) ?? 0) + 1);
    return target;
  }

  /** One of the split's targets that is up, drawn by weight: each request independently, as Cloud Run splits. */
  private draw(): RouteTarget | undefined {
    const up = this.targets.filter(({ target }) => isUp(target));
    const index = drawWeighted(
      up.map((entry) => entry.percent),
      Math.random(),
    );
    return index === undefined ? undefined : up[index]!.target;
  }

  private release(target: RouteTarget): void {
    const count = (this.busy.get(target) ?? 1) - 1;
    if (count === 0) this.busy.delete(target);
    else this.busy.set(target, count);
  }
}

/** A revision whose IPC channel is closed has exited: it is not reached by proxy either. */
function isUp(target: RouteTarget): boolean {
  return target.handoff?.open !== false;
}
