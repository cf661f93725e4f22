import { setTimeout as sleep } from 'node:timers/promises';
import { apiErrorMessage, type CloudRunService, type Operation } from './cloud-run-requests.js';

/** Anything that signs requests like GoogleAuth does; tests pass a fake. */
export interface RequestSigner {
  getClient(): Promise<{ getRequestHeaders(url?: string): Promise<HeadersInit> }>;
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

/** How the client reaches the API and how long it waits for operations. */
export interface CloudRunAdminClientOptions {
  auth: RequestSigner;
  fetchImpl: typeof fetch;
  endpoint: string;
  pollIntervalMs: number;
  timeoutMs: number;
}

/** Client errors other than timeouts, conflicts and quota cannot succeed when retried. */
function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && ![408, 409, 429].includes(status);
}

/** The few Admin API v2 calls the deployer makes: get a resource, write one, wait for an operation or a reconciling service. */
export class CloudRunAdminClient {
  constructor(private readonly options: CloudRunAdminClientOptions) {}

  /** GETs a resource by name; undefined when it does not exist. */
  async get<T>(name: string): Promise<T | undefined> {
    const { status, payload } = await this.request('GET', `v2/${name}`);
    return status === 404 ? undefined : checked<T>('GET', name, status, payload);
  }

  /** A write (PATCH, POST) or any call whose failure is an error. */
  async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { status, payload } = await this.request(method, path, body);
    return checked<T>(method, path, status, payload);
  }

  /** Polls an operation until done; throws its error, or when it outlasts the timeout. */
  async waitForOperation(operation: Operation, what: string): Promise<void> {
    const deadline = Date.now() + this.options.timeoutMs;
    let current = operation;
    while (!current.done) {
      if (Date.now() > deadline) throw new CloudRunError(`Deploying ${what} did not finish within ${this.options.timeoutMs} ms (operation ${current.name}).`);
      await sleep(this.options.pollIntervalMs);
      current = await this.send<Operation>('GET', `v2/${current.name}`);
    }
    if (current.error) throw new CloudRunError(`Cloud Run could not deploy ${what}: ${current.error.message ?? `error code ${current.error.code}`}`);
  }

  /** The service once nothing is rolling on it (another deploy's, or a redelivered event's own); undefined when it does not exist. */
  async settledService(name: string): Promise<CloudRunService | undefined> {
    const deadline = Date.now() + this.options.timeoutMs;
    let service = await this.get<CloudRunService>(name);
    while (service?.reconciling && Date.now() <= deadline) {
      await sleep(this.options.pollIntervalMs);
      service = await this.get<CloudRunService>(name);
    }
    return service;
  }

  private async request(method: string, path: string, body?: unknown): Promise<{ status: number; payload: unknown }> {
    const url = `${this.options.endpoint}/${path}`;
    const headers = new Headers(await (await this.options.auth.getClient()).getRequestHeaders(url));
    headers.set('content-type', 'application/json');
    const response = await this.options.fetchImpl(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, payload: await response.json().catch(() => undefined) };
  }
}

/** The payload of a successful answer; any other answer throws with the API's own message. */
function checked<T>(method: string, path: string, status: number, payload: unknown): T {
  if (status >= 200 && status < 300) return payload as T;
  const message = apiErrorMessage(payload) ?? 'no error message';
  throw new CloudRunError(`Cloud Run Admin API ${method} ${path} failed (${status}): ${message}`, { status, permanent: isPermanentStatus(status) });
}
