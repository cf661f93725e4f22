import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type StableUrlLimitsOptions, type StableUrlServer, serveStableUrl } from '../../../../functions/serve/handed-connections.js';
import { createServingServer } from '../../../../functions/serve/http-server.js';
import { predictRequest, rawConnection } from '../../../support/raw-http.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A revision's server taking connections accepted by a listener in front of it, as the router
 * accepts them on the stable port and hands them over; resolves with that listener's port.
 */
async function stableUrl(app: RequestListener, limits: StableUrlLimitsOptions = {}): Promise<{ port: number; revision: StableUrlServer }> {
  const server = createServingServer(app, { keepAliveTimeoutMs: 5000 });
  const revision = serveStableUrl(server, limits);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const front = createServer({ pauseOnConnect: true }, (socket) => revision.take(socket));
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    front.close();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (front.address() as AddressInfo).port, revision };
}

/** A stand-in app: reads the body, then answers its size (or lets `hold` keep the answer). */
function app(calls: IncomingMessage[] = [], hold?: (res: ServerResponse) => void): RequestListener {
  return (req, res) => {
    calls.push(req);
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => (hold ? hold(res) : res.end(JSON.stringify({ bytes }))));
  };
}

async function connection(port: number) {
  const opened = await rawConnection(port);
  cleanups.push(() => opened.socket.destroy());
  return opened;
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise.then(() => 'done' as const), new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

describe("a revision's server taking the stable URL's connections", () => {
  it('refuses a declared body over the limit with 413 before the app sees it, without answering 100 Continue', async () => {
    const calls: IncomingMessage[] = [];
    const { port } = await stableUrl(app(calls), { maxBodyBytes: 1000 });
    const refused = await (await connection(port)).exchange(
      'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 30000000\r\nExpect: 100-continue\r\n\r\n',
    );
    expect(refused).toMatchObject({ status: 413, interim: [], headers: { connection: 'close' } });
    expect(JSON.parse(refused.body)).toEqual({ code: 'REQUEST.TOO_LARGE', error: expect.stringContaining('1000-byte limit') });
    expect(calls).toHaveLength(0);
    // Within the limit, a client that asks to continue is told to.
    const small = await connection(port);
    const answer = await small.exchange('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n0123456789');
    expect(answer).toMatchObject({ status: 200, interim: [100], body: '{"bytes":10}' });
  });

  it('answers 503 SERVING.OVERLOADED beyond its limit of requests in flight, and serves again once they finish', async () => {
    const held: ServerResponse[] = [];
    const { port } = await stableUrl(
      app([], (res) => held.push(res)),
      { maxConcurrentRequests: 2 },
    );
    const first = [await connection(port), await connection(port)].map((open) => open.exchange(predictRequest()));
    while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const third = await (await connection(port)).exchange(predictRequest());
    expect(third).toMatchObject({ status: 503, headers: { 'retry-after': '1' } });
    expect(JSON.parse(third.body)).toMatchObject({ code: 'SERVING.OVERLOADED' });
    for (const res of held) res.end('{}');
    expect((await Promise.all(first)).map((answer) => answer.status)).toEqual([200, 200]);
  });

  it('drains without dropping an idle keep-alive connection: its next answer closes it, and the drain ends then', async () => {
    const held: ServerResponse[] = [];
    const { port, revision } = await stableUrl(app([], (res) => (held.length === 0 ? held.push(res) : res.end('{"late":true}'))));
    const idle = await connection(port);
    const busy = await connection(port);
    const inFlight = busy.exchange(predictRequest());
    while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await idle.exchange(predictRequest())).headers.connection).toBe('keep-alive');

    const drained = revision.drain();
    held[0]!.end('{"held":true}');
    // The answer in flight when the drain began closes its connection too.
    expect(await inFlight).toMatchObject({ body: '{"held":true}', headers: { connection: 'close' } });
    // The idle one stays open: a client may be sending on it, and it is answered.
    expect(await within(idle.closed, 300)).toBe('pending');
    expect(await within(drained, 0)).toBe('pending');
    expect(await idle.exchange(predictRequest())).toMatchObject({ status: 200, body: '{"late":true}', headers: { connection: 'close' } });
    expect(await within(idle.closed, 2000)).toBe('done');
    expect(await within(drained, 2000)).toBe('done');
  });

  it("keeps a refused upload's connection open a moment after the answer, so the client reads it before the close", async () => {
    // As the /predict listener does with a chunked body past the limit: answer at once, closing the connection.
    const { port } = await stableUrl((req, res) => req.once('data', () => res.writeHead(413, { connection: 'close', 'content-length': 2 }).end('{}')), {
      lingerMs: 400,
    });
    const upload = await connection(port);
    const answered = upload.exchange('POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n[1,2\r\n');
    const answer = await answered;
    const answeredAt = Date.now();
    expect(answer.status).toBe(413);
    upload.socket.write('4\r\n,3,4\r\n');
    await upload.closed;
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(350);
  });
});
