import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STACK } from '../../infra/stack.js';
import { ENV } from '../../shared/config/env.js';
import { freePort } from '../../shared/processes/index.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { runCaptured } from '../cli/main.js';
import { type RunningEmulator, locateEmulators, startPubSubEmulator } from '../lib/emulators.js';
import { type LocalPlatform, startLocalPlatform } from '../lib/local-platform.js';
import { smallModelOnnx, wideModelOnnx } from './models.js';
import { pinToLoadCore } from './processes.js';

/** Functions the benchmarks need: the registry path, serving roll-out and prediction ingest. */
const HOSTED = ['register-model', 'promote-model', 'serving-rollout', 'registry-api', 'ingest-predictions'];

/** The two benchmark models. */
export const MODELS = { small: { name: 'bench-small', bytes: smallModelOnnx }, wide: { name: 'bench-wide', bytes: wideModelOnnx } } as const;

/** Options every section reads. */
export interface BenchSettings {
  /** Seconds of load measured per case, after its warm-up. */
  seconds: number;
  warmupSeconds: number;
  connections: number;
}

/** Output of one `mlops` command run in-process. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * What sections share in one run: a scratch folder, the local platform (started on first use, in
 * this process, on free ports), the registered benchmark models, a second Pub/Sub emulator that
 * serving processes publish prediction logs to, and measurements reused across sections.
 */
export class BenchContext {
  readonly workDir = mkdtempSync(join(tmpdir(), 'mlops-bench-'));
  private local?: Promise<LocalPlatform>;
  private servingBus?: Promise<RunningEmulator>;
  private readonly memos = new Map<string, Promise<unknown>>();
  private readonly files = new Set<string>();

  constructor(readonly settings: BenchSettings) {}

  /** The local platform, as `npm start` runs it but with only the functions benchmarked. */
  platform(): Promise<LocalPlatform> {
    this.local ??= (async () => {
      process.env[ENV.logLevel] = 'silent';
      const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
      const functions = STACK.functions.filter((spec) => HOSTED.includes(spec.name));
      return startLocalPlatform({ dataDir: join(this.workDir, 'platform'), ports, fresh: true, scheduler: false, functions });
    })();
    return this.local;
  }

  /** Runs one `mlops` command line against the local platform, as a user would. */
  async mlops(...argv: string[]): Promise<CliRun> {
    await this.platform();
    return runCaptured(...argv);
  }

  /** Uploads a model file through the CLI and waits until it is registered; returns its version. */
  async upload(name: string, file: string): Promise<ModelVersion> {
    const run = await this.mlops('upload', file, '--name', name, '--json');
    if (run.code !== 0) throw new Error(`mlops upload ${name} failed: ${run.stderr}`);
    return (JSON.parse(run.stdout) as { version: ModelVersion }).version;
  }

  /** Writes a benchmark model to the scratch folder and returns its path. */
  modelFile(kind: keyof typeof MODELS): string {
    const file = join(this.workDir, `${MODELS[kind].name}.onnx`);
    if (!this.files.has(file)) {
      writeFileSync(file, MODELS[kind].bytes());
      this.files.add(file);
    }
    return file;
  }

  /** The benchmark model registered once per run. */
  registered(kind: keyof typeof MODELS): Promise<ModelVersion> {
    return this.memo(`model:${kind}`, () => this.upload(MODELS[kind].name, this.modelFile(kind)));
  }

  /** Environment of a serving process pinned to `version`, logging predictions to the serving emulator. */
  async servingEnv(version: ModelVersion): Promise<NodeJS.ProcessEnv> {
    const local = await this.platform();
    const bus = await this.servingEmulator();
    return {
      ...local.env,
      [ENV.pubsubEmulatorHost]: bus.host,
      [ENV.serveModel]: version.model,
      [ENV.serveVersion]: String(version.version),
      [ENV.logLevel]: '',
    };
  }

  /**
   * A Pub/Sub emulator of its own with only the predictions topic: serving pays for publishing its
   * prediction log as in the cloud, while nothing downstream (ingest, DuckDB) competes for the CPU.
   */
  servingEmulator(): Promise<RunningEmulator> {
    this.servingBus ??= (async () => {
      const local = await this.platform();
      const emulator = await startPubSubEmulator(locateEmulators().pubsub, '127.0.0.1', await freePort());
      const topic = `http://${emulator.host}/v1/projects/${local.env[ENV.projectId]}/topics/${TOPICS.predictions}`;
      const response = await fetch(topic, { method: 'PUT' });
      if (!response.ok) throw new Error(`Could not create the predictions topic: ${response.status} ${await response.text()}`);
      // Google's Pub/Sub runs elsewhere than the serving instance: its stand-in shares the load generator's core, not the server's.
      if (emulator.process.child.pid) pinToLoadCore([emulator.process.child.pid]);
      return emulator;
    })();
    return this.servingBus;
  }

  /** Process groups of the load test besides the server: the serving emulator, if started. */
  async supportGroups(): Promise<number[]> {
    const bus = await this.servingBus?.catch(() => undefined);
    return bus?.process.child.pid ? [bus.process.child.pid] : [];
  }

  /** Writes a request body to the scratch folder; returns its path. */
  bodyFile(name: string, body: string): string {
    const file = join(this.workDir, name);
    writeFileSync(file, body);
    return file;
  }

  /** A measurement made once per run and shared by the sections that need it. */
  memo<T>(key: string, make: () => Promise<T>): Promise<T> {
    let value = this.memos.get(key) as Promise<T> | undefined;
    if (!value) {
      value = make();
      this.memos.set(key, value);
    }
    return value;
  }

  /** A measurement another section already made in this run, if any. */
  recall<T>(key: string): Promise<T> | undefined {
    return this.memos.get(key) as Promise<T> | undefined;
  }

  /** Stops the serving emulator and the platform, and removes the scratch folder. */
  async close(): Promise<void> {
    await (await this.servingBus?.catch(() => undefined))?.stop();
    await (await this.local?.catch(() => undefined))?.stop();
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
