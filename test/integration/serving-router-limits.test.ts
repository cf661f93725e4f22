import { readFileSync } from 'node:fs';
import { type Server, createServer, request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { type ManagedProcess, startProcess } from '../../shared/processes/processes.js';

// The stable URL as the local platform runs it (its own process, the deployer's defaults), in
// front of a stand-in revision that counts the bytes it is sent.
let upstream: Server;
let upstreamBytes = 0;
let router: ManagedProcess;
let url: URL;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (upstreamBytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const listening = new Promise<string>((resolve, reject) => {
    router = startProcess('router', process.execPath, ['--import', 'tsx', 'test/support/serving-router-process.ts'], {
      env: { ...process.env, ROUTER_UPSTREAM_PORT: String((upstream.address() as { port: number }).port) },
      onLine: (line) => /listening on (\d+)/.exec(line)?.[1] && resolve(/listening on (\d+)/.exec(line)![1]!),
    });
    router.child.once('exit', (code) => reject(new Error(`the router exited with ${code}`)));
  });
  url = new URL(`http://127.0.0.1:${await listening}`);
}, 30_000);

afterAll(async () => {
  await router?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** The router process's resident memory, in bytes. */
function routerRss(): number {
  const status = readFileSync(`/proc/${router.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** POSTs `bytes` of JSON-looking data as fast as the socket takes it; resolves with the status and body, or the error when no answer came. */
function postLarge(bytes: number): Promise<{ status?: number; body?: string; error?: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const sent = request(
      { host: url.hostname, port: url.port, method: 'POST', path: '/predict', headers: { 'content-type': 'application/json', 'content-length': bytes } },
      (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode, body, ms: Date.now() - started }));
      },
    );
    // Writes fail once the router has answered and closed; the answer is what counts.
    sent.on('error', (error) => setTimeout(() => resolve({ error: error.message, ms: Date.now() - started }), 200));
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let written = 0;
    const write = (): void => {
      while (written < bytes) {
        written += chunk.length;
        if (!sent.write(chunk)) return void sent.once('drain', write);
      }
      sent.end();
    };
    write();
  });
}

describe('the stable URL under oversized bodies and slow clients', () => {
  it('refuses 20 concurrent 30 MB posts at once with 413 on their Content-Length, its memory growing by no more than a few MB', async () => {
    await fetch(new URL('/predict', url), { method: 'POST', body: '{}' });
    const before = routerRss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, routerRss())), 10);
    const upstreamBefore = upstreamBytes;
    const answers = await Promise.all(Array.from({ length: 20 }, () => postLarge(30_000_000)));
    clearInterval(sampler);
    peak = Math.max(peak, routerRss());
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 413 });
      expect(JSON.parse(answer.body!)).toEqual({ code: 'REQUEST.TOO_LARGE', error: expect.stringContaining('1048576-byte limit') });
      expect(answer.ms).toBeLessThan(3000);
    }
    expect(upstreamBytes - upstreamBefore).toBe(0);
    expect(peak - before).toBeLessThan(8 * 1024 * 1024);
  }, 30_000);

  it('refuses a client that asks to continue before it sends the body', async () => {
    const socket = connect(Number(url.port), url.hostname);
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.write(`POST /predict HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\nContent-Length: 30000000\r\nExpect: 100-continue\r\n\r\n`);
    const closed = await Promise.race([
      new Promise((resolve) => socket.once('close', () => resolve(true))),
      new Promise((resolve) => setTimeout(() => resolve(false), 3000)),
    ]);
    socket.destroy();
    expect(closed).toBe(true);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).not.toContain('100 Continue');
  }, 10_000);

  it('drops clients that never finish their headers within the header timeout, and still serves others meanwhile', async () => {
    const started = Date.now();
    // Reading (resume), or a socket never sees the router close it.
    const sockets = Array.from({ length: 100 }, () =>
      connect(Number(url.port), url.hostname)
        .on('error', () => undefined)
        .resume(),
    );
    const slow = sockets.map((socket) => {
      socket.write(`POST /predict HTTP/1.1\r\nHost: ${url.host}\r\nContent-Ty`);
      return new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
    });
    onTestFinished(() => {
      for (const socket of sockets) socket.destroy();
    });
    const meanwhile = await fetch(new URL('/predict', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(meanwhile.status).toBe(200);
    const dropped = await Promise.race([Promise.all(slow), new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 14_000))]);
    expect(dropped).not.toBe('still open');
    expect(Math.max(...(dropped as number[]))).toBeLessThan(13_000);
  }, 20_000);
});
