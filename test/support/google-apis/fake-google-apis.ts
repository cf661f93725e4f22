import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { API_NAMES, API_ROUTES, type ApiContext, type ApiName, GCLOUD_OVERRIDES, requireEnabled, seedProject } from './apis.js';
import { type ApiReply, type ApiRequest, errorReply, parseJson, Router, readBody, send } from './http-router.js';
import { ResourceStore } from './resource-store.js';
import { putRunService } from './run-api.js';

/** One request the fake received. */
export interface RecordedRequest {
  api: ApiName;
  method: string;
  path: string;
  query: string;
  /** The JSON body, or `<n bytes>` for another body. */
  body: unknown;
  status: number;
  /** Whether handling it changed a resource or a policy. */
  changed: boolean;
}

/** Options of FakeGoogleApis.start. */
export interface FakeGoogleApisOptions {
  project?: string;
  projectNumber?: string;
}

const WRITING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A stateful, recording stand-in for the Google APIs a deploy touches, on 127.0.0.1 only: one port
 * per API (so gcloud's endpoint overrides keep Google's own paths), plus a guard proxy through which
 * gcloud sends everything, answering for the API ports and refusing (and recording) anything else.
 */
export class FakeGoogleApis {
  readonly store = new ResourceStore();
  readonly requests: RecordedRequest[] = [];
  /** URLs something tried to reach through the guard proxy: each one is a request that would have left the machine. */
  readonly escapes: string[] = [];
  readonly context: ApiContext;
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly ports = new Map<ApiName | 'guard', number>();
  private readonly routers = new Map<ApiName, Router>();
  private readonly configDir = mkdtempSync(join(tmpdir(), 'fake-gcloud-config-'));

  private constructor(project: string, projectNumber: string) {
    this.context = { project, projectNumber, store: this.store, originOf: (api) => this.endpointOf(api).replace(/\/$/, '') };
  }

  /** Starts every API on an OS-picked port of 127.0.0.1, with the project already there and no API enabled. */
  static async start({ project = 'acme-mlops', projectNumber = '123456789012' }: FakeGoogleApisOptions = {}): Promise<FakeGoogleApis> {
    const fake = new FakeGoogleApis(project, projectNumber);
    for (const api of API_NAMES) fake.routers.set(api, new Router(API_ROUTES[api](fake.context)));
    for (const api of API_NAMES) fake.ports.set(api, await fake.listen((request, response) => void fake.handle(api, request, response)));
    fake.ports.set('guard', await fake.listen((request, response) => fake.proxy(request, response)));
    seedProject(fake.context);
    return fake;
  }

  /** The root URL of one API, as an endpoint override takes it. */
  endpointOf(api: ApiName): string {
    return `http://127.0.0.1:${this.ports.get(api)}/`;
  }

  /**
   * What keeps gcloud on this machine: every request through the guard proxy (gcloud's own proxy
   * settings and the usual variables), no GCE metadata probe (a DNS query for metadata.google.internal
   * otherwise), no prompts, no usage reports, no update checks.
   */
  guardEnv(): Record<string, string> {
    const guard = `http://127.0.0.1:${this.ports.get('guard')}`;
    return {
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
      CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
      CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
      CLOUDSDK_PROXY_TYPE: 'http',
      CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
      CLOUDSDK_PROXY_PORT: String(this.ports.get('guard')),
      HTTPS_PROXY: guard,
      HTTP_PROXY: guard,
      NO_PROXY: '',
    };
  }

  /** The environment that sends gcloud here: guardEnv, a fresh config folder, a fake token, an endpoint override per API. */
  gcloudEnv(): Record<string, string> {
    const env: Record<string, string> = {
      ...this.guardEnv(),
      CLOUDSDK_CONFIG: this.configDir,
      CLOUDSDK_AUTH_ACCESS_TOKEN: 'fake-token',
      CLOUDSDK_CORE_ACCOUNT: `deployer@${this.context.project}.iam.gserviceaccount.com`,
    };
    for (const [property, api] of Object.entries(GCLOUD_OVERRIDES)) env[`CLOUDSDK_API_ENDPOINT_OVERRIDES_${property.toUpperCase()}`] = this.endpointOf(api);
    return env;
  }

  /** Where the client libraries should send each API call, for CloudExecutor's `endpoints`. */
  clientEndpoints(): Record<'bigquery' | 'storage' | 'cloudscheduler' | 'run', string> {
    const root = (api: ApiName) => this.endpointOf(api).replace(/\/$/, '');
    return { bigquery: root('bigquery'), storage: root('storage'), cloudscheduler: root('cloudscheduler'), run: root('run') };
  }

  /** Adds a Cloud Run service as something outside the plan would (serving-rollout's per-model copies). */
  addRunService(region: string, name: string, labels: Record<string, string>): void {
    putRunService(this.context, { region, name, labels });
  }

  /** Requests that changed a resource or a policy, from index `since` on. */
  changingRequests(since = 0): RecordedRequest[] {
    return this.requests.slice(since).filter((request) => request.changed);
  }

  /** Requests with a writing verb (POST, PUT, PATCH, DELETE), whether or not they changed anything, from index `since` on. */
  writingRequests(since = 0): RecordedRequest[] {
    return this.requests.slice(since).filter((request) => WRITING.has(request.method));
  }

  /** Stops every server and removes the gcloud config folder. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map((server) => new Promise((resolve) => server.close(resolve))));
    rmSync(this.configDir, { recursive: true, force: true });
  }

  private async listen(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<number> {
    const server = createServer(handler);
    server.on('connect', (request: IncomingMessage, socket: Socket) => {
      this.escapes.push(request.url ?? '');
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    });
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  /**
   * The guard proxy: a request for an API port of 127.0.0.1 is answered here, also when gcloud put a
   * region before the host (`us-central1-127.0.0.1`, as it builds Cloud Run's regional endpoints);
   * anything else (a CONNECT to Google, say) is refused and recorded, so nothing leaves the machine.
   */
  private proxy(request: IncomingMessage, response: ServerResponse): void {
    // Not `new URL`: a host such as `us-central1-127.0.0.1` ends in a number, which WHATWG URLs refuse.
    const target = /^http:\/\/(?:(?<region>[a-z0-9-]+)-)?127\.0\.0\.1:(?<port>\d+)(?<rest>\/.*)$/.exec(request.url ?? '');
    const api = target && [...this.ports].find(([name, port]) => name !== 'guard' && port === Number(target.groups!.port))?.[0];
    if (!target || !api || api === 'guard') {
      this.escapes.push(request.url ?? '');
      send(response, { status: 403, body: 'fake-google-apis: only 127.0.0.1 is reachable in this test' });
      return;
    }
    request.url = target.groups!.rest;
    void this.handle(api, request, response, target.groups!.region);
  }

  private async handle(api: ApiName, request: IncomingMessage, response: ServerResponse, region?: string): Promise<void> {
    const url = new URL(request.url ?? '/', this.endpointOf(api));
    const raw = await readBody(request);
    const body = parseJson(raw);
    const method = request.method ?? 'GET';
    const path = decodeURIComponent(url.pathname);
    const changesBefore = this.store.changes;
    const reply = await this.reply(api, { method, path, query: url.searchParams, body, raw, region });
    const recordedBody = body ?? (raw.length > 0 ? `<${raw.length} bytes>` : undefined);
    this.requests.push({ api, method, path, query: url.search, body: recordedBody, status: reply.status, changed: this.store.changes !== changesBefore });
    send(response, reply);
  }

  private async reply(api: ApiName, request: Omit<ApiRequest, 'params'>): Promise<ApiReply> {
    const route = this.routers.get(api)!.match(request.method, request.path);
    // 400, not 5xx: gcloud retries a 5xx for half a minute before it reports it.
    if (!route)
      return {
        status: 400,
        body: { error: { code: 400, message: `fake-google-apis has no route for ${api} ${request.method} ${request.path}`, status: 'FAILED_PRECONDITION' } },
      };
    try {
      requireEnabled(this.context, api);
      return await route.handle({ ...request, params: route.params });
    } catch (error) {
      return errorReply(error);
    }
  }
}
