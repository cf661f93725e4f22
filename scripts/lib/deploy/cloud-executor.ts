import { spawn } from 'node:child_process';
import type { ApiCall, Call } from '../../../infra/plan-steps.js';
import type { CallPurpose, CallResult, Executor } from './apply-plan.js';

// `gcloud run services describe` reports a missing service as "Cannot find service [name]".
const NOT_FOUND = /NOT_FOUND|not found|does not exist|Cannot find|\b404\b/i;

/** Options of the real executor. */
export interface CloudExecutorOptions {
  project: string;
  /** Where `--source=dist/functions/...` is resolved: the project root. */
  cwd?: string;
  /** Progress of long commands (function deploys take minutes); stderr by default. */
  progress?: (chunk: string) => void;
  /** The program (and leading arguments) run for `gcloud`; the gcloud on PATH by default. */
  gcloud?: string[];
  /** Variables added to gcloud's environment (tests: a config folder, a token, endpoint overrides). */
  gcloudEnv?: Record<string, string>;
  /** A gcloud command still running after this long is killed and reported as failed; none by default. */
  commandTimeoutMs?: number;
  /** Root URL per API for the client libraries (`http://127.0.0.1:8080`) instead of Google's; for tests. */
  endpoints?: Partial<Record<ApiCall['api'], string>>;
  /**
   * A fixed OAuth token for the client libraries instead of Application Default Credentials; for tests.
   * Cloud Storage sends none to a custom endpoint, as the library does for emulators.
   */
  accessToken?: string;
}

/** How the client libraries reach Google: the project, and any endpoint or token the options set. */
type ClientSettings = Pick<CloudExecutorOptions, 'project' | 'endpoints' | 'accessToken'>;

/** An auth client that hands out `accessToken` and never refreshes it. */
async function tokenClient(accessToken: string) {
  const { OAuth2Client } = await import('google-auth-library');
  const client = new OAuth2Client();
  client.setCredentials({ access_token: accessToken, expiry_date: Date.now() + 3_600_000 });
  return client;
}

type Handler = (call: ApiCall, settings: ClientSettings) => Promise<unknown>;

/**
 * The executor for a real project: gcloud commands run without a shell, with prompts disabled;
 * API calls go through the Google Cloud client libraries, loaded only when first used.
 */
export class CloudExecutor implements Executor {
  private readonly cwd: string;
  private readonly progress: (chunk: string) => void;

  constructor(private readonly options: CloudExecutorOptions) {
    this.cwd = options.cwd ?? process.cwd();
    this.progress = options.progress ?? ((chunk) => void process.stderr.write(chunk));
  }

  async run(call: Call, { purpose }: { purpose: CallPurpose }): Promise<CallResult> {
    if (call.kind === 'command') return this.command(call.argv, purpose);
    const handler = HANDLERS[`${call.api} ${call.method}`];
    if (!handler) return { ok: false, notFound: false, message: `No client-library handler for ${call.api} ${call.method}.` };
    try {
      const output = await handler(call, this.options);
      return { ok: true, output: JSON.stringify(output ?? {}) };
    } catch (error) {
      const { code, message } = error as { code?: number | string; message?: string };
      return { ok: false, notFound: code === 404 || code === 5 || NOT_FOUND.test(message ?? ''), message: message ?? String(error) };
    }
  }

  /** Runs one command line; output of mutating commands streams to `progress` as it comes. */
  command(argv: string[], purpose: CallPurpose): Promise<CallResult> {
    const mutating = purpose !== 'check' && purpose !== 'lookup';
    const { gcloud, gcloudEnv, commandTimeoutMs } = this.options;
    const [program, ...args] = gcloud && argv[0] === 'gcloud' ? [...gcloud, ...argv.slice(1)] : argv;
    return new Promise((resolve) => {
      const env = { ...process.env, ...gcloudEnv, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
      const child = spawn(program!, args, { cwd: this.cwd, env, ...(commandTimeoutMs && { timeout: commandTimeoutMs, killSignal: 'SIGKILL' as const }) });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk;
      });
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
        if (mutating) this.progress(chunk.toString());
      });
      child.on('error', (error) => resolve({ ok: false, notFound: false, message: `${program}: ${error.message}` }));
      child.on('close', (code, signal) => {
        if (code === 0) return resolve({ ok: true, output: stdout });
        const reason = signal ? `killed by ${signal} after ${commandTimeoutMs} ms` : `exit code ${code}`;
        resolve({ ok: false, notFound: !signal && NOT_FOUND.test(stderr), message: stderr.trim() || reason });
      });
    });
  }
}

function parts(resource: string, pattern: RegExp): string[] {
  const match = pattern.exec(resource);
  if (!match) throw new Error(`Resource "${resource}" does not match ${pattern}.`);
  return match.slice(1);
}

const TABLE = /^projects\/([^/]+)\/datasets\/([^/]+)(?:\/tables\/([^/]+))?$/;

async function bigquery(call: ApiCall, { endpoints, accessToken }: ClientSettings) {
  const [projectId, datasetId, tableId] = parts(call.resource, TABLE);
  const { BigQuery } = await import('@google-cloud/bigquery');
  const options = {
    projectId,
    ...(endpoints?.bigquery && { apiEndpoint: endpoints.bigquery }),
    ...(accessToken && { authClient: await tokenClient(accessToken) }),
  };
  const dataset = new BigQuery(options).dataset(datasetId!);
  return { dataset, table: tableId ? dataset.table(tableId) : undefined, tableId, body: call.body ?? {} };
}

function withoutReference(body: Record<string, unknown>): Record<string, unknown> {
  const { datasetReference: _dataset, tableReference: _table, ...rest } = body;
  return rest;
}

/** Cloud Scheduler returns and takes the Pub/Sub payload as bytes; the plan writes it as base64 text. */
function toJob(body: Record<string, unknown> = {}): Record<string, unknown> {
  const target = body.pubsubTarget as { data?: string } | undefined;
  return target?.data ? { ...body, pubsubTarget: { ...target, data: Buffer.from(target.data, 'base64') } } : body;
}

function fromJob(job: Record<string, unknown>): Record<string, unknown> {
  const target = job.pubsubTarget as { data?: Uint8Array } | undefined;
  return target?.data ? { ...job, pubsubTarget: { ...target, data: Buffer.from(target.data).toString('base64') } } : job;
}

/** gRPC against Google; against another endpoint, REST (the client's fallback mode), which any HTTP server can answer. */
async function scheduler({ endpoints, accessToken }: ClientSettings) {
  const { CloudSchedulerClient } = await import('@google-cloud/scheduler');
  // google-gax carries its own copy of google-auth-library: same classes at run time, distinct types.
  const auth = accessToken ? { authClient: (await tokenClient(accessToken)) as never } : {};
  if (!endpoints?.cloudscheduler) return new CloudSchedulerClient(auth);
  const url = new URL(endpoints.cloudscheduler);
  return new CloudSchedulerClient({ fallback: true, apiEndpoint: url.hostname, port: Number(url.port), protocol: url.protocol.slice(0, -1), ...auth });
}

async function bucketOf(call: ApiCall, { project, endpoints }: ClientSettings) {
  const [bucket] = parts(call.resource, /^b\/([^/]+)$/);
  const { Storage } = await import('@google-cloud/storage');
  return new Storage({ projectId: project, ...(endpoints?.storage && { apiEndpoint: endpoints.storage }) }).bucket(bucket!);
}

async function runRequest<T>(method: string, path: string, { endpoints, accessToken }: ClientSettings): Promise<T> {
  const { GoogleAuth } = await import('google-auth-library');
  const client = accessToken ? await tokenClient(accessToken) : await new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' }).getClient();
  const root = (endpoints?.run ?? 'https://run.googleapis.com').replace(/\/$/, '');
  const response = await client.request<T>({ url: `${root}/v2/${path}`, method: method as 'GET' | 'DELETE' });
  return response.data;
}

/** Each API method the planner emits, as one client-library call. */
const HANDLERS: Record<string, Handler> = {
  'bigquery datasets.get': async (call, settings) => (await (await bigquery(call, settings)).dataset.getMetadata())[0],
  'bigquery datasets.insert': async (call, settings) => {
    const { dataset, body } = await bigquery(call, settings);
    return (await dataset.create(withoutReference(body)))[1];
  },
  'bigquery datasets.delete': async (call, settings) => (await bigquery(call, settings)).dataset.delete({ force: call.body?.deleteContents === true }),
  'bigquery tables.get': async (call, settings) => (await (await bigquery(call, settings)).table!.getMetadata())[0],
  'bigquery tables.insert': async (call, settings) => {
    const { dataset, tableId, body } = await bigquery(call, settings);
    return (await dataset.createTable(tableId!, withoutReference(body)))[1];
  },
  'bigquery tables.delete': async (call, settings) => (await bigquery(call, settings)).table!.delete(),
  'cloudscheduler projects.locations.jobs.get': async (call, settings) =>
    fromJob((await (await scheduler(settings)).getJob({ name: call.resource }))[0] as unknown as Record<string, unknown>),
  'cloudscheduler projects.locations.jobs.create': async (call, settings) =>
    (await scheduler(settings)).createJob({ parent: call.resource.slice(0, call.resource.indexOf('/jobs/')), job: toJob(call.body) }),
  'cloudscheduler projects.locations.jobs.patch': async (call, settings) =>
    (await scheduler(settings)).updateJob({ job: toJob(call.body), updateMask: { paths: ['description', 'schedule', 'time_zone', 'pubsub_target'] } }),
  'cloudscheduler projects.locations.jobs.delete': async (call, settings) => (await scheduler(settings)).deleteJob({ name: call.resource }),
  'storage notifications.list': async (call, settings) => (await (await bucketOf(call, settings)).getNotifications())[0].map((item) => item.metadata),
  'storage notifications.insert': async (call, settings) => {
    const body = call.body as { topic: string; payload_format: string; event_types: string[]; object_name_prefix: string };
    const bucket = await bucketOf(call, settings);
    const options = { payloadFormat: body.payload_format, eventTypes: body.event_types, objectNamePrefix: body.object_name_prefix };
    return (await bucket.createNotification(body.topic, options))[1];
  },
  'storage notifications.delete': async (call, settings) => {
    const [notifications] = await (await bucketOf(call, settings)).getNotifications();
    await Promise.all(notifications.filter((item) => item.metadata.topic === call.body?.topic).map((item) => item.delete()));
  },
  'run services.deleteLabelled': async (call, settings) => {
    const label = String(call.body?.label);
    let pageToken = '';
    const names: string[] = [];
    do {
      const page = await runRequest<{ services?: { name: string; labels?: Record<string, string> }[]; nextPageToken?: string }>(
        'GET',
        `${call.resource}/services${pageToken ? `?pageToken=${pageToken}` : ''}`,
        settings,
      );
      names.push(...(page.services ?? []).filter((service) => service.labels?.[label] !== undefined).map((service) => service.name));
      pageToken = page.nextPageToken ?? '';
    } while (pageToken);
    for (const name of names) await runRequest('DELETE', name, settings);
    return { deleted: names };
  },
};
