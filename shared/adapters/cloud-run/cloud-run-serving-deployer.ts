import { randomUUID } from 'node:crypto';
import { GoogleAuth } from 'google-auth-library';
import type { Traffic } from '../../domain/rollout.js';
import type { ServingDeployer, ServingDeployment } from '../../ports/serving-deployer.port.js';
import { CloudRunAdminClient, CloudRunError, type RequestSigner } from './cloud-run-admin-client.js';
import {
  type CloudRunRevision,
  type CloudRunService,
  type Operation,
  pinnedService,
  resourceId,
  revisionName,
  revisionTemplate,
  serviceIdFor,
  serviceName,
  servicesParent,
  VERSION_LABEL,
  writableService,
} from './cloud-run-requests.js';
import {
  type Arm,
  armsOf,
  checkRoutable,
  explicitTraffic,
  primaryOf,
  runsArm,
  type ServedRevision,
  sameTraffic,
  servedRevision,
  targetsOf,
  trafficOfServed,
} from './cloud-run-traffic.js';

export { CloudRunError, type RequestSigner } from './cloud-run-admin-client.js';

/** Where the services live and how to reach the Cloud Run Admin API. */
export interface CloudRunServingDeployerOptions {
  projectId: string;
  region: string;
  /** The service each model's service is copied from: the `serve` function deployed by `npm run deploy`. */
  baseService?: string;
  servicePrefix?: string;
  auth?: RequestSigner;
  fetchImpl?: typeof fetch;
  endpoint?: string;
  pollIntervalMs?: number;
  timeoutMs?: number;
}

/**
 * ServingDeployer on Cloud Run: each model has its own service `serve-<model>`, a copy of the base
 * serving service. Every version in a model's traffic runs a revision pinned to it by env vars and
 * tagged `v<version>`; the service's traffic list splits requests between them. A new revision is
 * created (and ready) before any traffic names it, so no request meets a revision still starting.
 */
export class CloudRunServingDeployer implements ServingDeployer {
  private readonly client: CloudRunAdminClient;
  private readonly where: { projectId: string; region: string; baseService: string; servicePrefix: string };

  constructor({ auth, fetchImpl = fetch, projectId, region, ...options }: CloudRunServingDeployerOptions) {
    const { baseService = 'serve', servicePrefix = 'serve-', endpoint = 'https://run.googleapis.com', pollIntervalMs = 2000, timeoutMs = 600_000 } = options;
    this.where = { projectId, region, baseService, servicePrefix };
    const signer = auth ?? new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' });
    this.client = new CloudRunAdminClient({ auth: signer, fetchImpl, endpoint, pollIntervalMs, timeoutMs });
  }

  async deploy(model: string, version: number): Promise<ServingDeployment> {
    return this.route(model, { primary: version, routes: [], shadow: null, stickyKey: null });
  }

  async route(model: string, traffic: Traffic): Promise<ServingDeployment> {
    const serviceId = serviceIdFor(model, this.where.servicePrefix);
    const name = this.serviceName(serviceId);
    permanently(() => checkRoutable(traffic));
    let service = (await this.client.settledService(name)) ?? (await this.create(model, traffic.primary, serviceId));
    const arms = permanently(() => armsOf(traffic, service.uri));
    const served = await this.servedRevisions(service);
    const revisions: string[] = [];
    // The candidates' revisions first, the primary's last: a primary never mirrors or forwards to a revision that is not there.
    for (const index of [...arms.keys()].slice(1).concat(0)) {
      const arm = arms[index]!;
      const found = served.find((candidate) => runsArm(candidate, model, arm));
      if (found) revisions[index] = found.revision;
      else ({ service, revision: revisions[index] } = await this.createRevision(service, model, arm, serviceId));
    }
    const wanted = targetsOf(arms, revisions);
    const labelled = service.labels?.[VERSION_LABEL] === String(traffic.primary);
    if (!labelled || !sameTraffic(explicitTraffic(service.traffic, service.latestReadyRevision), wanted)) {
      const labels = { ...writableService(service).labels, [VERSION_LABEL]: String(traffic.primary) };
      const operation = await this.client.send<Operation>('PATCH', `v2/${name}`, {
        ...writableService(service),
        name,
        etag: service.etag,
        labels,
        traffic: wanted,
      });
      await this.client.waitForOperation(operation, `the traffic of ${model} (${describe(traffic)})`);
      service = (await this.client.get<CloudRunService>(name)) ?? service;
    }
    return deploymentOf(service, model, traffic, revisions[0]!);
  }

  async current(model: string): Promise<ServingDeployment | undefined> {
    const service = await this.client.get<CloudRunService>(this.serviceName(serviceIdFor(model, this.where.servicePrefix)));
    if (!service?.latestReadyRevision) return undefined;
    const served = await this.servedRevisions(service);
    const label = service.labels?.[VERSION_LABEL];
    const primary = primaryOf(served, label === undefined ? undefined : Number(label));
    if (primary?.version === undefined) return undefined;
    return deploymentOf(service, model, trafficOfServed(primary, served), primary.revision);
  }

  async close(): Promise<void> {}

  /** Creates the model's service from the base, serving `version` alone. */
  private async create(model: string, version: number, serviceId: string): Promise<CloudRunService> {
    const revision = revisionName(serviceId, version, nonce());
    const body = pinnedService(await this.base(), { model, version, revision });
    const operation = await this.client.send<Operation>(
      'POST',
      `v2/${servicesParent(this.where.projectId, this.where.region)}/services?serviceId=${serviceId}`,
      body,
    );
    return this.readyWith(operation, serviceId, revision, `${model} version ${version}`);
  }

  /** A new revision for `arm`, taking no traffic yet: the traffic list is written as it stands, the template changes. */
  private async createRevision(service: CloudRunService, model: string, arm: Arm, serviceId: string) {
    const revision = revisionName(serviceId, arm.version, nonce());
    const name = this.serviceName(serviceId);
    const template = revisionTemplate(service.template, { model, version: arm.version, revision }, arm.routing);
    const traffic = explicitTraffic(service.traffic, service.latestReadyRevision);
    // The etag makes a concurrent change of the same model fail (and retry) instead of silently overwriting.
    const operation = await this.client.send<Operation>('PATCH', `v2/${name}`, { ...writableService(service), name, etag: service.etag, template, traffic });
    return { service: await this.readyWith(operation, serviceId, revision, `${model} version ${arm.version}`), revision };
  }

  /** Waits for a write to finish and checks its revision is the service's latest ready one. */
  private async readyWith(operation: Operation, serviceId: string, revision: string, what: string): Promise<CloudRunService> {
    await this.client.waitForOperation(operation, what);
    const service = await this.client.get<CloudRunService>(this.serviceName(serviceId));
    if (!service?.latestReadyRevision || resourceId(service.latestReadyRevision) !== revision) {
      throw new CloudRunError(`Revision ${revision} of ${serviceId} finished deploying but is not the latest ready one; another deploy overtook it.`);
    }
    return service;
  }

  /** The revisions in the service's traffic, and its latest ready one (a revision made by a change that stopped before moving traffic). */
  private async servedRevisions(service: CloudRunService): Promise<ServedRevision[]> {
    const targets = explicitTraffic(service.traffic, service.latestReadyRevision).map((target) => ({
      revision: target.revision!,
      percent: target.percent ?? 0,
      tag: target.tag,
    }));
    const latest = service.latestReadyRevision ? resourceId(service.latestReadyRevision) : undefined;
    if (latest && !targets.some((target) => target.revision === latest)) targets.push({ revision: latest, percent: 0, tag: undefined });
    const found = await Promise.all(targets.map((target) => this.client.get<CloudRunRevision>(`${service.name}/revisions/${target.revision}`)));
    return targets.flatMap((target, index) => (found[index] ? [servedRevision(found[index], target)] : []));
  }

  private async base(): Promise<CloudRunService> {
    const { baseService, projectId, region } = this.where;
    const base = await this.client.get<CloudRunService>(this.serviceName(baseService));
    if (base) return base;
    throw new CloudRunError(
      `The base serving service "${baseService}" does not exist in project ${projectId}, region ${region}. ` +
        'Run `npm run deploy` first: each model is served by a copy of it.',
      { status: 404, permanent: true },
    );
  }

  private serviceName(serviceId: string): string {
    return serviceName(this.where.projectId, this.where.region, serviceId);
  }
}

/** A nonce per new revision, so re-creating a version's revision after a rollback gets a fresh name. */
function nonce(): string {
  return `${new Date().toISOString()}#${randomUUID()}`;
}

/** Runs a check whose failure no retry can fix, as a permanent CloudRunError. */
function permanently<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new CloudRunError(`Cloud Run cannot route that traffic: ${(error as Error).message}`, { status: 400, permanent: true });
  }
}

function describe(traffic: Traffic): string {
  const parts = [`${traffic.primary} primary`, ...traffic.routes.map((route) => `${route.version} at ${route.percent}%`)];
  if (traffic.shadow) parts.push(`${traffic.shadow.version} shadowing ${traffic.shadow.percent}%`);
  return parts.join(', ');
}

function deploymentOf(service: CloudRunService, model: string, traffic: Traffic, revision: string): ServingDeployment {
  const split = traffic.routes.length > 0 || traffic.shadow !== null;
  return {
    model,
    version: traffic.primary,
    url: service.uri ?? '',
    revision,
    deployedAt: service.updateTime ?? new Date().toISOString(),
    ...(split ? { traffic } : {}),
  };
}
