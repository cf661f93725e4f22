import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../scripts/lib/process-table.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../shared/processes/processes.js';
import type { Model } from '../../shared/domain/registry.js';
import { mlops } from '../support/cli.js';
import { eventually } from '../support/environment.js';
import { binaryClassifierOnnx } from '../support/models.js';

// `npm start -- --as-deployed`: the bundles `npm run deploy` ships, installed as Cloud Build installs
// them, run the whole life of a model. A bundle that does not build, misses a package in its
// package.json or registers the wrong entry point stops start-up, so beforeAll fails
// (test/unit/scripts/lib/as-deployed/installed-bundles.test.ts shows each of those failures on its own).
const work = mkdtempSync(join(tmpdir(), 'as-deployed-'));
const dataDir = join(work, 'data');

/** The platform process's children: pid and command line. */
function childrenOf(pid: number): { pid: number; args: string }[] {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((match) => match !== null && Number(match[2]) === pid)
    .map((match) => ({ pid: Number(match![1]), args: match![3]! }));
}

describe('npm start -- --as-deployed', () => {
  let child: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;
  const installedIn = () => /installed in (\S+) as Cloud Build would/.exec(output)?.[1];
  const model = async () => (JSON.parse((await mlops('models', 'show', 'churn', '--json')).stdout) as { model: Model }).model;

  beforeAll(async () => {
    const [pubsub, firestore] = [await freePort(), await freePort()];
    const args = ['--import', 'tsx', 'scripts/start.ts', '--as-deployed', '--fresh', '--data-dir', dataDir, '--bundles-dir', join(work, 'bundles')];
    args.push('--pubsub-port', String(pubsub), '--firestore-port', String(firestore), '--functions-port', '0', '--dashboard-port', '0');
    child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MLOPS_LOG_LEVEL: '' } });
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    await Promise.race([
      eventually(async () => (/Ready in/.test(output) ? true : undefined), { timeoutMs: 40_000, what: `the platform to be ready:\n${output}` }),
      exited.then((code) => Promise.reject(new Error(`npm start -- --as-deployed exited with ${code} before it was ready:\n${output}`))),
    ]);
    Object.assign(process.env, {
      MLOPS_DATA_DIR: dataDir,
      PUBSUB_EMULATOR_HOST: `127.0.0.1:${pubsub}`,
      FIRESTORE_EMULATOR_HOST: `127.0.0.1:${firestore}`,
      GOOGLE_CLOUD_PROJECT: 'mlops-local',
      METADATA_SERVER_DETECTION: 'none',
      MLOPS_ACTOR: 'test',
    });
  }, 45_000);

  afterAll(async () => {
    if (child?.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('says it runs the bundles, installed outside the project', () => {
    expect(output).toMatch(/Running the deployable bundles of .*bundles, installed in \S+ as Cloud Build would/);
    expect(existsSync(join(installedIn()!, 'register-model/node_modules/@google-cloud/functions-framework'))).toBe(true);
  });

  it('registers an upload, serves it once promoted, answers /predict at the stable URL and logs the prediction to the warehouse', async () => {
    const file = join(work, 'model.onnx');
    writeFileSync(file, binaryClassifierOnnx());
    expect((await mlops('upload', file, '--name', 'churn')).code).toBe(0);
    expect((await model()).latestVersion).toBe(1);
    expect((await mlops('promote', 'churn', '1', '--to', 'production')).code).toBe(0);
    const serving = await eventually(async () => ((await model()).serving?.version === 1 ? (await model()).serving : undefined), {
      timeoutMs: 20_000,
      what: 'churn version 1 serving',
    });

    const response = await fetch(`${serving.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [[1, 2, 3, 4]] }),
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { version: number; ids: string[]; predictions: { probability: number }[] };
    expect(answer).toMatchObject({ version: 1, ids: [expect.any(String)] });
    expect(answer.predictions[0]!.probability).toBeGreaterThan(0.5);

    const dashboard = /dashboard\s+(http:\/\/\S+)/.exec(output)![1];
    const logged = await eventually(
      async () => {
        const summary = (await (await fetch(`${dashboard}/api/models/churn/summary`)).json()) as { versions: { version: number; online: number }[] };
        return summary.versions.find((row) => row.version === 1 && row.online > 0);
      },
      { timeoutMs: 20_000, what: 'the prediction in the warehouse' },
    );
    expect(logged.online).toBe(1);
  }, 50_000);

  it('serves from a revision started with plain Node from the installed serving bundle', () => {
    const revisions = childrenOf(child.pid!).filter((running) => running.args.includes('server.js'));
    expect(revisions.map((running) => running.args)).toEqual([`${process.execPath} ${join(installedIn()!, 'serve/server.js')}`]);
  });

  it('stops every process it started and removes the installed bundles', async () => {
    const started = childrenOf(child.pid!);
    expect(started.length).toBeGreaterThanOrEqual(3); // two emulators and the revision
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // tsx's esbuild services notice their parent is gone a moment later; a revision left behind never goes.
    await eventually(async () => (started.some(({ pid }) => isAlive(pid)) ? undefined : true), {
      timeoutMs: 5000,
      what: `these to stop: ${JSON.stringify(started.filter(({ pid }) => isAlive(pid)))}`,
    });
    expect(existsSync(installedIn()!)).toBe(false);
  }, 30_000);
});
