import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type ManagedProcess, startProcess, waitForHttp } from '../../shared/processes/index.js';

/** A running emulator: its host:port and how to stop it. */
export interface RunningEmulator {
  kind: 'pubsub' | 'firestore';
  host: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Where the emulators' binaries are, or a message saying how to install what is missing. */
export function locateEmulators(): { pubsub: string; firestoreJar: string } {
  const sdkRoot = findSdkRoot();
  const pubsub = join(sdkRoot, 'platform/pubsub-emulator/bin/cloud-pubsub-emulator');
  const firestoreJar = join(sdkRoot, 'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar');
  const missing = [
    !existsSync(pubsub) && 'the Pub/Sub emulator (apt-get install google-cloud-cli-pubsub-emulator, or gcloud components install pubsub-emulator)',
    !existsSync(firestoreJar) &&
      'the Firestore emulator (apt-get install google-cloud-cli-firestore-emulator, or gcloud components install cloud-firestore-emulator)',
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`Missing in the gcloud SDK at ${sdkRoot}: ${missing.join('; ')}.`);
  requireJava();
  return { pubsub, firestoreJar };
}

function findSdkRoot(): string {
  const fromEnv = process.env.CLOUDSDK_ROOT_DIR;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  try {
    const gcloud = execFileSync('which', ['gcloud'], { encoding: 'utf8' }).trim();
    return dirname(dirname(realpathSync(gcloud)));
  } catch {
    throw new Error(
      'gcloud is not installed: install the Google Cloud SDK (apt-get install google-cloud-cli, see cloud.google.com/sdk/docs/install), which brings the Pub/Sub and Firestore emulators.',
    );
  }
}

function requireJava(): void {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error('Java is not installed: the emulators need Java 11 or newer (apt-get install openjdk-17-jre-headless).');
  }
}

/** Starts the Pub/Sub emulator on host:port and waits until it answers. */
export async function startPubSubEmulator(binary: string, host: string, port: number): Promise<RunningEmulator> {
  const managed = startProcess('Pub/Sub emulator', binary, [`--host=${host}`, `--port=${port}`]);
  return ready('pubsub', managed, host, port);
}

/** Where the Firestore emulator's state is kept between runs. */
export interface FirestorePersistence {
  dataDir: string;
  projectId: string;
  /** Export this often while running too, so a crash of the runner loses at most this much. */
  exportEveryMs?: number;
}

/**
 * Starts the Firestore emulator. With `persist`, the last export there is imported at start, the
 * registry is exported every `exportEveryMs` while running, and stop() exports once more first.
 */
export async function startFirestoreEmulator(jar: string, host: string, port: number, persist?: FirestorePersistence): Promise<RunningEmulator> {
  const dataDir = persist?.dataDir;
  const imported = dataDir ? latestExport(dataDir) : undefined;
  const args = ['-Duser.language=en', '-cp', jar, 'com.google.cloud.datastore.emulator.firestore.CloudFirestore', 'start', `--host=${host}`, `--port=${port}`];
  if (imported) args.push(`--import-data=${imported}`);
  const managed = startProcess('Firestore emulator', 'java', args);
  const emulator = await ready('firestore', managed, host, port);
  if (!persist) return emulator;
  let exporting: Promise<void> = Promise.resolve();
  const exportNow = (when: string) => {
    exporting = exporting
      .then(() => exportFirestore(`${host}:${port}`, persist.dataDir, persist.projectId))
      .catch((error) => console.error(`Firestore export ${when} failed; the registry on disk is as of the last export: ${error}`));
    return exporting;
  };
  const timer = persist.exportEveryMs ? setInterval(() => void exportNow('while running'), persist.exportEveryMs) : undefined;
  timer?.unref();
  const stop = async () => {
    clearInterval(timer);
    await exportNow('at stop');
    await managed.stop();
  };
  return { ...emulator, stop };
}

async function ready(kind: RunningEmulator['kind'], managed: ManagedProcess, host: string, port: number): Promise<RunningEmulator> {
  try {
    await waitForHttp(`http://${host}:${port}/`, { process: managed, timeoutMs: 60_000 });
  } catch (error) {
    await managed.stop();
    throw error;
  }
  return { kind, host: `${host}:${port}`, process: managed, stop: () => managed.stop() };
}

/** The newest complete export: `current`, or `previous` when a crash fell between the two renames of an export. */
function latestExport(dataDir: string): string | undefined {
  for (const name of ['current', 'previous']) {
    const dir = join(dataDir, name);
    if (!existsSync(dir)) continue;
    const folder = readdirSync(dir).find((entry) => entry.startsWith('firestore_export'));
    const metadata = folder && readdirSync(join(dir, folder)).find((entry) => entry.endsWith('.overall_export_metadata'));
    if (folder && metadata) return join(dir, folder, metadata);
  }
  return undefined;
}

/** Exports every document into dataDir/current, replacing the previous export only once the new one is complete. */
async function exportFirestore(host: string, dataDir: string, projectId: string): Promise<void> {
  const staging = join(dataDir, `export-${Date.now()}`);
  mkdirSync(staging, { recursive: true });
  const response = await fetch(`http://${host}/emulator/v1/projects/${projectId}:export`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ database: `projects/${projectId}/databases/(default)`, export_directory: staging }),
  });
  if (!response.ok) throw new Error(`export answered ${response.status}: ${await response.text()}`);
  const [current, previous] = [join(dataDir, 'current'), join(dataDir, 'previous')];
  rmSync(previous, { recursive: true, force: true });
  if (existsSync(current)) renameSync(current, previous);
  renameSync(staging, current);
  rmSync(previous, { recursive: true, force: true });
}
