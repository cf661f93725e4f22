import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { join } from 'node:path';
import type { ServingDeployer, ServingDeployment } from '../../ports/serving-deployer.port.js';
import { type ManagedProcess, freePort, startProcess } from './processes.js';
import { ServingRouter } from './serving-router.js';

/** Options of the local deployer. */
export interface LocalServingDeployerOptions {
  /** Project root: revisions run `functions/serve/server.ts` from here. */
  projectRoot: string;
  /**
   * Environment of every revision (emulator hosts, data folder, project). When it names a serving
   * bundle in `MLOPS_SERVING_BUNDLE`, revisions start that bundle instead (`npm start -- --as-deployed`).
   */
  env: NodeJS.ProcessEnv;
  /** A model's preferred router port (e.g. the one it had before a restart). */
  preferredPort?: (model: string) => Promise<number | undefined>;
  onLine?: (revision: string, line: string) => void;
}

interface Revision {
  name: string;
  version: number;
  port: number;
  agent: Agent;
  process: ManagedProcess;
}

interface Endpoint {
  router: ServingRouter;
  url: string;
  current?: Revision;
  deployment?: ServingDeployment;
  /** Deploys of one model run one after another. */
  queue: Promise<unknown>;
}

/**
 * ServingDeployer on one machine: each model gets a router on a stable port; a deploy starts a
 * new revision process, waits until its /health names the new version, switches the router to
 * it, then stops the old revision, which finishes the requests it holds.
 */
export class LocalServingDeployer implements ServingDeployer {
  private readonly endpoints = new Map<string, Endpoint>();
  private sequence = 0;

  constructor(private readonly options: LocalServingDeployerOptions) {}

  async deploy(model: string, version: number): Promise<ServingDeployment> {
    const endpoint = await this.endpoint(model);
    const run = endpoint.queue.then(() => this.roll(model, version, endpoint));
    endpoint.queue = run.catch(() => undefined);
    return run;
  }

  async current(model: string): Promise<ServingDeployment | undefined> {
    return this.endpoints.get(model)?.deployment;
  }

  async close(): Promise<void> {
    for (const endpoint of this.endpoints.values()) {
      await endpoint.queue;
      await endpoint.router.close();
      await stopRevision(endpoint.current);
    }
    this.endpoints.clear();
  }

  private async roll(model: string, version: number, endpoint: Endpoint): Promise<ServingDeployment> {
    if (endpoint.current?.version === version && endpoint.deployment) return endpoint.deployment;
    const next = await this.startRevision(model, version);
    const previous = endpoint.current;
    endpoint.router.switchTo(next);
    endpoint.current = next;
    endpoint.deployment = { model, version, url: endpoint.url, revision: next.name, deployedAt: new Date().toISOString() };
    await stopRevision(previous);
    return endpoint.deployment;
  }

  private async endpoint(model: string): Promise<Endpoint> {
    const existing = this.endpoints.get(model);
    if (existing) return existing;
    const router = new ServingRouter();
    const preferred = await this.options.preferredPort?.(model).catch(() => undefined);
    const port = await router.listen(preferred ?? 0).catch(() => router.listen(0));
    const endpoint: Endpoint = { router, url: `http://127.0.0.1:${port}`, queue: Promise.resolve() };
    this.endpoints.set(model, endpoint);
    return endpoint;
  }

  private async startRevision(model: string, version: number): Promise<Revision> {
    const name = `${model}-v${version}-${String(++this.sequence).padStart(3, '0')}`;
    const port = await freePort();
    const logTail: string[] = [];
    const env = { ...this.options.env, MLOPS_SERVE_MODEL: model, MLOPS_SERVE_VERSION: String(version), PORT: String(port), HOST: '127.0.0.1' };
    const { args, cwd } = revisionCommand(this.options.projectRoot, this.options.env.MLOPS_SERVING_BUNDLE);
    const child = startProcess(`serving revision ${name}`, process.execPath, args, {
      cwd,
      env,
      logTail,
      onLine: (line) => this.options.onLine?.(name, line),
    });
    try {
      await waitUntilServing(port, version, child);
    } catch (error) {
      await child.stop();
      throw new Error(`Revision ${name} did not become healthy: ${(error as Error).message}\n${logTail.join('\n')}`);
    }
    return { name, version, port, process: child, agent: new Agent({ keepAlive: true, maxSockets: 256 }) };
  }
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
    if (child.child.exitCode !== null) throw new Error(`exited with code ${child.child.exitCode}`);
    const health = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) })
      .then((response) => (response.ok ? (response.json() as Promise<{ version: number }>) : undefined))
      .catch(() => undefined);
    if (health?.version === version) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no healthy answer within ${timeoutMs} ms`);
}

async function stopRevision(revision: Revision | undefined): Promise<void> {
  if (!revision) return;
  await revision.process.stop(10_000);
  revision.agent.destroy();
}
