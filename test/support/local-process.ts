import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../shared/processes/processes.js';

/** `npm start` as a user runs it, in its own process on free ports with a fresh data folder. */
export interface StartedPlatform {
  child: ChildProcess;
  output: () => string;
  dataDir: string;
  ports: { pubsub: number; firestore: number; functions: number };
  env: Record<string, string>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Options of startPlatformProcess. */
export interface PlatformProcessOptions {
  dataDir?: string;
  fresh?: boolean;
  /** More `npm start` flags. */
  args?: string[];
  /**
   * Run `npm start -- ...` as a user does, in its own process group; stop() then signals the whole
   * group, as Ctrl-C in a terminal does. Otherwise node runs scripts/start.ts directly.
   */
  viaNpm?: boolean;
  /** Resolve at once instead of waiting for "Ready" (for starts that are meant to fail). */
  waitForReady?: boolean;
  ports?: { pubsub: number; firestore: number; functions: number };
}

/** Starts scripts/start.ts and waits for its "Ready" line. */
export async function startPlatformProcess({
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-data-')),
  fresh = false,
  args: extra = [],
  viaNpm = false,
  waitForReady = true,
  ports: given,
}: PlatformProcessOptions = {}): Promise<StartedPlatform> {
  // Functions port 0: each function takes a port the OS picks, so parallel test files never collide.
  const ports = given ?? { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
  const flags = [
    '--data-dir',
    dataDir,
    '--pubsub-port',
    String(ports.pubsub),
    '--firestore-port',
    String(ports.firestore),
    '--functions-port',
    String(ports.functions),
    '--dashboard-port',
    '0',
    ...extra,
  ];
  if (fresh) flags.push('--fresh');
  const env = { ...process.env, MLOPS_LOG_LEVEL: '' };
  const child = viaNpm
    ? spawn('npm', ['start', '--silent', '--', ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true })
    : spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let text = '';
  child.stdout!.on('data', (chunk) => (text += chunk));
  child.stderr!.on('data', (chunk) => (text += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (waitForReady) await readyLine(child, exited, () => text);
  return {
    child,
    output: () => text,
    dataDir,
    ports,
    exited,
    env: { PUBSUB_EMULATOR_HOST: `127.0.0.1:${ports.pubsub}`, FIRESTORE_EMULATOR_HOST: `127.0.0.1:${ports.firestore}`, GOOGLE_CLOUD_PROJECT: 'mlops-local' },
    stop: async (signal = 'SIGINT') => {
      if (viaNpm) process.kill(-child.pid!, signal);
      else child.kill(signal);
      return exited;
    },
  };
}

function readyLine(child: ChildProcess, exited: Promise<number | null>, text: () => string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 60 s:\n${text()}`)), 60_000);
    const check = () => {
      if (/Ready in/.test(text())) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    exited.then(() => reject(new Error(`exited before ready:\n${text()}`)));
  });
}
