import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../../../shared/processes/processes.js';
import { OWNER_VARIABLE } from '../../../../../scripts/lib/process-table.js';
import type { CheckResult } from '../../../../../scripts/cli/doctor/check.js';
import { allRequiredPass, formatDoctor, runDoctor } from '../../../../../scripts/cli/doctor/doctor.js';
import { deployChecks } from '../../../../../scripts/cli/doctor/deploy-checks.js';
import { checkNode } from '../../../../../scripts/cli/doctor/local-checks.js';
import { mlops } from '../../../../support/cli.js';

const folder = mkdtempSync(join(tmpdir(), 'doctor-'));
const named = (results: CheckResult[], name: string) => {
  const found = results.find((result) => result.name === name);
  if (!found) throw new Error(`no check named ${name} in ${results.map((result) => result.name).join(', ')}`);
  return found;
};

/** Another process holding a port; with `env`, marked as a local platform's runner marks what it starts. */
async function holdPort(port: number, env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1', () => console.log('listening'))`], { env });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', () => reject(new Error('the port holder exited')));
  });
  return child;
}

describe('mlops doctor: local checks, for real', () => {
  let holder: ChildProcess;
  let leftover: ChildProcess;
  let ports: { busy: number; free: number; functions: number };
  let firebaseJson: string;

  beforeAll(async () => {
    ports = { busy: await freePort(), free: await freePort(), functions: await freePort() };
    firebaseJson = join(folder, 'firebase.json');
    const emulators = { pubsub: { port: ports.busy }, firestore: { port: ports.free }, functions: { port: ports.functions } };
    writeFileSync(firebaseJson, JSON.stringify({ emulators }));
    holder = await holdPort(ports.busy);
    // A leftover of a platform whose runner is gone: its owner mark names a PID that has exited.
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
    leftover = await holdPort(ports.functions, { ...process.env, [OWNER_VARIABLE]: `${gone}:1` });
  });
  afterAll(() => {
    holder?.kill();
    leftover?.kill();
  });

  it('names the PID and command line holding a port of firebase.json, with the command that frees it', async () => {
    const results = await runDoctor({ firebaseJson });
    expect(named(results, `port ${ports.busy}`)).toMatchObject({
      status: 'missing',
      required: true,
      detail: expect.stringContaining(`in use (Pub/Sub emulator) by PID ${holder.pid} (${process.execPath} -e require('net')`),
      fix: `kill ${holder.pid}, or npm start -- --pubsub-port <another port>`,
    });
    expect(named(results, `port ${ports.free}`)).toMatchObject({ status: 'ok', detail: 'free (Firestore emulator)' });
    const functions = results.find((result) => result.name.startsWith(`ports ${ports.functions}-`));
    expect(functions).toMatchObject({ status: 'missing', detail: expect.stringContaining(`${ports.functions} by PID ${leftover.pid} (`) });
    expect(functions!.fix).toMatch(/^npm start -- --clean-leftovers \(a leftover of a platform whose runner, PID \d+, is gone\)/);
    expect(allRequiredPass(results)).toBe(false);
    expect(formatDoctor(results, { deploy: false })).toMatch(new RegExp(`MISSING\\s+port ${ports.busy}\\s+in use .*\\n\\s+fix: kill ${holder.pid}`));
  });

  it('agrees with the machine about Java and gcloud, and gives the fix for each when they are not on PATH', async () => {
    const results = await runDoctor({ firebaseJson });
    const javaWorks = spawnSync('java', ['-version']).status === 0;
    expect(named(results, 'Java').status).toBe(javaWorks ? 'ok' : 'missing');
    expect(named(results, 'gcloud SDK').status).toBe(spawnSync('gcloud', ['version']).status === 0 ? 'ok' : 'missing');
    for (const result of results)
      if (result.status !== 'ok') expect({ name: result.name, fix: result.fix }).toEqual({ name: result.name, fix: expect.any(String) });

    const bare = await runDoctor({ firebaseJson, env: { ...process.env, PATH: folder } });
    expect(named(bare, 'Java')).toMatchObject({ status: 'missing', fix: 'sudo apt-get install openjdk-17-jre-headless' });
    expect(named(bare, 'gcloud SDK')).toMatchObject({ status: 'missing', fix: expect.stringContaining('apt-get install google-cloud-cli') });
    expect(allRequiredPass(bare)).toBe(false);
  });

  it('wants Node.js 20 or newer', () => {
    expect(checkNode('v20.0.0').status).toBe('ok');
    expect(checkNode('v18.19.1')).toMatchObject({ status: 'missing', fix: expect.stringContaining('nvm install 20') });
  });
});

describe('mlops doctor --deploy, offline with an empty gcloud configuration', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, CLOUDSDK_CONFIG: mkdtempSync(join(tmpdir(), 'gcloud-empty-')) };
  delete env.CLOUDSDK_CORE_PROJECT;
  delete env.GOOGLE_APPLICATION_CREDENTIALS;

  it('reports the missing account with gcloud auth login as the fix, and what it could not check, quickly', async () => {
    const started = Date.now();
    const results = await runDoctor({ env, deploy: true, deployConfigFile: join(folder, 'none.json'), timeoutMs: 20_000 });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(named(results, 'gcloud account')).toMatchObject({ status: 'missing', detail: 'no active account', fix: 'gcloud auth login' });
    expect(named(results, 'application default credentials')).toMatchObject({ status: 'missing', fix: 'gcloud auth application-default login' });
    expect(named(results, 'project')).toMatchObject({ status: 'missing', fix: expect.stringContaining('--project <id>') });
    for (const name of ['billing', 'APIs', 'roles'])
      expect(named(results, name)).toMatchObject({ status: 'unchecked', detail: 'could not check: no active gcloud account (gcloud auth login)' });
    expect(allRequiredPass(results)).toBe(false);
    expect(formatDoctor(results, { deploy: true })).toMatch(/MISSING\s+gcloud account\s+no active account\n\s+fix: gcloud auth login/);
  }, 30_000);

  it('takes the project from mlops.deploy.json', async () => {
    const deployConfigFile = join(folder, 'mlops.deploy.json');
    writeFileSync(deployConfigFile, JSON.stringify({ project: 'my-mlops-project' }));
    const results = await deployChecks({ env, deployConfigFile, timeoutMs: 20_000 });
    expect(named(results, 'project')).toMatchObject({ status: 'ok', detail: 'my-mlops-project' });
  }, 30_000);
});

describe('mlops doctor on the command line', () => {
  it('exits 0 exactly when every required check passes, and prints them as JSON', async () => {
    const result = await mlops('doctor', '--json');
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: CheckResult[] };
    expect(report.checks.map((check) => check.name)).toEqual(
      expect.arrayContaining(['Node.js', 'Java', 'gcloud SDK', 'Pub/Sub emulator', 'Firestore emulator']),
    );
    expect(result.code).toBe(allRequiredPass(report.checks) ? 0 : 1);
    expect(report.ok).toBe(result.code === 0);
  }, 30_000);

  it('refuses a bad --timeout as wrong usage', async () => {
    expect((await mlops('doctor', '--timeout', 'soon')).code).toBe(2);
  });
});
