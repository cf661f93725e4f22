import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudRunService } from '../../shared/adapters/cloud-run/cloud-run-requests.js';

/** Where the fake's services live. */
export const PROJECT = 'demo-mlops';
export const REGION = 'europe-west1';
export const PARENT = `projects/${PROJECT}/locations/${REGION}`;

/** The base serving service `serve` as the v2 API returns it (made by a gen2 deploy: its Google-managed labels must not reach copies). */
export const baseService = (): CloudRunService => ({
  name: `${PARENT}/services/serve`,
  uid: '2e3c4b1a-7f1d-4c52-9b7e-0d6f2a8c9e11',
  generation: '3',
  labels: { 'goog-managed-by': 'cloudfunctions', 'goog-cloudfunctions-runtime': 'nodejs20', 'mlops-component': 'serve' },
  annotations: { 'cloudfunctions.googleapis.com/function-id': 'serve' },
  createTime: '2024-06-10T15:00:00.123456Z',
  updateTime: '2024-06-10T16:00:00.123456Z',
  creator: 'service-123@gcf-admin-robot.iam.gserviceaccount.com',
  ingress: 'INGRESS_TRAFFIC_ALL',
  launchStage: 'GA',
  template: {
    revision: 'serve-00003-kuz',
    labels: { 'goog-managed-by': 'cloudfunctions' },
    scaling: { minInstanceCount: 0, maxInstanceCount: 20 },
    timeout: '60s',
    serviceAccount: `mlops-serve@${PROJECT}.iam.gserviceaccount.com`,
    maxInstanceRequestConcurrency: 80,
    containers: [
      {
        name: 'worker',
        image: 'europe-west1-docker.pkg.dev/demo/gcf-artifacts/demo--europe--west1__serve:version_3',
        env: [
          { name: 'LOG_EXECUTION_ID', value: 'true' },
          { name: 'MLOPS_PROFILE', value: 'gcp' },
          { name: 'MLOPS_SERVE_ALIAS', value: 'production' },
        ],
        resources: { limits: { cpu: '1', memory: '512Mi' }, cpuIdle: true, startupCpuBoost: true },
        ports: [{ name: 'http1', containerPort: 8080 }],
      },
    ],
  },
  traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }],
  observedGeneration: '3',
  terminalCondition: { type: 'Ready', state: 'CONDITION_SUCCEEDED' },
  latestReadyRevision: `${PARENT}/services/serve/revisions/serve-00003-kuz`,
  latestCreatedRevision: `${PARENT}/services/serve/revisions/serve-00003-kuz`,
  uri: 'https://serve-k3x7q2-ew.a.run.app',
  reconciling: false,
  etag: '"CKuw7bMGEJiRlq4B/cHJvamVjdHMvZGVtbw"',
});

/** One request the fake received. */
export interface Recorded {
  method: string;
  path: string;
  body?: CloudRunService;
  authorization?: string;
}

/** A small Cloud Run Admin API: services, revisions and operations that finish on the second poll. */
export class FakeCloudRun {
  readonly services = new Map<string, CloudRunService>();
  readonly revisions = new Map<string, CloudRunService>();
  readonly requests: Recorded[] = [];
  failNextOperation?: string;
  private readonly operations = new Map<string, { polls: number; service: string; revision: string; error?: string }>();

  get writes(): Recorded[] {
    return this.requests.filter((request) => request.method !== 'GET');
  }

  handle(method: string, url: URL, body: CloudRunService | undefined): [number, unknown] {
    const path = url.pathname.replace(/^\/v2\//, '');
    if (method === 'GET' && path.includes('/operations/')) return this.poll(path);
    if (method === 'GET' && path.includes('/revisions/')) return this.found(this.revisions.get(path));
    if (method === 'GET') return this.found(this.services.get(path));
    if (method === 'POST') {
      const name = `${path}/${url.searchParams.get('serviceId')}`;
      return this.services.has(name) ? [409, { error: { code: 409, message: `Resource '${name}' already exists.` } }] : this.apply(name, body!);
    }
    if (method === 'PATCH') return this.services.has(path) ? this.apply(path, body!) : this.found(undefined);
    return [405, {}];
  }

  private found(resource: unknown): [number, unknown] {
    return resource ? [200, resource] : [404, { error: { code: 404, message: 'Resource not found.', status: 'NOT_FOUND' } }];
  }

  /**
   * A create or update. As Cloud Run does: a new template makes a new revision (its name must be new),
   * an unchanged one makes none; traffic must add up to 100% over existing revisions (or the new one),
   * with distinct tags. An invalid body is refused with a 400, as the API refuses it.
   */
  private apply(name: string, body: CloudRunService): [number, unknown] {
    const previous = this.services.get(name);
    const revision = `${name}/revisions/${body.template?.revision}`;
    const unchanged = previous && JSON.stringify(previous.template) === JSON.stringify(body.template);
    if (!unchanged && this.revisions.has(revision))
      return [409, { error: { code: 409, message: `Revision named '${body.template?.revision}' already exists.` } }];
    const invalid = this.invalidTraffic(name, body, unchanged ? undefined : revision);
    if (invalid) return [400, { error: { code: 400, message: invalid, status: 'INVALID_ARGUMENT' } }];
    const id = name.slice(name.lastIndexOf('/') + 1);
    const created = unchanged ? {} : { latestCreatedRevision: revision };
    this.services.set(name, { ...previous, ...body, name, uri: `https://${id}-k3x7q2-ew.a.run.app`, ...created, reconciling: true });
    if (!unchanged) this.revisions.set(revision, { name: revision, labels: body.template?.labels, containers: body.template?.containers });
    const operation = `${PARENT}/operations/op-${this.operations.size + 1}`;
    this.operations.set(operation, { polls: 0, service: name, revision: unchanged ? previous.latestReadyRevision! : revision, error: this.failNextOperation });
    this.failNextOperation = undefined;
    return [200, { name: operation, done: false }];
  }

  private invalidTraffic(name: string, body: CloudRunService, newRevision: string | undefined): string | undefined {
    const traffic = body.traffic ?? [];
    const total = traffic.reduce((sum, target) => sum + (target.percent ?? 0), 0);
    if (total !== 100) return `Traffic percentages must add up to 100, got ${total}.`;
    const tags = traffic.flatMap((target) => (target.tag ? [target.tag] : []));
    if (new Set(tags).size !== tags.length) return `Traffic tags must be unique, got ${tags.join(', ')}.`;
    for (const target of traffic) {
      if (target.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST') continue;
      const full = `${name}/revisions/${target.revision}`;
      if (full !== newRevision && !this.revisions.has(full)) return `Revision '${target.revision}' referenced in traffic not found.`;
    }
    return undefined;
  }

  private poll(path: string): [number, unknown] {
    const operation = this.operations.get(path)!;
    if (++operation.polls < 2) return [200, { name: path, done: false }];
    const service = this.services.get(operation.service)!;
    service.reconciling = false;
    if (operation.error) return [200, { name: path, done: true, error: { code: 9, message: operation.error } }];
    service.latestReadyRevision = operation.revision;
    return [200, { name: path, done: true, response: service }];
  }
}

/** A fake behind a real HTTP server on 127.0.0.1, recording every request with its Authorization header. */
export async function serveFakeCloudRun(fake: () => FakeCloudRun): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    request.on('data', (chunk) => {
      text += chunk;
    });
    request.on('end', () => {
      const url = new URL(request.url!, 'http://127.0.0.1');
      const body = text ? JSON.parse(text) : undefined;
      const current = fake();
      current.requests.push({ method: request.method!, path: url.pathname + url.search, body, authorization: request.headers.authorization });
      const [status, payload] = current.handle(request.method!, url, body);
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
