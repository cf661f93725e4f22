import { OPTIONS } from '../../config/config.js';
import { readOption } from '../../config/options.js';
import type { ServingDeployer, ServingDeployment } from '../../ports/serving-deployer.port.js';
import { RevisionSupervisor, type ServingNotice } from './revision-supervisor.js';
import { ServingRouter } from './serving-router.js';
import { type RevisionInstance, isServing, startRevisionInstance, stopRevisionInstance } from './serving-revision.js';

export { revisionCommand } from './serving-revision.js';
export type { ServingNotice } from './revision-supervisor.js';

/** Options of the local deployer. */
export interface LocalServingDeployerOptions {
  /** Project root: revisions run `functions/serve/server.ts` from here. */
  projectRoot: string;
  /**
   * Environment of every revision (emulator hosts, data folder, project). When it names a serving
   * bundle in `MLOPS_SERVING_BUNDLE`, revisions start that bundle instead (`npm start -- --as-deployed`).
   * Its MLOPS_MAX_BODY_BYTES is the routers' body limit too.
   */
  env: NodeJS.ProcessEnv;
  /** A model's preferred router port (e.g. the one it had before a restart). */
  preferredPort?: (model: string) => Promise<number | undefined>;
  onLine?: (revision: string, line: string) => void;
  /** Where restarts of crashed revisions are reported; stderr by default. */
  onNotice?: (notice: ServingNotice) => void;
}

/** A deployed revision: pinned to one version; its process is restarted under the same name if it dies. */
interface Revision {
  name: string;
  version: number;
  supervisor: RevisionSupervisor;
}

interface Endpoint {
  router: ServingRouter;
  url: string;
  current?: Revision;
  deployment?: ServingDeployment;
  /** Deploys and restarts of one model run one after another. */
  queue: Promise<unknown>;
}

/** How long a replaced revision may take to finish the requests it holds before it is stopped. */
const DRAIN_MS = 10_000;

/**
 * ServingDeployer on one machine: each model gets a router on a stable port; a deploy starts a
 * new revision process, waits until its /health names the new version, switches the router to
 * it, then stops the old revision once it has finished the requests it holds. A revision that
 * dies is restarted (see RevisionSupervisor); deploying the served version again is a no-op while
 * it is healthy and rolls a fresh revision when it is not.
 */
export class LocalServingDeployer implements ServingDeployer {
  private readonly endpoints = new Map<string, Promise<Endpoint>>();
  private sequence = 0;

  constructor(private readonly options: LocalServingDeployerOptions) {}

  async deploy(model: string, version: number): Promise<ServingDeployment> {
    const endpoint = await this.endpoint(model);
    return this.enqueue(endpoint, () => this.roll(model, version, endpoint));
  }

  async current(model: string): Promise<ServingDeployment | undefined> {
    return (await this.endpoints.get(model))?.deployment;
  }

  async close(): Promise<void> {
    for (const opening of this.endpoints.values()) {
      const endpoint = await opening;
      // Retired before and after the queue drains: no restart starts meanwhile, nor after a roll-out still under way.
      endpoint.current?.supervisor.retire();
      await endpoint.queue;
      endpoint.current?.supervisor.retire();
      await endpoint.router.close();
      await stopRevisionInstance(endpoint.current?.supervisor.instance);
    }
    this.endpoints.clear();
  }

  private async roll(model: string, version: number, endpoint: Endpoint): Promise<ServingDeployment> {
    const previous = endpoint.current;
    const previousInstance = previous?.supervisor.instance;
    // The served version again: nothing to do while it answers, a fresh revision when it is dead or hung.
    const serving = previous?.version === version && endpoint.deployment ? await isServing(previousInstance, version) : undefined;
    if (serving && endpoint.deployment) return endpoint.deployment;
    const name = `${model}-v${version}-${String(++this.sequence).padStart(3, '0')}`;
    const instance = await startRevisionInstance({ ...this.options, name, model, version });
    previous?.supervisor.retire();
    endpoint.current = { name, version, supervisor: this.supervise(model, name, version, endpoint, instance) };
    endpoint.router.switchTo(instance);
    endpoint.deployment = { model, version, url: endpoint.url, revision: name, deployedAt: new Date().toISOString() };
    if (previousInstance) await this.drainAndStop(endpoint, previousInstance, serving === false);
    return endpoint.deployment;
  }

  private supervise(model: string, name: string, version: number, endpoint: Endpoint, instance: RevisionInstance): RevisionSupervisor {
    return new RevisionSupervisor(instance, {
      name,
      version,
      start: () => startRevisionInstance({ ...this.options, name, model, version }),
      schedule: (restart) => void this.enqueue(endpoint, restart).catch(() => undefined),
      onDown: () => endpoint.router.switchTo(undefined),
      onUp: (restarted) => endpoint.router.switchTo(restarted),
      onNotice: this.options.onNotice ?? ((notice) => console.error(notice.message)),
    });
  }

  /** A replaced revision finishes the requests it holds first; a hung one is not waited for. */
  private async drainAndStop(endpoint: Endpoint, instance: RevisionInstance, hung: boolean): Promise<void> {
    const drained = !hung && (await endpoint.router.drained(instance, DRAIN_MS));
    await stopRevisionInstance(instance, drained ? DRAIN_MS : 1000);
  }

  private enqueue<T>(endpoint: Endpoint, job: () => Promise<T>): Promise<T> {
    const run = endpoint.queue.then(job);
    endpoint.queue = run.catch(() => undefined);
    return run;
  }

  /** The model's endpoint, opened once even when two deploys of a new model race. */
  private endpoint(model: string): Promise<Endpoint> {
    let opening = this.endpoints.get(model);
    if (!opening) {
      opening = this.openEndpoint(model);
      this.endpoints.set(model, opening);
      opening.catch(() => this.endpoints.delete(model));
    }
    return opening;
  }

  private async openEndpoint(model: string): Promise<Endpoint> {
    const maxBodyBytes = readOption(OPTIONS.maxBodyBytes, this.options.env, 'local');
    const router = new ServingRouter({ model, maxBodyBytes });
    const preferred = await this.options.preferredPort?.(model).catch(() => undefined);
    const port = await router.listen(preferred ?? 0).catch(() => router.listen(0));
    return { router, url: `http://127.0.0.1:${port}`, queue: Promise.resolve() };
  }
}
