import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The installed Cloud SDK: its root (…/google-cloud-sdk) and the Python its `gcloud` script runs. */
export interface CloudSdk {
  root: string;
  python: string;
}

/** Finds the gcloud on PATH and the Python it uses (the bundled one when the SDK ships it, as gcloud's own launcher picks). */
export function findCloudSdk(env: NodeJS.ProcessEnv = process.env): CloudSdk {
  const found = (env.PATH ?? '')
    .split(delimiter)
    .map((dir) => join(dir, 'gcloud'))
    .find((candidate) => existsSync(candidate));
  if (!found) throw new Error('gcloud is not on PATH.');
  const root = dirname(dirname(realpathSync(found)));
  const bundled = join(root, 'platform', 'bundledpythonunix', 'bin', 'python3');
  return { root, python: existsSync(bundled) ? bundled : (env.CLOUDSDK_PYTHON ?? 'python3') };
}

/** A running zygote: the command line that runs gcloud through it, the variable that names its socket, and how to stop it. */
export interface GcloudZygote {
  /** Stands in for `gcloud` in an argv: the client, which hands its own arguments to the zygote. */
  command: string[];
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** What the zygote imports before its first fork: command paths (`['pubsub', 'topics', 'describe']`) and API names. */
export interface ZygoteWarmUp {
  commands?: string[][];
  apis?: string[];
}

/**
 * Starts the real gcloud once and serves each later command from a fork of it (see zygote.py): the
 * same code parses the same arguments and sends the same requests, for a fraction of the CPU.
 */
export async function startGcloudZygote(warmUp: ZygoteWarmUp = {}, { root, python }: CloudSdk = findCloudSdk()): Promise<GcloudZygote> {
  const dir = mkdtempSync(join(tmpdir(), 'gcloud-zygote-'));
  const socket = join(dir, 'gcloud.sock');
  const child = spawn(python, ['-S', '-E', join(HERE, 'zygote.py'), join(root, 'lib'), socket, JSON.stringify(warmUp)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own empty configuration: nothing of the developer's gcloud setup is read while warming up.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      CLOUDSDK_CONFIG: join(dir, 'config'),
      CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
    },
  });
  await ready(child);
  return {
    command: [python, '-S', '-E', join(HERE, 'client.py')],
    env: { GCLOUD_ZYGOTE_SOCKET: socket },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function ready(child: ChildProcess): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gcloud zygote not ready in 60 s:\n${output}`)), 60_000);
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`gcloud zygote exited with ${code}:\n${output}`)));
  });
}
