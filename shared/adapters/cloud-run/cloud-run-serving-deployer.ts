import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GoogleAuth } from 'google-auth-library';
import type { ServingDeployer, ServingDeployment } from '../../ports/serving-deployer.port.js';
import {
  apiErrorMessage,
  type CloudRunRevision,
  type CloudRunService,
  isPinnedTo,
  isSettled,
  type Operation,
  pinnedService,
  pinnedVersion,
  resourceId,
  revisionName,
  serviceIdFor,
  serviceName,
  servicesParent,
} from './cloud-run-requests.js';

/** Anything that signs requests like GoogleAuth does; tests pass a fake. */
export interface RequestSigner {
  getClient(): Promise<{ getRequestHeaders(url?: string): Promise<HeadersInit> }>;
}

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
 * A Cloud Run Admin API failure. `permanent` says whether retrying can help: the topic handler
 * dead-letters a permanent one (a 403, a 400) at once and lets Pub/Sub redeliver the rest.
 */
export class CloudRunError extends Error {
  readonly status?: number;
  readonly permanent: boolean;

  constructor(message: string, { status, permanent = false }: { status?: number; permanent?: boolean } = {}) {
    super(message);
    this.name = 'CloudRunError';
    this.status = status;
    this.permanent = permanent;
  }
}

/** Client errors other than timeouts, conflicts and quota cannot succeed when retried. */
function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && ![408, 409, 429].includes(status);
}

/**
 * ServingDeployer on Cloud Run: each model has its own service `serve-<model>`, a copy of the base
 * serving service whose container is pinned to one version by env vars. A deploy is a new revision.
 */
export class CloudRunServingDeployer implements ServingDeployer {
  private readonly options: Required<Omit<CloudRunServingDeployerOptions, 'auth' | 'fetchImpl'>>;
  private readonly auth: RequestSigner;
  private readonly fetchImpl: typeof fetch;

  constructor({ auth, fetchImpl = fetch, ...options }: CloudRunServingDeployerOptions) {
    const { baseService = 'serve', servicePrefix = 'serve-', endpoint = 'https://run.googleapis.com', pollIntervalMs = 2000, timeoutMs = 600_000 } = options;
    this.options = { ...options, baseService, servicePrefix, endpoint, pollIntervalMs, timeoutMs };
    this.auth = auth ?? new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' });
    this.fetchImpl = fetchImpl;
  }

  async deploy(model: string, version: number): Promise<ServingDeployment> {
    const serviceId = serviceIdFor(model, this.options.servicePrefix);
    const name = this.serviceName(serviceId);
    let current = await this.get<CloudRunService>(name);
    // A redelivered event may find its own rollout still in progress: wait for it rather than roll again.
    if (current?.reconciling && isPinnedTo(current, model, version)) current = await this.waitUntilReconciled(name);
    if (current && isPinnedTo(current, model, version) && isSettled(current)) return deploymentOf(current, model, version);

    const revision = revisionName(serviceId, version, `${new Date().toISOString()}#${randomUUID()}`);
    const pin = { model, version, revision };
    // The etag makes a concurrent deploy of the same model fail (and retry) instead of silently overwriting.
    const operation = current
      ? await this.send<Operation>('PATCH', `v2/${name}`, { ...pinnedService(current, pin), name, etag: current.etag })
      : await this.send<Operation>('POST', `v2/${this.parent()}/services?serviceId=${serviceId}`, pinnedService(await this.base(), pin));
    await this.waitForOperation(operation, `${model} version ${version}`);
    const deployed = await this.get<CloudRunService>(name);
    if (!deployed?.latestReadyRevision || resourceId(deployed.latestReadyRevision) !== revision) {
      throw new CloudRunError(`Revision ${revision} of ${serviceId} finished deploying but is not the one serving; another deploy overtook it.`);
    }
    return deploymentOf(deployed, model, version);
  }

  async current(model: string): Promise<ServingDeployment | undefined> {
    const service = await this.get<CloudRunService>(this.serviceName(serviceIdFor(model, this.options.servicePrefix)));
    if (!service?.latestReadyRevision) return undefined;
    // While a rollout is under way the template names the next version, not the one serving.
    const containers = isSettled(service) ? service.template?.containers : (await this.get<CloudRunRevision>(service.latestReadyRevision))?.containers;
    const version = pinnedVersion(containers);
    return version === undefined ? undefined : deploymentOf(service, model, version);
  }

  async close(): Promise<void> {}

  private async base(): Promise<CloudRunService> {
    const { baseService, projectId, region } = this.options;
    const base = await this.get<CloudRunService>(this.serviceName(baseService));
    if (base) return base;
    throw new CloudRunError(
      `The base serving service "${baseService}" does not exist in project ${projectId}, region ${region}. ` +
        'Run `npm run deploy` first: each model is served by a copy of it.',
      { status: 404, permanent: true },
    );
  }

  private async waitForOperation(operation: Operation, what: string): Promise<void> {
    const deadline = Date.now() + this.options.timeoutMs;
    let current = operation;
    while (!current.done) {
      if (Date.now() > deadline) throw new CloudRunError(`Deploying ${what} did not finish within ${this.options.timeoutMs} ms (operation ${current.name}).`);
      await sleep(this.options.pollIntervalMs);
      current = await this.send<Operation>('GET', `v2/${current.name}`);
    }
    if (current.error) throw new CloudRunError(`Cloud Run could not deploy ${what}: ${current.error.message ?? `error code ${current.error.code}`}`);
  }

  private async waitUntilReconciled(name: string): Promise<CloudRunService | undefined> {
    const deadline = Date.now() + this.options.timeoutMs;
    let service = await this.get<CloudRunService>(name);
    while (service?.reconciling && Date.now() <= deadline) {
      await sleep(this.options.pollIntervalMs);
      service = await this.get<CloudRunService>(name);
    }
    return service;
  }

  /** GETs a resource by name; undefined when it does not exist. */
  private async get<T>(name: string): Promise<T | undefined> {
    const { status, payload } = await this.request('GET', `v2/${name}`);
    return status === 404 ? undefined : checked<T>('GET', name, status, payload);
  }

  private async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { status, payload } = await this.request(method, path, body);
    return checked<T>(method, path, status, payload);
  }

  private async request(method: string, path: string, body?: unknown): Promise<{ status: number; payload: unknown }> {
    const url = `${this.options.endpoint}/${path}`;
    const headers = new Headers(await (await this.auth.getClient()).getRequestHeaders(url));
    headers.set('content-type', 'application/json');
    const response = await this.fetchImpl(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, payload: await response.json().catch(() => undefined) };
  }

  private serviceName(serviceId: string): string {
    return serviceName(this.options.projectId, this.options.region, serviceId);
  }

  private parent(): string {
    return servicesParent(this.options.projectId, this.options.region);
  }
}

/** The payload of a successful answer; any other answer throws with the API's own message. */
function checked<T>(method: string, path: string, status: number, payload: unknown): T {
  if (status >= 200 && status < 300) return payload as T;
  const message = apiErrorMessage(payload) ?? 'no error message';
  throw new CloudRunError(`Cloud Run Admin API ${method} ${path} failed (${status}): ${message}`, { status, permanent: isPermanentStatus(status) });
}

function deploymentOf(service: CloudRunService, model: string, version: number): ServingDeployment {
  return {
    model,
    version,
    url: service.uri ?? '',
    revision: resourceId(service.latestReadyRevision ?? ''),
    deployedAt: service.updateTime ?? new Date().toISOString(),
  };
}
