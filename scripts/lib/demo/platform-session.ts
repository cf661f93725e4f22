import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENV } from '../../../shared/config/env.js';
import { freePort, requireFreePort } from '../../../shared/processes/index.js';
import { type LocalPorts, portsFromFirebaseJson, startLocalPlatform } from '../local-platform.js';

/** What `<dataDir>/endpoints.json` says about a running local platform. */
export interface Endpoints {
  functions: Record<string, string>;
  dashboard?: string;
  projectId?: string;
  emulators?: { pubsub: string; firestore: string };
}

/** A local platform the demo talks to: one already running, or one it started in this process. */
export interface PlatformSession {
  functions: Record<string, string>;
  dashboardUrl: string;
  startedHere: boolean;
  /** Stops the platform if this session started it; leaves a running one alone. */
  stop(): Promise<void>;
}

/** Options of `connectOrStart`. */
export interface PlatformSessionOptions {
  dataDir: string;
  /** Called with one line when the session starts a platform itself. */
  progress?: (line: string) => void;
}

/** The functions the demo calls over HTTP; each must answer /health for a platform to count as running. */
const REQUIRED_FUNCTIONS = ['registry-api', 'data-api'];

/**
 * Uses the platform `npm start` runs, found through its endpoints.json and a health check, or
 * starts one in this process (on firebase.json's ports when free, else on free ports).
 */
export async function connectOrStart({ dataDir, progress = () => undefined }: PlatformSessionOptions): Promise<PlatformSession> {
  const running = await runningPlatform(dataDir);
  if (running) {
    Object.assign(process.env, {
      [ENV.profile]: 'local',
      [ENV.dataDir]: dataDir,
      [ENV.projectId]: running.projectId,
      [ENV.pubsubEmulatorHost]: running.emulators.pubsub,
      [ENV.firestoreEmulatorHost]: running.emulators.firestore,
      METADATA_SERVER_DETECTION: 'none',
    });
    return { functions: running.functions, dashboardUrl: running.dashboard, startedHere: false, stop: async () => undefined };
  }
  const ports = await portsToUse();
  const where = ports.functions === 0 ? " on free ports (firebase.json's are taken)" : '';
  progress(`no running platform found in ${dataDir}; starting one in this process${where}`);
  const local = await startLocalPlatform({ dataDir, ports, scheduler: false });
  return {
    functions: Object.fromEntries(local.functions.map((fn) => [fn.name, fn.url])),
    dashboardUrl: local.dashboardUrl,
    startedHere: true,
    stop: () => local.stop(),
  };
}

/** The endpoints of a healthy platform serving `dataDir`, or undefined when none answers. */
async function runningPlatform(dataDir: string): Promise<Required<Endpoints> | undefined> {
  const file = join(dataDir, 'endpoints.json');
  if (!existsSync(file)) return undefined;
  const endpoints = JSON.parse(readFileSync(file, 'utf8')) as Endpoints;
  const urls = REQUIRED_FUNCTIONS.map((name) => endpoints.functions[name]);
  if (urls.some((url) => url === undefined)) return undefined;
  const healthy = await Promise.all(urls.map((url) => answers(`${url}/health`)));
  if (!healthy.every(Boolean)) return undefined;
  if (!endpoints.dashboard || !endpoints.emulators || !(await answers(`${endpoints.dashboard}/api/health`))) {
    throw new Error(`The platform running for ${dataDir} predates the dashboard: stop it (Ctrl-C in its terminal) and run "npm start" again.`);
  }
  return { ...endpoints, projectId: endpoints.projectId ?? 'mlops-local' } as Required<Endpoints>;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1500) })).ok;
  } catch {
    return false;
  }
}

/** firebase.json's ports when all are free; otherwise (another platform holds them) free ones. */
async function portsToUse(): Promise<LocalPorts> {
  const defaults = portsFromFirebaseJson();
  const free = await Promise.all(
    [defaults.pubsub, defaults.firestore, defaults.functions].map((port) =>
      requireFreePort(port, 'demo').then(
        () => true,
        () => false,
      ),
    ),
  );
  if (free.every(Boolean)) return defaults;
  return { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
}
