import { Agent, type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type RouteTarget, ServingRouter, type ServingRouterOptions } from '../../../../../shared/adapters/local-serving/serving-router.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A stand-in revision on a loopback port; `answer` decides what each request gets once its body is read. */
async function revision(
  answer: (req: IncomingMessage, res: ServerResponse, bytes: number) => void = (_req, res, bytes) => res.end(JSON.stringify({ bytes })),
): Promise<{ server: Server; target: RouteTarget; received: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      received += chunk.length;
    });
    req.on('end', () => answer(req, res, bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  cleanups.push(async () => {
    agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { server, target: { port: (server.address() as { port: number }).port, agent }, received: () => received };
}

async function router(options: ServingRouterOptions = {}, target?: RouteTarget): Promise<{ router: ServingRouter; url: string }> {
  const serving = new ServingRouter(options);
  if (target) serving.switchTo(target);
  const port = await serving.listen(0);
  cleanups.push(() => serving.close());
  return { router: serving, url: `http://127.0.0.1:${port}` };
}

const post = (url: string, body: BodyInit, init: RequestInit = {}) =>
  fetch(`${url}/predict`, { method: 'POST', body, signal: AbortSignal.timeout(5000), ...init, headers: { 'content-type': 'application/json' } });

describe('the local stable URL', () => {
  it('answers 503 SERVING.UNAVAILABLE as JSON, with Retry-After, while no revision is up', async () => {
    const { url } = await router({ model: 'churn' });
    const response = await post(url, '{}');
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(await response.json()).toEqual({ code: 'SERVING.UNAVAILABLE', error: expect.stringContaining('churn') });
  });

  it('caps a chunked body at the revision limit while streaming it, answering 413', async () => {
    const upstream = await revision();
    const { url } = await router({ maxBodyBytes: 100_000 }, upstream.target);
    const chunks = new ReadableStream({
      start(controller) {
        for (let index = 0; index < 40; index++) controller.enqueue(new Uint8Array(16 * 1024));
        controller.close();
      },
    });
    const response = await post(url, chunks, { duplex: 'half' } as RequestInit);
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'REQUEST.TOO_LARGE' });
    expect(upstream.received()).toBeLessThanOrEqual(100_000);
    // Under the limit, a chunked body goes through whole.
    expect(await (await post(url, new Blob([new Uint8Array(90_000)]).stream(), { duplex: 'half' } as RequestInit)).json()).toEqual({ bytes: 90_000 });
  });

  it('answers 503 SERVING.OVERLOADED beyond its concurrency limit, and serves again once requests finish', async () => {
    const held: ServerResponse[] = [];
    const upstream = await revision((_req, res) => held.push(res));
    const { url } = await router({ maxConcurrentRequests: 2 }, upstream.target);
    const first = [post(url, '{}'), post(url, '{}')];
    while (held.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    const third = await post(url, '{}');
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(await third.json()).toMatchObject({ code: 'SERVING.OVERLOADED' });
    for (const res of held) res.end('{}');
    expect((await Promise.all(first)).map((response) => response.status)).toEqual([200, 200]);
  });

  it('drops a client whose body stalls past the request timeout', async () => {
    const upstream = await revision();
    const { url } = await router({ requestTimeoutMs: 1500, headersTimeoutMs: 1000 }, upstream.target);
    // Reading (resume), or the socket never sees the router close it.
    const socket = connect(Number(new URL(url).port), '127.0.0.1')
      .on('error', () => undefined)
      .resume();
    cleanups.push(async () => socket.destroy());
    socket.write('POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"instances":');
    const started = Date.now();
    const closedAfter = await Promise.race([
      new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started))),
      new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 5000)),
    ]);
    expect(closedAfter).toBeLessThan(4000);
  });

  it('switches revisions under load without failing a request, the old one closing once drained', async () => {
    const [blue, green] = [await revision((_r, res) => res.end('"blue"')), await revision((_r, res) => res.end('"green"'))];
    const { router: serving, url } = await router({}, blue.target);
    const outcomes: string[] = [];
    let running = true;
    const load = Array.from({ length: 16 }, async () => {
      while (running) outcomes.push(await post(url, '{"instances":[[1,2,3,4]]}').then((response) => (response.ok ? response.json() : response.status), String));
    });
    while (outcomes.length < 300) await new Promise((resolve) => setTimeout(resolve, 10));
    serving.switchTo(green.target);
    expect(await serving.drained(blue.target, 5000)).toBe(true);
    // As a revision does on SIGTERM: stop listening and close its idle keep-alive connections.
    blue.server.close();
    blue.server.closeIdleConnections();
    const switched = outcomes.length;
    while (outcomes.length < switched + 300) await new Promise((resolve) => setTimeout(resolve, 10));
    running = false;
    await Promise.all(load);
    expect(outcomes.filter((outcome) => outcome !== 'blue' && outcome !== 'green')).toEqual([]);
    expect(outcomes.slice(-100).every((outcome) => outcome === 'green')).toBe(true);
  });

  it("splits requests by weight, each proxied answer naming its version, and sends a down target's share to the others", async () => {
    const [blue, green] = [await revision((_r, res) => res.end('"blue"')), await revision((_r, res) => res.end('"green"'))];
    const { router: serving, url } = await router();
    serving.splitBetween([
      { target: { ...blue.target, version: 1 }, percent: 80 },
      { target: { ...green.target, version: 2 }, percent: 20 },
    ]);
    const answers: string[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const responses = await Promise.all(Array.from({ length: 50 }, () => post(url, '{}')));
      for (const response of responses) answers.push(`${await response.json()} ${response.headers.get('x-mlops-version')}`);
    }
    expect(new Set(answers)).toEqual(new Set(['blue 1', 'green 2']));
    expect(Math.abs(answers.filter((answer) => answer === 'green 2').length / 10 - 20)).toBeLessThanOrEqual(5);
    // A split with only one of its targets up (the other restarting) keeps serving from the one.
    serving.splitBetween([{ target: blue.target, percent: 80 }], { perRequest: true });
    expect(await (await post(url, '{}')).json()).toBe('blue');
  });

  it('counts a proxied target drained only once the request it holds is answered', async () => {
    const held: ServerResponse[] = [];
    const slow = await revision((_req, res) => held.push(res));
    const { router: serving, url } = await router({}, slow.target);
    const answer = post(url, '{}');
    while (held.length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    serving.switchTo(undefined);
    expect(await serving.drained(slow.target, 200)).toBe(false);
    const drained = serving.drained(slow.target, 5000);
    held[0]!.end('"late"');
    expect(await drained).toBe(true);
    expect(await (await answer).json()).toBe('late');
  });
});
