import { spawn } from 'node:child_process';
import type { ApiCall, Call } from '../../../infra/plan-steps.js';
import type { CallPurpose, CallResult, Executor } from './apply-plan.js';

const NOT_FOUND = /NOT_FOUND|not found|does not exist|\b404\b/i;

/** Options of the real executor. */
export interface CloudExecutorOptions {
  project: string;
  /** Where `--source=dist/functions/...` is resolved: the project root. */
  cwd?: string;
  /** Progress of long commands (function deploys take minutes); stderr by default. */
  progress?: (chunk: string) => void;
}

type Handler = (call: ApiCall, project: string) => Promise<unknown>;

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
      const output = await handler(call, this.options.project);
      return { ok: true, output: JSON.stringify(output ?? {}) };
    } catch (error) {
      const { code, message } = error as { code?: number | string; message?: string };
      return { ok: false, notFound: code === 404 || code === 5 || NOT_FOUND.test(message ?? ''), message: message ?? String(error) };
    }
  }

  /** Runs one command line; output of mutating commands streams to `progress` as it comes. */
  command([program, ...args]: string[], purpose: CallPurpose): Promise<CallResult> {
    const mutating = purpose !== 'check' && purpose !== 'lookup';
    return new Promise((resolve) => {
      const child = spawn(program!, args, { cwd: this.cwd, env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' } });
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
      child.on('close', (code) =>
        resolve(code === 0 ? { ok: true, output: stdout } : { ok: false, notFound: NOT_FOUND.test(stderr), message: stderr.trim() || `exit code ${code}` }),
      );
    });
  }
}

function parts(resource: string, pattern: RegExp): string[] {
  const match = pattern.exec(resource);
  if (!match) throw new Error(`Resource "${resource}" does not match ${pattern}.`);
  return match.slice(1);
}

const TABLE = /^projects\/([^/]+)\/datasets\/([^/]+)(?:\/tables\/([^/]+))?$/;

async function bigquery(call: ApiCall) {
  const [projectId, datasetId, tableId] = parts(call.resource, TABLE);
  const { BigQuery } = await import('@google-cloud/bigquery');
  const dataset = new BigQuery({ projectId }).dataset(datasetId!);
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

async function scheduler() {
  const { CloudSchedulerClient } = await import('@google-cloud/scheduler');
  return new CloudSchedulerClient();
}

async function bucketOf(call: ApiCall, project: string) {
  const [bucket] = parts(call.resource, /^b\/([^/]+)$/);
  const { Storage } = await import('@google-cloud/storage');
  return new Storage({ projectId: project }).bucket(bucket!);
}

async function runRequest<T>(method: string, path: string): Promise<T> {
  const { GoogleAuth } = await import('google-auth-library');
  const client = await new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' }).getClient();
  const response = await client.request<T>({ url: `https://run.googleapis.com/v2/${path}`, method: method as 'GET' | 'DELETE' });
  return response.data;
}

/** Each API method the planner emits, as one client-library call. */
const HANDLERS: Record<string, Handler> = {
  'bigquery datasets.get': async (call) => (await (await bigquery(call)).dataset.getMetadata())[0],
  'bigquery datasets.insert': async (call) => {
    const { dataset, body } = await bigquery(call);
    return (await dataset.create(withoutReference(body)))[1];
  },
  'bigquery datasets.delete': async (call) => (await bigquery(call)).dataset.delete({ force: call.body?.deleteContents === true }),
  'bigquery tables.get': async (call) => (await (await bigquery(call)).table!.getMetadata())[0],
  'bigquery tables.insert': async (call) => {
    const { dataset, tableId, body } = await bigquery(call);
    return (await dataset.createTable(tableId!, withoutReference(body)))[1];
  },
  'bigquery tables.delete': async (call) => (await bigquery(call)).table!.delete(),
  'cloudscheduler projects.locations.jobs.get': async (call) =>
    fromJob((await (await scheduler()).getJob({ name: call.resource }))[0] as unknown as Record<string, unknown>),
  'cloudscheduler projects.locations.jobs.create': async (call) =>
    (await scheduler()).createJob({ parent: call.resource.slice(0, call.resource.indexOf('/jobs/')), job: toJob(call.body) }),
  'cloudscheduler projects.locations.jobs.patch': async (call) =>
    (await scheduler()).updateJob({ job: toJob(call.body), updateMask: { paths: ['description', 'schedule', 'time_zone', 'pubsub_target'] } }),
  'cloudscheduler projects.locations.jobs.delete': async (call) => (await scheduler()).deleteJob({ name: call.resource }),
  'storage notifications.list': async (call, project) => (await (await bucketOf(call, project)).getNotifications())[0].map((item) => item.metadata),
  'storage notifications.insert': async (call, project) => {
    const body = call.body as { topic: string; payload_format: string; event_types: string[]; object_name_prefix: string };
    const bucket = await bucketOf(call, project);
    const options = { payloadFormat: body.payload_format, eventTypes: body.event_types, objectNamePrefix: body.object_name_prefix };
    return (await bucket.createNotification(body.topic, options))[1];
  },
  'storage notifications.delete': async (call, project) => {
    const [notifications] = await (await bucketOf(call, project)).getNotifications();
    await Promise.all(notifications.filter((item) => item.metadata.topic === call.body?.topic).map((item) => item.delete()));
  },
  'run services.deleteLabelled': async (call) => {
    const label = String(call.body?.label);
    let pageToken = '';
    const names: string[] = [];
    do {
      const page = await runRequest<{ services?: { name: string; labels?: Record<string, string> }[]; nextPageToken?: string }>(
        'GET',
        `${call.resource}/services${pageToken ? `?pageToken=${pageToken}` : ''}`,
      );
      names.push(...(page.services ?? []).filter((service) => service.labels?.[label] !== undefined).map((service) => service.name));
      pageToken = page.nextPageToken ?? '';
    } while (pageToken);
    for (const name of names) await runRequest('DELETE', name);
    return { deleted: names };
  },
};
