import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { STACK } from '../../../infra/stack.js';
import { type LocalPorts, portsFromFirebaseJson } from '../../../shared/runtime/local-discovery.js';
import { type CheckResult, runTool } from './check.js';
import { freeingCommand, portHolder, portIsFree } from './port-holder.js';

/** What the local checks look at; tests pass their own PATH and firebase.json. */
export interface LocalCheckOptions {
  env: NodeJS.ProcessEnv;
  firebaseJson: string;
  nodeVersion: string;
  /** Whether `beta` (needed only to deploy) is required. */
  deploy: boolean;
  timeoutMs: number;
}

const local = (result: Omit<CheckResult, 'group' | 'required'>, required = true): CheckResult => ({ group: 'local', required, ...result });

/** Node.js 20 or newer, as package.json's engines say. */
export function checkNode(version: string): CheckResult {
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  if (major >= 20) return local({ name: 'Node.js', status: 'ok', detail: `${version} (20 or newer needed)` });
  return local({
    name: 'Node.js',
    status: 'missing',
    detail: `${version}: 20 or newer needed`,
    fix: 'nvm install 20 (or install Node.js 20+ from nodejs.org)',
  });
}

/** Java 11 or newer, which both emulators run on. */
export async function checkJava({ env, timeoutMs }: LocalCheckOptions): Promise<CheckResult> {
  const fix = 'sudo apt-get install openjdk-17-jre-headless';
  const output = await runTool('java', ['-version'], { env, timeoutMs });
  if (output.notInstalled) return local({ name: 'Java', status: 'missing', detail: 'not installed: the emulators need Java 11 or newer', fix });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output.stderr + output.stdout);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : Number.NaN;
  if (major >= 11) return local({ name: 'Java', status: 'ok', detail: `Java ${major}` });
  return local({ name: 'Java', status: 'missing', detail: `${match ? `Java ${major}` : 'an unknown version'}: the emulators need 11 or newer`, fix });
}

/** The gcloud SDK, the two emulators the runner starts from its platform/ folder, and `beta` for a deploy. */
export async function checkGcloud(options: LocalCheckOptions): Promise<CheckResult[]> {
  const gcloud = onPath('gcloud', options.env);
  const output = gcloud ? await runTool(gcloud, ['version', '--format=json'], options) : undefined;
  if (!gcloud || !output?.ok) {
    const detail = gcloud ? `gcloud version failed: ${output?.stderr.trim().split('\n')[0]}` : 'gcloud is not on PATH';
    return [local({ name: 'gcloud SDK', status: 'missing', detail, fix: 'sudo apt-get install google-cloud-cli (see cloud.google.com/sdk/docs/install)' })];
  }
  const root = dirname(dirname(realpathSync(gcloud)));
  const components = JSON.parse(output.stdout) as Record<string, string>;
  // Debian's packages own the SDK under /usr/lib: there, components come with apt, not gcloud components.
  const apt = root.startsWith('/usr/lib/') || root.startsWith('/usr/share/');
  const component = (id: string, name: string, file: string, aptPackage: string, required = true) => {
    // The emulators are looked for where the runner starts them; beta is whatever gcloud lists.
    const present = file ? existsSync(join(root, file)) : components[id] !== undefined;
    const fix = apt ? `sudo apt-get install ${aptPackage}` : `gcloud components install ${id}`;
    return present
      ? local({ name, status: 'ok', detail: `${id} ${components[id] ?? ''}`.trim() }, required)
      : local({ name, status: required ? 'missing' : 'warning', detail: `the ${id} component is not installed in ${root}`, fix }, required);
  };
  return [
    local({ name: 'gcloud SDK', status: 'ok', detail: `Google Cloud SDK ${components['Google Cloud SDK'] ?? '?'} at ${root}` }),
    component('pubsub-emulator', 'Pub/Sub emulator', 'platform/pubsub-emulator/bin/cloud-pubsub-emulator', 'google-cloud-cli-pubsub-emulator'),
    component(
      'cloud-firestore-emulator',
      'Firestore emulator',
      'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar',
      'google-cloud-cli-firestore-emulator',
    ),
    component('beta', 'gcloud beta (deploy)', '', '--reinstall google-cloud-cli', options.deploy),
  ];
}

/** The ports firebase.json gives the emulators and the functions (one each, from the first): free, or who holds them. */
export async function checkPorts({ firebaseJson }: LocalCheckOptions): Promise<CheckResult[]> {
  let ports: LocalPorts;
  try {
    ports = portsFromFirebaseJson(firebaseJson);
  } catch (error) {
    return [local({ name: 'ports', status: 'missing', detail: `cannot read ${firebaseJson}: ${(error as Error).message}`, fix: 'git checkout firebase.json' })];
  }
  const functionPorts = Array.from({ length: STACK.functions.filter((spec) => !spec.perModel).length }, (_, index) => ports.functions + index);
  return Promise.all([
    checkPortRange([ports.pubsub], 'Pub/Sub emulator', '--pubsub-port'),
    checkPortRange([ports.firestore], 'Firestore emulator', '--firestore-port'),
    checkPortRange(functionPorts, 'functions', '--functions-port'),
  ]);
}

async function checkPortRange(range: number[], what: string, flag: string): Promise<CheckResult> {
  const name = range.length === 1 ? `port ${range[0]}` : `ports ${range[0]}-${range.at(-1)}`;
  const busy = (await Promise.all(range.map(async (port) => ((await portIsFree(port)) ? [] : [port])))).flat();
  if (busy.length === 0) return local({ name, status: 'ok', detail: `free (${what})` });
  const holders = busy.map((port) => ({ port, holder: portHolder(port) }));
  const who = holders.map(
    ({ port, holder }) => `${range.length > 1 ? `${port} ` : ''}by ${holder ? `PID ${holder.pid} (${holder.command})` : 'a process this user cannot see'}`,
  );
  const freeing = [...new Set(holders.flatMap(({ holder }) => (holder ? [freeingCommand(holder)] : [])))];
  const fix = [...freeing, `npm start -- ${flag} <another port>`].join(', or ');
  return local({ name, status: 'missing', detail: `in use (${what}) ${who.join('; ')}`, fix });
}

/** A Chromium for the dashboard tests: Debian's, or the one the @sparticuz/chromium package unpacks. */
export function checkBrowser(): CheckResult {
  if (existsSync('/usr/bin/chromium')) return local({ name: 'browser (tests)', status: 'ok', detail: '/usr/bin/chromium' }, false);
  try {
    const path = createRequire(import.meta.url).resolve('@sparticuz/chromium');
    return local({ name: 'browser (tests)', status: 'ok', detail: `@sparticuz/chromium (${dirname(path)})` }, false);
  } catch {
    return local(
      {
        name: 'browser (tests)',
        status: 'warning',
        detail: 'neither /usr/bin/chromium nor @sparticuz/chromium',
        fix: 'npm ci (or sudo apt-get install chromium)',
      },
      false,
    );
  }
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((folder) => join(folder, command))
    .find((candidate) => existsSync(candidate));
}
