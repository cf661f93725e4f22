import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { OPTIONS } from '../config/config.js';
import { ENV } from '../config/env.js';
import { readOption, readProfile } from '../config/options.js';
import { PlatformError } from '../domain/errors.js';

/** The platform's firebase.json: the ports `npm start` gives the emulators and functions unless told otherwise. */
export const FIREBASE_JSON = resolve(import.meta.dirname, '../../firebase.json');

/** The ports firebase.json names. */
export interface LocalPorts {
  pubsub: number;
  firestore: number;
  functions: number;
}

/** Where a local platform's emulators listen, and where that was learnt (for messages). */
export interface LocalPlatformLocation {
  pubsubHost: string;
  firestoreHost: string;
  source: string;
}

/** What `<data dir>/endpoints.json`, written by a running `npm start`, says about its emulators. */
interface EndpointsFile {
  projectId?: string;
  emulators?: { pubsub?: string; firestore?: string };
}

/** Reads the emulator and functions ports of a firebase.json. */
export function portsFromFirebaseJson(path = FIREBASE_JSON): LocalPorts {
  const { emulators } = JSON.parse(readFileSync(path, 'utf8')) as { emulators: Record<string, { port: number }> };
  return { pubsub: emulators.pubsub!.port, firestore: emulators.firestore!.port, functions: emulators.functions!.port };
}

/**
 * On the local profile, points the Google client libraries at the local platform the way the CLI
 * and the SDK both find it: variables already set win, then the endpoints.json a running
 * `npm start` writes in the data folder, then firebase.json's ports. Only unset variables are
 * filled. Returns undefined on the gcp profile, where nothing is discovered.
 */
export function discoverLocalPlatform(env: NodeJS.ProcessEnv = process.env, { firebaseJson = FIREBASE_JSON } = {}): LocalPlatformLocation | undefined {
  if (readProfile(env) !== 'local') return undefined;
  const found = emulatorsFromEnv(env) ?? emulatorsFromEndpoints(env) ?? emulatorsFromFirebaseJson(firebaseJson);
  const pubsubHost = env[ENV.pubsubEmulatorHost] ?? found.pubsubHost;
  const firestoreHost = env[ENV.firestoreEmulatorHost] ?? found.firestoreHost;
  Object.assign(env, { [ENV.pubsubEmulatorHost]: pubsubHost, [ENV.firestoreEmulatorHost]: firestoreHost });
  if (found.projectId) env[ENV.projectId] ??= found.projectId;
  // The client libraries otherwise probe the GCE metadata server, which is not there.
  env.METADATA_SERVER_DETECTION ??= 'none';
  return { pubsubHost, firestoreHost, source: found.source };
}

type Found = LocalPlatformLocation & { projectId?: string };

function emulatorsFromEnv(env: NodeJS.ProcessEnv): Found | undefined {
  const pubsubHost = env[ENV.pubsubEmulatorHost];
  const firestoreHost = env[ENV.firestoreEmulatorHost];
  if (!pubsubHost || !firestoreHost) return undefined;
  return { pubsubHost, firestoreHost, source: `${ENV.pubsubEmulatorHost} and ${ENV.firestoreEmulatorHost}` };
}

function emulatorsFromEndpoints(env: NodeJS.ProcessEnv): Found | undefined {
  const file = join(resolve(readOption(OPTIONS.dataDir, env, 'local') ?? '.mlops-data'), 'endpoints.json');
  if (!existsSync(file)) return undefined;
  try {
    const { emulators, projectId } = JSON.parse(readFileSync(file, 'utf8')) as EndpointsFile;
    if (!emulators?.pubsub || !emulators.firestore) return undefined;
    return { pubsubHost: emulators.pubsub, firestoreHost: emulators.firestore, projectId, source: file };
  } catch {
    // Half-written or hand-edited: firebase.json still says where npm start puts the emulators.
    return undefined;
  }
}

function emulatorsFromFirebaseJson(path: string): Found {
  const ports = portsFromFirebaseJson(path);
  return { pubsubHost: `127.0.0.1:${ports.pubsub}`, firestoreHost: `127.0.0.1:${ports.firestore}`, source: path };
}

/**
 * Fails fast, in one line saying what to start or set, when the discovered emulators do not accept
 * a connection: otherwise the client libraries retry for a minute, or fall back to Google Cloud
 * credentials that are not there.
 */
export async function requireLocalPlatform(location: LocalPlatformLocation, timeoutMs = 2000): Promise<void> {
  const hosts = { 'Firestore emulator': location.firestoreHost, 'Pub/Sub emulator': location.pubsubHost };
  const answers = await Promise.all(Object.values(hosts).map((host) => accepts(host, timeoutMs)));
  const silent = Object.entries(hosts).filter((_, index) => !answers[index]);
  if (silent.length === 0) return;
  throw new PlatformError(
    'CONFIG.INVALID',
    `No local platform answers at ${silent.map(([name, host]) => `${host} (${name})`).join(' and ')}, found through ${location.source}: ` +
      `run "npm start" in the platform project, or set ${ENV.pubsubEmulatorHost} and ${ENV.firestoreEmulatorHost} to its emulators (for Google Cloud: ${ENV.profile}=gcp and ${ENV.projectId}).`,
  );
}

/** True when something accepts a TCP connection at host:port within the timeout. */
function accepts(host: string, timeoutMs: number): Promise<boolean> {
  const at = host.lastIndexOf(':');
  return new Promise((done) => {
    const socket = connect({ host: host.slice(0, at).replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(host.slice(at + 1)) });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}
