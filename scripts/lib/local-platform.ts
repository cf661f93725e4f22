import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { STACK, type FunctionSpec } from '../../infra/stack.js';
import { parseConfig } from '../../shared/config/config.js';
import { parseCron } from '../../shared/domain/cron.js';
import { ensureTopic } from '../../shared/adapters/gcp/pubsub-topology.js';
import { platform } from '../../shared/runtime/index.js';
import { startDashboard } from './dashboard/dashboard-server.js';
import { type RunningEmulator, locateEmulators, startFirestoreEmulator, startPubSubEmulator } from './emulators.js';
import { type FunctionCode, deployedCode, loadFunction, sourceCode } from './function-code.js';
import { bridgeSubscription } from './pull-bridge.js';
import { requireFreePort } from '../../shared/adapters/local/processes.js';

/** Ports of the local platform; firebase.json names the defaults. */
export interface LocalPorts {
  pubsub: number;
  firestore: number;
  functions: number;
}

/** Options of the local platform. */
export interface LocalPlatformOptions {
  dataDir: string;
  projectId?: string;
  fresh?: boolean;
  ports?: LocalPorts;
  /** Functions to host; all of infra/ by default. */
  functions?: FunctionSpec[];
  /** Run scheduler jobs on their schedules (off in tests, which publish themselves). */
  scheduler?: boolean;
  /** Port of the monitoring dashboard. By default 4000, or any free port when that one is taken or the functions take any (port 0). */
  dashboardPort?: number;
  /**
   * Run the deployable bundles instead of the TypeScript sources, started the way the cloud starts
   * them (see deployedCode), so a broken bundle fails here rather than after a deploy.
   */
  asDeployed?: boolean;
  /** Where asDeployed builds the bundles; dist/functions by default, as the deploy builds them. */
  bundlesDir?: string;
}

/** The monitoring dashboard's default port. */
export const DEFAULT_DASHBOARD_PORT = 4000;

/** A running local platform. */
export interface LocalPlatform {
  env: Record<string, string>;
  /** What the functions and serving revisions run: the sources or the bundles. */
  code: string;
  functions: { name: string; url: string; trigger: string }[];
  /** The monitoring dashboard, served by this process because it reads the DuckDB file the functions write. */
  dashboardUrl: string;
  /** Stops one hosted function (its port refuses connections) until resumeFunction: Pub/Sub redelivers meanwhile. */
  pauseFunction(name: string): Promise<void>;
  resumeFunction(name: string): Promise<void>;
  /** Models served again after a restart: they held the served alias when the platform stopped. */
  serving: Promise<{ model: string; version: number; url: string }[]>;
  stop(): Promise<void>;
}

/** The emulator and function ports from firebase.json. */
export function portsFromFirebaseJson(path = 'firebase.json'): LocalPorts {
  const { emulators } = JSON.parse(readFileSync(path, 'utf8')) as { emulators: Record<string, { port: number }> };
  return { pubsub: emulators.pubsub!.port, firestore: emulators.firestore!.port, functions: emulators.functions!.port };
}

/**
 * Starts the platform on one machine: both emulators, the topics and push subscriptions from
 * infra/, every function under the Functions Framework, the warehouse tables, the bucket watcher
 * and the scheduler. Everything it started stops with stop().
 */
export async function startLocalPlatform({
  dataDir,
  projectId = 'mlops-local',
  fresh = false,
  ports = portsFromFirebaseJson(),
  functions = STACK.functions.filter((spec) => !spec.perModel),
  scheduler = true,
  dashboardPort,
  asDeployed = false,
  bundlesDir,
}: LocalPlatformOptions): Promise<LocalPlatform> {
  if (fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const binaries = locateEmulators();
  await requireFreePort(ports.pubsub, 'Pub/Sub emulator');
  await requireFreePort(ports.firestore, 'Firestore emulator');
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch((error) => console.error(error));
  };
  try {
    // Built first: a bundle that does not build stops start-up before anything runs.
    const code = asDeployed ? await deployedCode({ functions, stack: STACK.functions, outDir: bundlesDir }) : sourceCode();
    stops.push(() => code.remove());
    const emulators = await Promise.all([
      startPubSubEmulator(binaries.pubsub, '127.0.0.1', ports.pubsub),
      startFirestoreEmulator(binaries.firestoreJar, '127.0.0.1', ports.firestore, { dataDir: join(dataDir, 'firestore'), projectId }),
    ]);
    stops.push(...emulators.map((emulator: RunningEmulator) => () => emulator.stop()));
    // Before the emulators stop, so revisions can flush their prediction log.
    stops.push(() => code.stopRevisions());
    const env = {
      GOOGLE_CLOUD_PROJECT: projectId,
      MLOPS_PROFILE: 'local',
      MLOPS_DATA_DIR: dataDir,
      PUBSUB_EMULATOR_HOST: emulators[0].host,
      FIRESTORE_EMULATOR_HOST: emulators[1].host,
      METADATA_SERVER_DETECTION: 'none',
      ...code.env,
    };
    Object.assign(process.env, env);
    const config = parseConfig(process.env);
    const local = platform();
    stops.push(() => local.close());

    const pubsub = new PubSub({ projectId });
    stops.push(() => pubsub.close());
    await Promise.all(STACK.topics.map((topic) => ensureTopic(pubsub, topic)));
    const hosted = await hostFunctions(functions, ports.functions, code);
    stops.push(
      ...hosted.map(
        ({ server }) =>
          () =>
            closeServer(server),
      ),
    );
    for (const sub of STACK.subscriptions.filter((candidate) => hosted.some((fn) => fn.spec.name === candidate.function))) {
      const url = hosted.find((fn) => fn.spec.name === sub.function)!.url;
      stops.push(await bridgeSubscription(pubsub, projectId, sub, url));
    }
    await (await local.warehouse()).ensureTables(STACK.tables);
    const dashboard = await startDashboard({
      platform: local,
      port: dashboardPort ?? (ports.functions === 0 ? 0 : DEFAULT_DASHBOARD_PORT),
      anyPortIfTaken: dashboardPort === undefined,
    });
    stops.push(() => dashboard.stop());
    writeEndpoints(dataDir, hosted, {
      dashboard: dashboard.url,
      projectId,
      emulators: { pubsub: env.PUBSUB_EMULATOR_HOST, firestore: env.FIRESTORE_EMULATOR_HOST },
    });
    await warmUp(local);
    if (config.artifacts.type === 'local') stops.push(await watchBucket(local));
    if (scheduler) stops.push(runScheduler(local));
    const serving = restoreServing(local);
    return {
      env,
      code: code.description,
      functions: hosted.map(({ spec, url }) => ({ name: spec.name, url, trigger: spec.trigger.type === 'topic' ? `topic ${spec.trigger.topic}` : 'http' })),
      dashboardUrl: dashboard.url,
      serving,
      pauseFunction: async (name) => closeServer(hostedNamed(hosted, name).server),
      resumeFunction: async (name) => {
        const fn = hostedNamed(hosted, name);
        await new Promise<void>((resolve, reject) => fn.server.once('error', reject).listen(Number(new URL(fn.url).port), '127.0.0.1', resolve));
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Hosts each function under the Functions Framework: its module registers the entry point, which is served as `--target` would. */
async function hostFunctions(specs: FunctionSpec[], basePort: number, code: FunctionCode): Promise<{ spec: FunctionSpec; url: string; server: Server }[]> {
  const hosted = [];
  for (const [index, spec] of specs.entries()) {
    const server = await loadFunction(code.moduleUrl(spec), spec.entryPoint);
    const port = basePort === 0 ? 0 : basePort + index;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    const address = server.address();
    hosted.push({ spec, server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}` });
  }
  return hosted;
}

/** Where each function (and the dashboard and emulators) listens, for the CLI and other terminals: `<dataDir>/endpoints.json`. */
function writeEndpoints(dataDir: string, hosted: { spec: FunctionSpec; url: string }[], extra: Record<string, unknown>): void {
  const endpoints = Object.fromEntries(hosted.map(({ spec, url }) => [spec.name, url]));
  writeFileSync(join(dataDir, 'endpoints.json'), `${JSON.stringify({ functions: endpoints, ...extra }, null, 2)}\n`);
}

/** Builds the adapters and opens the Firestore channel now, so the first upload is not a cold start. */
async function warmUp(local: ReturnType<typeof platform>): Promise<void> {
  await Promise.all([local.modelRunner(), local.artifacts(), local.registry().then((registry) => registry.getModel('warm-up'))]);
}

function hostedNamed<T extends { spec: FunctionSpec }>(hosted: T[], name: string): T {
  const found = hosted.find((fn) => fn.spec.name === name);
  if (!found) throw new Error(`No hosted function named ${name}`);
  return found;
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Starts a serving revision for every model whose served alias is set, in the background (ready
 * is not held up by model loading). Serving stops with the platform: the deployer is closed by it.
 */
function restoreServing(local: ReturnType<typeof platform>): Promise<{ model: string; version: number; url: string }[]> {
  const alias = local.config.serving.alias;
  const restore = async () => {
    const models = (await (await local.registry()).listModels()).filter((model) => model.aliases[alias] !== undefined);
    if (models.length === 0) return [];
    const deployer = await local.servingDeployer();
    const registry = await local.registry();
    return Promise.all(
      models.map(async (model) => {
        const deployment = await deployer.deploy(model.name, model.aliases[alias]!);
        await registry.recordServing(model.name, {
          url: deployment.url,
          version: deployment.version,
          revision: deployment.revision,
          deployedAt: deployment.deployedAt,
        });
        return { model: model.name, version: deployment.version, url: deployment.url };
      }),
    );
  };
  const restoring = restore();
  restoring.catch((error) => console.error(`Could not restore serving: ${error instanceof Error ? error.message : error}`));
  return restoring;
}

/** Polls the bucket folder so a file copied in by hand is finalized and notified like an upload. */
async function watchBucket(local: ReturnType<typeof platform>): Promise<() => Promise<void>> {
  const { LocalBucketArtifactStore } = await import('../../shared/adapters/local/local-bucket-artifact-store.js');
  const store = await local.artifacts();
  if (!(store instanceof LocalBucketArtifactStore)) return async () => {};
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => store.adoptUntracked()).catch((error) => console.error(`bucket watcher: ${error}`));
  }, 250);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** Publishes each scheduler job's message when its cron schedule matches the current minute. */
function runScheduler(local: ReturnType<typeof platform>): () => Promise<void> {
  const jobs = STACK.schedulerJobs.map((job) => ({ job, schedule: parseCron(job.schedule) }));
  let lastMinute = -1;
  const timer = setInterval(() => {
    const now = new Date();
    const minute = Math.floor(now.getTime() / 60_000);
    if (minute === lastMinute) return;
    lastMinute = minute;
    for (const { job } of jobs.filter((entry) => entry.schedule.matches(now))) {
      local
        .eventBus()
        .publish(job.topic, { ...job.message, job: job.name, scheduledTime: now.toISOString() })
        .catch((error) => console.error(`scheduler ${job.name}: ${error}`));
    }
  }, 1000);
  return async () => clearInterval(timer);
}
