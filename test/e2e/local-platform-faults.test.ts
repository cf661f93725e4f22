import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { markedProcesses } from '../../scripts/lib/process-table.js';
import { freePort } from '../../shared/processes/processes.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';
import { binaryClassifierOnnx } from '../support/models.js';

const started: StartedPlatform[] = [];
const start = async (options: Parameters<typeof startPlatformProcess>[0] = {}) => {
  const platform = await startPlatformProcess(options);
  started.push(platform);
  return platform;
};
afterAll(async () => {
  for (const platform of started) if (platform.child.exitCode === null && platform.child.signalCode === null) await platform.stop('SIGTERM');
});

const ownerOf = (platform: StartedPlatform) => (JSON.parse(readFileSync(join(platform.dataDir, 'platform.lock'), 'utf8')) as { owner: string }).owner;
const functionUrl = (platform: StartedPlatform, name: string) =>
  (JSON.parse(readFileSync(join(platform.dataDir, 'endpoints.json'), 'utf8')) as { functions: Record<string, string> }).functions[name]!;
const noneLeft = (owner: string, what: string) => eventually(async () => (markedProcesses(owner).length === 0 ? true : undefined), { timeoutMs: 15_000, what });

/** Copies a model into the local bucket (as a user may), waits for its registration, promotes it and returns its stable URL. */
async function serveModel(platform: StartedPlatform, model: string): Promise<string> {
  const folder = join(platform.dataDir, 'bucket', 'mlops-artifacts', 'models', model, 'manual');
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'model.onnx'), binaryClassifierOnnx());
  const registry = functionUrl(platform, 'registry-api');
  await eventually(async () => ((await fetch(`${registry}/models/${model}`)).ok ? true : undefined), { timeoutMs: 20_000, what: `${model} registered` });
  const promoted = await fetch(`${registry}/models/${model}/aliases/production`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version: 1, reason: 'test' }),
  });
  expect(promoted.status).toBe(200);
  return eventually(
    async () => ((await (await fetch(`${registry}/models/${model}`)).json()) as { model: { serving?: { url: string; version: number } } }).model.serving?.url,
    { timeoutMs: 45_000, what: `${model} served` },
  ).catch((error) => {
    throw new Error(`${error.message}\n${platform.output().slice(-3000)}`);
  });
}

/** Sends one-row predictions from `loops` loops until `until()` says stop; returns the ids answered 200. */
async function predictUntil(url: string, loops: number, until: () => boolean): Promise<string[]> {
  const answered: string[] = [];
  const loop = async () => {
    while (!until()) {
      const response = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"instances":[[1,2,3,4]]}',
      }).catch(() => undefined);
      if (response?.status === 200) answered.push(...((await response.json()) as { ids: string[] }).ids);
      else if (!response) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await Promise.all(Array.from({ length: loops }, loop));
  return answered;
}

async function warehouseIds(dataDir: string): Promise<Set<string>> {
  const instance = await DuckDBInstance.create(join(dataDir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' });
  try {
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll('SELECT prediction_id FROM mlops.predictions');
    return new Set(reader.getRowObjects().map((row) => String(row.prediction_id)));
  } finally {
    instance.closeSync();
  }
}

describe('the local platform under faults', () => {
  it('refuses a second start on the same folder or ports, naming who holds them, and deletes nothing', async () => {
    const running = await start();
    const warehouse = join(running.dataDir, 'warehouse.duckdb');
    const before = statSync(warehouse).ino;
    const samePorts = await startPlatformProcess({ dataDir: running.dataDir, fresh: true, ports: running.ports, waitForReady: false });
    expect(await samePorts.exited).toBe(1);
    expect(samePorts.output()).toMatch(
      new RegExp(`Port ${running.ports.pubsub} .* in use by PID \\d+ .*of the local platform run by PID ${running.child.pid}`),
    );
    const otherPorts = await startPlatformProcess({ dataDir: running.dataDir, fresh: true, waitForReady: false });
    expect(await otherPorts.exited).toBe(1);
    expect(otherPorts.output()).toMatch(new RegExp(`belongs to the local platform run by PID ${running.child.pid}.*Nothing was changed`));
    expect(statSync(warehouse).ino).toBe(before);
    expect((await fetch(`${functionUrl(running, 'registry-api')}/health`)).status).toBe(200);
    await running.stop();
  }, 120_000);

  it('names a process outside any platform that holds a port', async () => {
    const port = await freePort();
    const squatter = createServer().listen(port, '127.0.0.1');
    try {
      const refused = await startPlatformProcess({ ports: { pubsub: port, firestore: await freePort(), functions: 0 }, waitForReady: false });
      expect(await refused.exited).toBe(1);
      expect(refused.output()).toMatch(
        new RegExp(`Port ${port} \\(Pub/Sub emulator\\) is already in use by PID ${process.pid} .*not part of a local platform`),
      );
    } finally {
      squatter.close();
    }
  }, 60_000);

  it('takes only the runner’s own deliveries on topic functions', async () => {
    const running = await start();
    const forged = await fetch(`${functionUrl(running, 'promote-model')}/projects/mlops-local/topics/model-promotions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: { data: Buffer.from('{}').toString('base64'), messageId: '1' }, subscription: 'x' }),
    });
    expect(forged.status).toBe(403);
    expect(await forged.json()).toMatchObject({ code: 'AUTH.REQUIRED' });
    expect(await (await fetch(functionUrl(running, 'promote-model'))).text()).not.toMatch(/\/work\/|node_modules|at .*\.js/);
    const malformed = await fetch(`${functionUrl(running, 'registry-api')}/models/churn/aliases/production`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"version": ',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).not.toMatch(/node_modules|\.js:\d+|at [A-Za-z.]+ \(/);
    await running.stop();
  }, 120_000);

  it('on Ctrl-C under load through npm start, logs every answered prediction and leaves no process', async () => {
    const running = await start({ viaNpm: true });
    const owner = ownerOf(running);
    const url = await serveModel(running, 'churn');
    let stopAt = Number.POSITIVE_INFINITY;
    const load = predictUntil(url, 16, () => Date.now() > stopAt);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const exit = running.stop('SIGINT');
    stopAt = Date.now() + 2000;
    const answered = await load;
    await exit;
    // npm re-raises the signal on itself once the runner is done; the runner's own last word is what counts.
    expect(running.output()).toMatch(/Stopped\.\s*$/);
    expect(answered.length).toBeGreaterThan(100);
    const logged = await warehouseIds(running.dataDir);
    expect(answered.filter((id) => !logged.has(id))).toEqual([]);
    await noneLeft(owner, 'every process of the stopped platform gone');
  }, 180_000);

  it('after a SIGKILL of the runner, its processes are stopped and the next start has the registry', async () => {
    const first = await start({ args: ['--registry-export-every', '1'] });
    const owner = ownerOf(first);
    await serveModel(first, 'fraud');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await first.stop('SIGKILL');
    await noneLeft(owner, 'the watchdog stopped the killed runner’s processes');

    const second = await start({ dataDir: first.dataDir });
    expect(second.output()).toMatch(/Took over .* from a runner that had stopped without cleaning up/);
    const models = (await (await fetch(`${functionUrl(second, 'registry-api')}/models`)).json()) as { models: { name: string }[] };
    expect(models.models.map((model) => model.name)).toContain('fraud');
    // Ctrl-C at once, while the served model's revision is being restored: it must not outlive the stop.
    const secondOwner = ownerOf(second);
    expect(await second.stop('SIGINT')).toBe(0);
    await noneLeft(secondOwner, 'no revision orphaned by a stop during restore');
  }, 180_000);
});
