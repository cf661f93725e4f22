import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { STACK, type FunctionSpec } from '../../infra/stack.js';
import { parseCron } from '../../shared/domain/cron.js';
import { type JobDefinition, scheduledJobMessage } from '../../shared/domain/jobs.js';
import { declaredJobSpec } from '../../infra/plan-scheduler.js';
import { pubSubTopology } from './pubsub-topology.js';
import { platform } from '../../shared/runtime/index.js';
import { startDashboard } from './dashboard/dashboard-server.js';
import { type RunningEmulator, locateEmulators, startFirestoreEmulator, startPubSubEmulator } from './emulators.js';
import { type FunctionCode, deployedCode, loadFunction, sourceCode } from './function-code.js';
import { acquirePlatformLock, LOCK_FILE } from './platform-lock.js';
import { describeHolder, OWNER_VARIABLE } from './process-table.js';
import { DELIVERY_TOKEN_HEADER } from './pull-bridge.js';
import { startWatchdog } from './watchdog.js';
import { requireFreePort } from '../../shared/processes/index.js';
import { serveAliasHolder } from '../../shared/services/serving-rollout.js';
import { ENV } from '../../shared/config/env.js';

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
  /** Jobs declared in mlops.deploy.json (or the file `--jobs` names): the scheduler fires them on scheduled-jobs, as Cloud Scheduler does. */
  jobs?: JobDefinition[];
  /** Port of the monitoring dashboard. By default 4000, or any free port when that one is taken or the functions take any (port 0). */
  dashboardPort?: number;
  /**
   * Run the deployable bundles instead of the TypeScript sources, started the way the cloud starts
   * them (see deployedCode), so a broken bundle fails here rather than after a deploy.
   */
  asDeployed?: boolean;
  /** Where asDeployed builds the bundles; dist/functions by default, as the deploy builds them. */
  bundlesDir?: string;
  /** Start a watchdog that stops everything this platform started if its runner dies (on by default). */
  watchdog?: boolean;
  /** How often the registry is exported while running, so a crash loses at most that much; 10 s by default. */
  registryExportEveryMs?: number;
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
  jobs = [],
  dashboardPort,
  asDeployed = false,
  bundlesDir,
  watchdog = true,
  registryExportEveryMs = 10_000,
}: LocalPlatformOptions): Promise<LocalPlatform> {
  const binaries = locateEmulators();
  // Ports, then the folder's lock, before anything is touched: a refused start deletes nothing.
  await requirePortFree(ports.pubsub, 'Pub/Sub emulator');
  await requirePortFree(ports.firestore, 'Firestore emulator');
  mkdirSync(dataDir, { recursive: true });
  const owner = `${process.pid}:${Date.now()}`;
  const lock = acquirePlatformLock(dataDir, owner);
  if (lock.tookOverFrom) console.log(`Took over ${dataDir} from a runner that had stopped without cleaning up (PID ${lock.tookOverFrom}).`);
  if (fresh) emptyFolder(dataDir, LOCK_FILE);
  // Every process started from here on carries the mark, so a watchdog (or --clean-leftovers) can find it.
  process.env[OWNER_VARIABLE] = owner;
  if (watchdog) startWatchdog(owner);
  // Stopped last first: intake, then serving (revisions flush their logs), then delivery drained,
  // then the functions, then the emulators; each step is pushed in the reverse of that order.
  const stops: (() => Promise<void>)[] = [async () => lock.release()];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch((error) => console.error(error));
  };
  try {
    // Built first: a bundle that does not build stops start-up before anything runs.
    const code = asDeployed ? await deployedCode({ functions, stack: STACK.functions, outDir: bundlesDir }) : sourceCode();
    stops.push(() => code.remove());
    const emulators = await Promise.all([
      startPubSubEmulator(binaries.pubsub, '127.0.0.1', ports.pubsub),
      startFirestoreEmulator(binaries.firestoreJar, '127.0.0.1', ports.firestore, {
        dataDir: join(dataDir, 'firestore'),
        projectId,
        exportEveryMs: registryExportEveryMs,
      }),
    ]);
    stops.push(...emulators.map((emulator: RunningEmulator) => () => emulator.stop()));
    const env = {
      [ENV.projectId]: projectId,
      [ENV.profile]: 'local',
      [ENV.dataDir]: dataDir,
      [ENV.pubsubEmulatorHost]: emulators[0].host,
      [ENV.firestoreEmulatorHost]: emulators[1].host,
      METADATA_SERVER_DETECTION: 'none',
      ...code.env,
    };
    Object.assign(process.env, env);
    const local = platform();
    stops.push(() => local.close());

    const topology = pubSubTopology(projectId);
    stops.push(() => topology.close());
    await topology.ensureTopics(STACK.topics);
    const deliveryToken = randomBytes(24).toString('hex');
    const hosted = await hostFunctions(functions, ports.functions, code, deliveryToken);
    stops.push(
      ...hosted.map(
        ({ server }) =>
          () =>
            closeServer(server),
      ),
    );
    const bridges: (() => Promise<void>)[] = [];
    // Drained all at once on stop: each waits for its own subscription to go quiet.
    stops.push(async () => void (await Promise.all(bridges.map((closeBridge) => closeBridge()))));
    for (const sub of STACK.subscriptions.filter((candidate) => hosted.some((fn) => fn.spec.name === candidate.function))) {
      const url = hosted.find((fn) => fn.spec.name === sub.function)!.url;
      bridges.push(await topology.bridge(sub, url, { deliveryToken }));
    }
    await (await local.warehouse()).ensureTables(STACK.tables);
    const dashboard = await startDashboard({
      platform: local,
      port: dashboardPort ?? (ports.functions === 0 ? 0 : DEFAULT_DASHBOARD_PORT),
      anyPortIfTaken: dashboardPort === undefined,
    });
    stops.push(() => dashboard.stop());
    // The hosted functions run in this process: compute-drift links the reports it writes to this dashboard.
    process.env[ENV.dashboardUrl] = dashboard.url;
    writeEndpoints(dataDir, hosted, {
      dashboard: dashboard.url,
      projectId,
      emulators: { pubsub: env[ENV.pubsubEmulatorHost], firestore: env[ENV.firestoreEmulatorHost] },
    });
    await warmUp(local);
    let serving: ReturnType<typeof restoreServing> = Promise.resolve([]);
    stops.push(async () => {
      // A restore still under way finishes first, or its revision would outlive the stop.
      await serving.catch(() => undefined);
      await (await local.servingDeployer()).close();
      await code.stopRevisions();
    });
    stops.push(await watchBucket(local));
    if (scheduler) stops.push(runScheduler(local, jobs));
    serving = restoreServing(local);
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

/** Fails naming who holds the port (and whether it is a leftover of an earlier platform) when it is taken. */
async function requirePortFree(port: number, what: string): Promise<void> {
  await requireFreePort(port, what).catch(() => {
    throw new Error(`Port ${port} (${what}) is already in use ${describeHolder(port)}. Or choose other ports (npm start -- --help).`);
  });
}

/**
 * A topic function's server that takes only the runner's own deliveries: on Google Cloud only
 * Eventarc can invoke it (IAM), here a per-start secret header stands in. Anything else gets a JSON 403.
 */
function deliveriesOnly(framework: Server, deliveryToken: string): Server {
  const handle = framework.listeners('request')[0] as RequestListener;
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    if (request.headers[DELIVERY_TOKEN_HEADER] === deliveryToken) return handle(request, response);
    response.writeHead(403, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: 'Topic functions take only deliveries from their subscription.', code: 'AUTH.REQUIRED' }));
  });
}

/** Removes everything in a folder but one file. */
function emptyFolder(dir: string, keep: string): void {
  for (const name of readdirSync(dir)) if (name !== keep) rmSync(join(dir, name), { recursive: true, force: true });
}

/** Hosts each function under the Functions Framework: its module registers the entry point, which is served as `--target` would. */
async function hostFunctions(
  specs: FunctionSpec[],
  basePort: number,
  code: FunctionCode,
  deliveryToken: string,
): Promise<{ spec: FunctionSpec; url: string; server: Server }[]> {
  const hosted = [];
  for (const [index, spec] of specs.entries()) {
    const framework = await loadFunction(code.moduleUrl(spec), spec.entryPoint);
    const server = spec.trigger.type === 'topic' ? deliveriesOnly(framework, deliveryToken) : framework;
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
 * is not held up by model loading), as the serving-rollout use case would. Serving stops with the
 * platform: the deployer is closed by it.
 */
function restoreServing(local: ReturnType<typeof platform>): Promise<{ model: string; version: number; url: string }[]> {
  const servedAlias = local.config.serving.alias;
  const restore = async () => {
    const registry = await local.registry();
    const models = (await registry.listModels()).filter((model) => model.aliases[servedAlias] !== undefined);
    if (models.length === 0) return [];
    const deps = { registry, deployer: await local.servingDeployer(), servedAlias };
    const deployments = await Promise.all(models.map((model) => serveAliasHolder(model.name, deps)));
    return deployments.flatMap((deployment) => (deployment ? [{ model: deployment.model, version: deployment.version, url: deployment.url }] : []));
  };
  const restoring = restore();
  restoring.catch((error) => console.error(`Could not restore serving: ${error instanceof Error ? error.message : error}`));
  return restoring;
}

/** Polls the bucket folder so a file copied in by hand is finalized and notified like an upload; a store that cannot be written behind its back (GCS) needs no watching. */
async function watchBucket(local: ReturnType<typeof platform>): Promise<() => Promise<void>> {
  const store = await local.artifacts();
  if (!store.adoptUntracked) return async () => {};
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => store.adoptUntracked?.()).catch((error) => console.error(`bucket watcher: ${error}`));
  }, 250);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** One message the local scheduler publishes: which job, on which topic, with what. */
export interface ScheduledMessage {
  name: string;
  topic: string;
  message: unknown;
}

/**
 * What Cloud Scheduler would publish at `now` (a minute): infra's jobs and the declared ones
 * (mlops.deploy.json `jobs`) whose cron schedule matches it; a declared job carries its definition.
 */
export function scheduledMessages(declared: JobDefinition[]): (now: Date) => ScheduledMessage[] {
  const jobs = [
    ...STACK.schedulerJobs.map((job) => ({ ...job, messageAt: (now: Date) => ({ ...job.message, job: job.name, scheduledTime: now.toISOString() }) })),
    ...declared.map((job) => ({ ...declaredJobSpec(job), messageAt: (now: Date) => scheduledJobMessage(job, now) })),
  ].map((job) => ({ job, schedule: parseCron(job.schedule) }));
  return (now) => jobs.filter((entry) => entry.schedule.matches(now)).map(({ job }) => ({ name: job.name, topic: job.topic, message: job.messageAt(now) }));
}

/** Publishes, once a minute, what {@link scheduledMessages} says is due. */
function runScheduler(local: ReturnType<typeof platform>, declared: JobDefinition[]): () => Promise<void> {
  const due = scheduledMessages(declared);
  let lastMinute = -1;
  const timer = setInterval(() => {
    const now = new Date();
    const minute = Math.floor(now.getTime() / 60_000);
    if (minute === lastMinute) return;
    lastMinute = minute;
    for (const { name, topic, message } of due(now)) {
      local
        .eventBus()
        .publish(topic, message)
        .catch((error) => console.error(`scheduler ${name}: ${error}`));
    }
  }, 1000);
  return async () => clearInterval(timer);
}
