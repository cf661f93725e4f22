import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../shared/processes/processes.js';
import { parseConfig } from '../../shared/config/config.js';
import { createPlatform } from '../../shared/runtime/platform.js';
import { createTracking } from '../../shared/sdk/index.js';
import { useEmulators } from '../support/environment.js';

const { projectId, pubsubHost, firestoreHost } = useEmulators();
/** tsx's loader by absolute URL: the training folder has no node_modules of its own. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

// A training script as the README shows it, run with node beside a running platform.
const TRAINING_SCRIPT = `
import { createTracking } from ${JSON.stringify(pathToFileURL(resolve('shared/sdk/index.ts')).href)};
const tracking = createTracking();
const run = await tracking.startRun({ experiment: 'found-by-itself' });
run.logParams({ lr: 0.1 });
run.logMetric('auc', 0.91, 1);
await run.end();
await tracking.close();
console.log(run.id);
`;

/** A project folder whose .mlops-data/endpoints.json names these emulators, as `npm start` writes it. */
function projectBeside(emulators: { pubsub: string; firestore: string }): string {
  const project = mkdtempSync(join(tmpdir(), 'training-'));
  mkdirSync(join(project, '.mlops-data'));
  writeFileSync(join(project, '.mlops-data', 'endpoints.json'), JSON.stringify({ functions: {}, projectId, emulators }));
  writeFileSync(join(project, 'train.mjs'), TRAINING_SCRIPT);
  return project;
}

/** Runs the script with none of the platform's variables set, as a user's shell would. */
function train(project: string): Promise<{ code: number | null; stdout: string; stderr: string; seconds: number }> {
  const env = { ...process.env };
  for (const name of [
    'PUBSUB_EMULATOR_HOST',
    'FIRESTORE_EMULATOR_HOST',
    'GOOGLE_CLOUD_PROJECT',
    'METADATA_SERVER_DETECTION',
    'MLOPS_DATA_DIR',
    'MLOPS_PROFILE',
  ])
    delete env[name];
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', TSX_LOADER, 'train.mjs'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((done) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    }),
  );
}

describe('the tracking SDK finds the local platform by itself', () => {
  it('logs a run from a training script with no emulator variables set', async () => {
    const result = await train(projectBeside({ pubsub: pubsubHost, firestore: firestoreHost }));
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const tracking = createTracking(createPlatform(parseConfig(process.env)));
    try {
      const run = await tracking.getRun(result.stdout.trim());
      expect(run).toMatchObject({ status: 'FINISHED', params: { lr: '0.1' }, metrics: { auc: 0.91 } });
    } finally {
      await tracking.platform.close();
    }
  }, 60_000);

  it('says in one line what to start or set when no platform answers, without a credentials error', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const result = await train(projectBeside({ pubsub: closed, firestore: closed }));
    expect(result.code).not.toBe(0);
    expect(result.seconds).toBeLessThan(20);
    expect(result.stderr).toMatch(
      /No local platform answers at 127\.0\.0\.1:\d+ \(Firestore emulator\).* run "npm start".*set PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST/,
    );
    expect(result.stderr).not.toMatch(/default credentials/);
  }, 60_000);
});
