import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { type Server, createServer, request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { LocalServingDeployer } from '../../shared/adapters/local-serving/local-serving-deployer.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { type ManagedProcess, startProcess } from '../../shared/processes/processes.js';
import { eventually, useEmulators } from '../support/environment.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { registerModelFile } from '../support/registered-model.js';

/** A stable URL to load, and the process its request bodies reach. */
interface Arrangement {
  url: URL;
  /** Resident memory, in bytes, of the process that reads the bodies sent to the stable URL. */
  receiverRss(): number;
  /** Body bytes the revision's app was given, where the arrangement can count them. */
  appBytes?(): number;
  stop(): Promise<void>;
}

const { projectId } = useEmulators();
const PREDICTION = JSON.stringify({ instances: [[1, 2, 3, 4]] });
const MAX_BODY_BYTES = 1024 * 1024;

function rssOf(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

/**
 * The stable URL as `npm start` runs it: the local deployer's router handing its connections to a
 * real revision (functions/serve/server.ts) of a registered model. The bodies reach the revision.
 */
async function handedToRevision(): Promise<Arrangement> {
  const dataDir = mkdtempSync(join(tmpdir(), 'router-limits-'));
  const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
  const registry = new FirestoreModelRegistry({ projectId, client: firestore });
  // The revision logs its predictions there.
  const pubsub = new PubSub({ projectId });
  await pubsub.createTopic(TOPICS.predictions);
  await registerModelFile(
    { registry, bucket: new LocalBucketArtifactStore({ root: join(dataDir, 'bucket'), bucket: 'mlops-artifacts' }) },
    'limits',
    binaryClassifierOnnx(),
  );
  const deployer = new LocalServingDeployer({ projectRoot: resolve(import.meta.dirname, '../..'), env: { ...process.env, MLOPS_DATA_DIR: dataDir } });
  const { url } = await deployer.deploy('limits', 1);
  const revision = readdirSync('/proc').find((entry) => /^\d+$/.test(entry) && isRevisionOf(Number(entry), 'limits'));
  // The first prediction loads the Pub/Sub client that publishes the log: done before memory is watched.
  await fetch(new URL('/predict', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: PREDICTION });
  await eventually(async () => (/mlops_prediction_log_published_total [1-9]/.test(await (await fetch(new URL('/metrics', url))).text()) ? true : undefined), {
    timeoutMs: 20_000,
    what: 'the first prediction to be published',
  });
  return {
    url: new URL(url),
    receiverRss: () => rssOf(Number(revision)),
    stop: async () => {
      await deployer.close();
      await Promise.all([firestore.terminate(), pubsub.close()]);
    },
  };
}

function isRevisionOf(pid: number, model: string): boolean {
  try {
    const parent = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    return parent === process.pid && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`MLOPS_SERVE_MODEL=${model}`);
  } catch {
    return false;
  }
}

/**
 * The router in a process of its own (the deployer's defaults) in front of a revision it did not
 * start, so it proxies: a stand-in that counts the bytes it is sent. The bodies reach the router.
 */
async function proxiedToRevision(): Promise<Arrangement> {
  let upstreamBytes = 0;
  const upstream: Server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (upstreamBytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  let router!: ManagedProcess;
  const listening = new Promise<string>((resolve, reject) => {
    router = startProcess('router', process.execPath, ['--import', 'tsx', 'test/support/serving-router-process.ts'], {
      env: { ...process.env, ROUTER_UPSTREAM_PORT: String((upstream.address() as { port: number }).port) },
      onLine: (line) => /listening on (\d+)/.exec(line)?.[1] && resolve(/listening on (\d+)/.exec(line)![1]!),
    });
    router.child.once('exit', (code) => reject(new Error(`the router exited with ${code}`)));
  });
  return {
    url: new URL(`http://127.0.0.1:${await listening}`),
    receiverRss: () => rssOf(router.child.pid!),
    appBytes: () => upstreamBytes,
    stop: async () => {
      await router.stop();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    },
  };
}

/** POSTs `bytes` of JSON-looking data as fast as the socket takes it (chunked when asked); resolves with the status and body, or the error when no answer came. */
function postLarge(url: URL, bytes: number, { chunked = false } = {}): Promise<{ status?: number; body?: string; error?: string; ms: number }> {
  const started = Date.now();
  const headers = { 'content-type': 'application/json', ...(!chunked && { 'content-length': bytes }) };
  return new Promise((resolve) => {
    const sent = request({ host: url.hostname, port: url.port, method: 'POST', path: '/predict', headers }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body, ms: Date.now() - started }));
    });
    // Writes fail once the server has answered and closed; the answer is what counts.
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

describe.each([
  ['handed to a revision the local deployer started', handedToRevision],
  ['proxied to a revision the router did not start', proxiedToRevision],
])('the stable URL %s, under oversized bodies and slow clients', (_name, arrange) => {
  let stableUrl: Arrangement;
  let url: URL;

  beforeAll(async () => {
    stableUrl = await arrange();
    url = stableUrl.url;
  }, 60_000);

  afterAll(() => stableUrl?.stop(), 30_000);

  it.each([
    ['on their Content-Length', false],
    ['while streaming them chunked', true],
  ])(
    'refuses 20 concurrent 30 MB posts with 413 %s, the receiving process growing by no more than their limits',
    async (_how, chunked) => {
      await fetch(new URL('/predict', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: PREDICTION });
      const before = stableUrl.receiverRss();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, stableUrl.receiverRss())), 10);
      const appBefore = stableUrl.appBytes?.();
      const answers = await Promise.all(Array.from({ length: 20 }, () => postLarge(url, 30_000_000, { chunked })));
      clearInterval(sampler);
      peak = Math.max(peak, stableUrl.receiverRss());
      for (const answer of answers) {
        expect(answer).toMatchObject({ status: 413 });
        expect(JSON.parse(answer.body!)).toEqual({ code: 'REQUEST.TOO_LARGE', error: expect.stringContaining('1048576-byte limit') });
        expect(answer.ms).toBeLessThan(3000);
      }
      // A declared length is refused before any of the body is read; a chunked body is read up to the limit first.
      if (!chunked && appBefore !== undefined) expect(stableUrl.appBytes!() - appBefore).toBe(0);
      expect(peak - before).toBeLessThan(8 * 1024 * 1024 + (chunked ? 20 * MAX_BODY_BYTES : 0));
    },
    30_000,
  );

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
    // Reading (resume), or a socket never sees the server close it.
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
    const meanwhile = await fetch(new URL('/predict', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: PREDICTION });
    expect(meanwhile.status).toBe(200);
    const dropped = await Promise.race([Promise.all(slow), new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), 14_000))]);
    expect(dropped).not.toBe('still open');
    expect(Math.max(...(dropped as number[]))).toBeLessThan(13_000);
  }, 20_000);
});
