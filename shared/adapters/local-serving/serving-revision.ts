import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { ENV } from '../../config/env.js';
import { ConnectionHandoff, type ManagedProcess, freePort, startProcess } from '../../processes/index.js';

/** One running process of a serving revision: the router's target while it is up. */
export interface RevisionInstance {
  port: number;
  /** The version it serves, named in the router's proxied answers. */
  version: number;
  agent: Agent;
  /** The IPC channel over which the router hands it the stable URL's connections (every instance startRevisionInstance starts has one). */
  handoff?: ConnectionHandoff;
  process: ManagedProcess;
  /** When it first answered /health. */
  healthyAt: number;
  /** Set before a deliberate stop, so its exit is not taken for a crash. */
  stopping: boolean;
  /** Resolves when the process exits, with its exit code or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** What a revision process runs and with which environment. */
export interface RevisionLaunch {
  name: string;
  model: string;
  version: number;
  projectRoot: string;
  env: NodeJS.ProcessEnv;
  /** The port to listen on (a restart keeps its revision's, which other revisions may have been told); a free one by default. */
  port?: number;
  onLine?: (revision: string, line: string) => void;
}

/** Starts a revision process on a free port and resolves once its /health names `version`; stops it and throws otherwise. */
export async function startRevisionInstance({ name, model, version, projectRoot, env, port: wanted, onLine }: RevisionLaunch): Promise<RevisionInstance> {
  const port = wanted ?? (await freePort());
  const logTail: string[] = [];
  const { args, cwd } = revisionCommand(projectRoot, env[ENV.servingBundle]);
  const child = startProcess(`serving revision ${name}`, process.execPath, args, {
    cwd,
    env: { ...env, [ENV.serveModel]: model, [ENV.serveVersion]: String(version), PORT: String(port), HOST: '127.0.0.1' },
    logTail,
    onLine: (line) => onLine?.(name, line),
    ipc: true,
  });
  const handoff = new ConnectionHandoff(child.child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  try {
    await waitUntilServing(port, version, child);
  } catch (error) {
    await child.stop();
    throw new Error(`Revision ${name} did not become healthy: ${(error as Error).message}\n${logTail.join('\n')}`);
  }
  return { port, version, process: child, handoff, exited, healthyAt: Date.now(), stopping: false, agent: new Agent({ keepAlive: true, maxSockets: 256 }) };
}

/** True when the instance is alive and its /health names `version` within `timeoutMs`. */
export async function isServing(instance: RevisionInstance | undefined, version: number, timeoutMs = 3000): Promise<boolean> {
  if (!instance || hasExited(instance.process)) return false;
  return (await healthVersion(instance.port, timeoutMs)) === version;
}

/** Stops an instance on purpose: SIGTERM, so it finishes its requests and flushes its log, then SIGKILL after `graceMs`. */
export async function stopRevisionInstance(instance: RevisionInstance | undefined, graceMs = 10_000): Promise<void> {
  if (!instance) return;
  instance.stopping = true;
  instance.agent.destroy();
  await instance.process.stop(graceMs);
}

/** How an instance ended, for a log line: "exit code 1" or "signal SIGKILL". */
export function describeExit({ code, signal }: { code: number | null; signal: NodeJS.Signals | null }): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/**
 * How a revision starts: the TypeScript entry through tsx, or a built serving bundle the way Google's
 * Node.js buildpack starts it on Cloud Run: its start script (only `node <file>` here), else `node server.js`.
 */
export function revisionCommand(projectRoot: string, bundle: string | undefined): { args: string[]; cwd: string } {
  if (!bundle) return { args: ['--import', 'tsx', 'functions/serve/server.ts'], cwd: projectRoot };
  const manifest = JSON.parse(readFileSync(join(bundle, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const start = manifest.scripts?.start ?? 'node server.js';
  const entry = /^node (\S+)$/.exec(start.trim())?.[1];
  if (!entry) throw new Error(`The serving bundle in ${bundle} starts with "${start}"; locally only "node <file>" is supported.`);
  // An absolute path, so the revision's command line names the bundle it runs.
  return { args: [join(bundle, entry)], cwd: bundle };
}

async function waitUntilServing(port: number, version: number, child: ManagedProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited(child)) throw new Error(`exited with ${describeExit({ code: child.child.exitCode, signal: child.child.signalCode })}`);
    if ((await healthVersion(port, 1000)) === version) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no healthy answer within ${timeoutMs} ms`);
}

async function healthVersion(port: number, timeoutMs: number): Promise<number | undefined> {
  return fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(timeoutMs) })
    .then((response) => (response.ok ? (response.json() as Promise<{ version: number }>) : undefined))
    .then((health) => health?.version)
    .catch(() => undefined);
}

function hasExited(managed: ManagedProcess): boolean {
  return managed.child.exitCode !== null || managed.child.signalCode !== null;
}
