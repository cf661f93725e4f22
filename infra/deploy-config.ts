import { randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { PlatformError } from '../shared/domain/errors.js';
import { z } from 'zod';
import { JobDefinition, parseJobs } from '../shared/domain/jobs.js';
import { CostSettings } from './prices.js';
import type { Component } from './stack.js';

const EVERY_COMPONENT: Record<Component, true> = {
  registry: true,
  serving: true,
  'prediction-log': true,
  monitoring: true,
  'batch-scoring': true,
  tracking: true,
};

/** Every component a deployment can switch on or off. */
export const COMPONENTS = Object.keys(EVERY_COMPONENT) as Component[];

const on = z.boolean().default(true);
const memory = z.string().regex(/^\d+(Mi|Gi)$/, 'a size such as 512Mi or 1Gi');
const duration = z.string().regex(/^\d+[smhd]$/, 'a duration such as 600s, 12h or 7d');

/** The deployment settings, as written in mlops.deploy.json; every field but `project` has a default. */
export const DeployConfig = z.object({
  project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a Google Cloud project id (6-30 lowercase letters, digits, hyphens)'),
  region: z
    .string()
    .regex(/^[a-z]+-[a-z]+\d+$/, 'a region such as us-central1')
    .default('us-central1'),
  /** The artifact bucket; generated as `<project>-mlops-<6 random>` and written back when absent. */
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/, 'a bucket name (3-63 lowercase letters, digits, - _ .)')
    .optional(),
  components: z.object({ registry: on, serving: on, 'prediction-log': on, monitoring: on, 'batch-scoring': on, tracking: on }).strict().prefault({}),
  serving: z
    .object({
      memory: memory.default('1Gi'),
      cpu: z.number().positive().max(8).default(1),
      /** Requests one instance takes at once; above 1 needs at least 1 vCPU. */
      concurrency: z.number().int().min(1).max(1000).default(80),
      minInstances: z.number().int().min(0).default(0),
      maxInstances: z.number().int().min(1).default(20),
      /** `api-keys`: public URL, a key from apiKeyHashes required. `iam`: callers need roles/run.invoker. */
      auth: z.enum(['api-keys', 'iam']).default('api-keys'),
      /** sha256 hex digests of the accepted API keys (the keys themselves are never stored). */
      apiKeyHashes: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 hex digest')).default([]),
    })
    .strict()
    .refine((serving) => serving.minInstances <= serving.maxInstances, 'serving.minInstances must not exceed serving.maxInstances')
    .refine((serving) => serving.concurrency === 1 || serving.cpu >= 1, 'serving.concurrency above 1 needs serving.cpu of at least 1')
    .prefault({}),
  /** Cron schedules by scheduler job name, overriding infra/stack.ts. */
  schedules: z.record(z.string(), z.string()).default({}),
  scheduleTimeZone: z.string().default('Etc/UTC'),
  bigquery: z
    .object({
      dataset: z
        .string()
        .regex(/^\w{1,1024}$/)
        .default('mlops'),
      location: z.string().default('US'),
    })
    .strict()
    .prefault({}),
  /** Firestore location; defaults to nam5 for us-* regions, eur3 for europe-*, else the region. */
  firestore: z.object({ location: z.string().optional() }).strict().prefault({}),
  /** How long a dead-letter topic keeps messages (topic retention, so nothing is lost without a subscriber). */
  deadLetterRetention: duration.default('7d'),
  cost: CostSettings.prefault({}),
  /** Scheduled jobs as data (shared/domain/jobs.ts): one Cloud Scheduler job each, publishing the job to scheduled-jobs. */
  jobs: z
    .array(JobDefinition)
    .default([])
    .refine((jobs) => new Set(jobs.map((job) => job.name)).size === jobs.length, 'job names must be unique'),
});
/** Parsed deployment settings with every default filled in. */
export type DeployConfig = z.infer<typeof DeployConfig>;

/**
 * The jobs a file declares: mlops.deploy.json's `jobs`, any object's `jobs`, or a bare array. Only the jobs are
 * validated, so a jobs file needs no project. Missing: none when `optional` (the default deployment file), else an error.
 */
export function readJobsFile(path: string, { optional = false }: { optional?: boolean } = {}): JobDefinition[] {
  if (!existsSync(path)) {
    if (optional) return [];
    throw new PlatformError('JOB.INVALID', `No jobs file at ${path}: name a JSON file holding a "jobs" array, or an array of jobs.`);
  }
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new PlatformError('JOB.INVALID', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const jobs = Array.isArray(content) ? content : ((content ?? {}) as { jobs?: unknown }).jobs;
  try {
    return jobs === undefined ? [] : parseJobs(jobs);
  } catch (error) {
    throw new PlatformError('JOB.INVALID', `${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Command-line overrides of mlops.deploy.json. */
export interface DeployOverrides {
  project?: string;
  region?: string;
  bucket?: string;
  enable?: string[];
  disable?: string[];
  servingMemory?: string;
  servingMinInstances?: number;
  servingMaxInstances?: number;
  servingAuth?: string;
  apiKeyHashes?: string[];
  /** `job=cron` pairs. */
  schedules?: string[];
}

type Json = Record<string, unknown>;

/** Applies overrides to the raw file contents, then validates once; throws one message naming each bad field. */
export function parseDeployConfig(file: unknown, overrides: DeployOverrides = {}): DeployConfig {
  const result = DeployConfig.safeParse(withOverrides((file ?? {}) as Json, overrides));
  if (!result.success) throw new Error(`Invalid deployment config:\n${z.prettifyError(result.error)}`);
  return result.data;
}

function withOverrides(file: Json, overrides: DeployOverrides): Json {
  const { project, region, bucket, enable = [], disable = [], servingMemory, servingMinInstances, servingMaxInstances, servingAuth } = overrides;
  for (const name of [...enable, ...disable]) {
    if (!(COMPONENTS as string[]).includes(name)) throw new Error(`Unknown component "${name}": expected one of ${COMPONENTS.join(', ')}.`);
  }
  const flags = { memory: servingMemory, minInstances: servingMinInstances, maxInstances: servingMaxInstances, auth: servingAuth };
  const serving: Json = { ...(file.serving as Json | undefined), ...Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined)) };
  if (overrides.apiKeyHashes?.length) serving.apiKeyHashes = [...((serving.apiKeyHashes as string[] | undefined) ?? []), ...overrides.apiKeyHashes];
  const components = { ...(file.components as Json | undefined) };
  for (const name of enable) components[name] = true;
  for (const name of disable) components[name] = false;
  return {
    ...file,
    ...(project && { project }),
    ...(region && { region }),
    ...(bucket && { bucket }),
    components,
    serving,
    schedules: { ...(file.schedules as Json | undefined), ...parseSchedules(overrides.schedules ?? []) },
  };
}

function parseSchedules(pairs: string[]): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new Error(`--schedule expects job=cron, got "${pair}".`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A globally unique bucket name for a project: `<project>-mlops-<6 random letters/digits>`. */
export function generateBucketName(project: string, random: (max: number) => number = randomInt): string {
  const suffix = Array.from({ length: 6 }, () => ALPHABET[random(ALPHABET.length)]).join('');
  return `${project}-mlops-${suffix}`;
}

/** The bucket of a config, which the planner needs; throws if none was set or generated. */
export function bucketOf(config: DeployConfig): string {
  if (!config.bucket) throw new Error('The deployment config has no bucket: set "bucket" or let `npm run deploy` generate one.');
  return config.bucket;
}

/** Firestore's location for a config: explicit, or the multi-region that contains the region. */
export function firestoreLocationOf(config: DeployConfig): string {
  if (config.firestore.location) return config.firestore.location;
  if (config.region.startsWith('us-')) return 'nam5';
  if (config.region.startsWith('europe-')) return 'eur3';
  return config.region;
}
