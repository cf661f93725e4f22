import { OPTIONS } from '../../config/config.js';
import { readOption } from '../../config/options.js';
import type { Traffic } from '../../domain/rollout.js';
import type { ServingDeployer, ServingDeployment } from '../../ports/serving-deployer.port.js';
import { type DeployedRevision, drainAndStop, healthOf, startDeployedRevision, stopDeployedRevision } from './deployed-revision.js';
import type { ServingNotice } from './revision-supervisor.js';
import type { RevisionInstance } from './serving-revision.js';
import { ServingRouter } from './serving-router.js';
import { checkTraffic, isSplit, rolloutEnv, routerShares, sameEnv, sameTraffic, versionsOf } from './traffic-plan.js';

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

interface Endpoint {
  router: ServingRouter;
  url: string;
  /** The revisions taking part in the traffic, by version. */
  revisions: Map<number, DeployedRevision>;
  traffic?: Traffic;
  deployment?: ServingDeployment;
  /** Deploys, routes and restarts of one model run one after another. */
  queue: Promise<unknown>;
}

/**
 * ServingDeployer on one machine: each model gets a router on a stable port. Routing starts a
 * revision process for every version the traffic names that has none (or whose environment must
 * change), waits until its /health names its version, points the router at the new set (splitting
 * requests by weight for a canary), then stops the revisions no longer named once they finished the
 * requests they hold. A revision that dies is restarted (see RevisionSupervisor); routing the same
 * traffic again is a no-op while every revision is healthy and rolls a fresh one for any that is not.
 */
export class LocalServingDeployer implements ServingDeployer {
  private readonly endpoints = new Map<string, Promise<Endpoint>>();
  /** Processes that were handed the stable URL's connections: they cannot take part in a per-request split without draining them first. */
  private readonly handed = new WeakSet<RevisionInstance>();
  private sequence = 0;

  constructor(private readonly options: LocalServingDeployerOptions) {}

  deploy(model: string, version: number): Promise<ServingDeployment> {
    return this.route(model, { primary: version, routes: [], shadow: null, stickyKey: null });
  }

  async route(model: string, traffic: Traffic): Promise<ServingDeployment> {
    const checked = checkTraffic(model, traffic);
    const endpoint = await this.endpoint(model);
    return this.enqueue(endpoint, () => this.converge(model, checked, endpoint));
  }

  async current(model: string): Promise<ServingDeployment | undefined> {
    return (await this.endpoints.get(model))?.deployment;
  }

  async close(): Promise<void> {
    for (const opening of this.endpoints.values()) {
      const endpoint = await opening;
      // Retired before and after the queue drains: no restart starts meanwhile, nor after a roll-out still under way.
      const retireAll = () => {
        for (const revision of endpoint.revisions.values()) revision.supervisor.retire();
      };
      retireAll();
      await endpoint.queue;
      retireAll();
      await endpoint.router.close();
      await Promise.all([...endpoint.revisions.values()].map((revision) => stopDeployedRevision(revision, 10_000)));
    }
    this.endpoints.clear();
  }

  private async converge(model: string, traffic: Traffic, endpoint: Endpoint): Promise<ServingDeployment> {
    const health = await healthOf(endpoint.revisions.values());
    const perRequest = routerShares(traffic).length > 1;
    const next = new Map<number, DeployedRevision>();
    const started: DeployedRevision[] = [];
    try {
      // The primary comes last: its environment names the ports of the others.
      for (const version of versionsOf(traffic)) {
        const env = rolloutEnv(traffic, version, (other) => next.get(other)!.port);
        const existing = endpoint.revisions.get(version);
        const kept = existing && health.get(existing) && sameEnv(existing.rolloutEnv, env) && !(perRequest && this.wasHanded(existing));
        const revision = kept ? existing : await this.startRevision(model, version, env, endpoint);
        if (!kept) started.push(revision);
        next.set(version, revision);
      }
    } catch (error) {
      // A revision that never became healthy: the ones started for this traffic go, serving stays as it was.
      await Promise.all(started.map((revision) => stopDeployedRevision(revision)));
      throw error;
    }
    const replaced = [...endpoint.revisions.values()].filter((revision) => next.get(revision.version) !== revision);
    if (started.length === 0 && replaced.length === 0 && endpoint.deployment && sameTraffic(endpoint.traffic, traffic)) return endpoint.deployment;
    // Retired at once: a replaced revision that crashes from now on is not restarted.
    for (const revision of replaced) revision.supervisor.retire();
    endpoint.revisions = next;
    endpoint.traffic = traffic;
    this.applyRoutes(endpoint);
    endpoint.deployment = this.deploymentOf(model, traffic, endpoint);
    await Promise.all(replaced.map((revision) => drainAndStop(endpoint.router, revision, health.get(revision) === false)));
    return endpoint.deployment;
  }

  /** Points the router at the processes of the endpoint's revisions that are up, as its traffic says. */
  private applyRoutes(endpoint: Endpoint): void {
    const shares = endpoint.traffic ? routerShares(endpoint.traffic) : [];
    const targets = shares.flatMap(({ version, percent }) => {
      const instance = endpoint.revisions.get(version)?.supervisor.instance;
      return instance ? [{ target: instance, percent }] : [];
    });
    const perRequest = shares.length > 1;
    endpoint.router.splitBetween(targets, { perRequest });
    if (!perRequest && targets[0]) this.handed.add(targets[0].target as RevisionInstance);
  }

  private wasHanded(revision: DeployedRevision): boolean {
    const instance = revision.supervisor.instance;
    return instance !== undefined && this.handed.has(instance);
  }

  private deploymentOf(model: string, traffic: Traffic, endpoint: Endpoint): ServingDeployment {
    const primary = endpoint.revisions.get(traffic.primary)!;
    // The primary's revision unchanged (a canary's next step): it has served since it was deployed.
    const deployedAt = endpoint.deployment?.revision === primary.name ? endpoint.deployment.deployedAt : new Date().toISOString();
    return { model, version: traffic.primary, url: endpoint.url, revision: primary.name, deployedAt, ...(isSplit(traffic) ? { traffic } : {}) };
  }

  private startRevision(model: string, version: number, rolloutEnv: Record<string, string>, endpoint: Endpoint): Promise<DeployedRevision> {
    return startDeployedRevision({
      ...this.options,
      name: `${model}-v${version}-${String(++this.sequence).padStart(3, '0')}`,
      model,
      version,
      rolloutEnv,
      schedule: (restart) => void this.enqueue(endpoint, restart).catch(() => undefined),
      onChange: (revision, restarted) => this.revisionChanged(model, endpoint, revision, restarted),
      onNotice: this.options.onNotice ?? ((notice) => console.error(notice.message)),
    });
  }

  /**
   * A revision's process went down or came back: the router follows. One restarted on a new port
   * (its own was taken) gets the primary, which may have been told the old one, restarted after it.
   */
  private revisionChanged(model: string, endpoint: Endpoint, revision: DeployedRevision, restarted?: RevisionInstance): void {
    this.applyRoutes(endpoint);
    if (!restarted || restarted.port === revision.port) return;
    revision.port = restarted.port;
    if (endpoint.traffic) void this.route(model, endpoint.traffic).catch(() => undefined);
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
    return { router, url: `http://127.0.0.1:${port}`, revisions: new Map(), queue: Promise.resolve() };
  }
}
