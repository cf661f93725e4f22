import { type Agent, type IncomingMessage, type Server, type ServerResponse, createServer, request } from 'node:http';

/** Where the router sends traffic now. */
export interface RouteTarget {
  port: number;
  agent: Agent;
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const RETRIES = 5;

/**
 * A model's stable local endpoint, as Cloud Run's front end is for a service: it forwards each
 * request to the current revision and can be pointed at a new one at any moment. A request
 * whose connection fails before any response (the old revision closing its idle sockets) is
 * sent again to the current target, so a switch loses no request.
 */
export class ServingRouter {
  private target: RouteTarget | undefined;
  private readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
  }

  /** Starts listening; `port` 0 picks a free one. Resolves with the port. */
  async listen(port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => this.server.once('error', reject).listen(port, '127.0.0.1', resolve));
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : port;
  }

  /** Sends all new requests to `target` from now on. */
  switchTo(target: RouteTarget): void {
    this.target = target;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      reply(res, 413, (error as Error).message);
      return;
    }
    this.forward(req, res, body, 0);
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer, attempt: number): void {
    const target = this.target;
    if (!target) {
      reply(res, 503, 'No serving revision is ready yet.');
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers, agent: target.agent },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) return void res.destroy(error);
      if (attempt < RETRIES) return void setTimeout(() => this.forward(req, res, body, attempt + 1), 20 * (attempt + 1));
      reply(res, 502, `The serving revision failed: ${error.message}`);
    });
    upstream.end(body);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error(`The request body is over the router's ${MAX_BODY_BYTES}-byte limit.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, error: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error }));
}
