import { z } from 'zod';
import { parseCron } from './cron.js';
import { PlatformError } from './errors.js';
import { MAX_WINDOW_HOURS } from './monitoring-events.js';
import { parseWith } from './validation.js';

/** What a scheduled job does when it fires. */
export const JOB_KINDS = ['batch-score', 'drift', 'report', 'retrain', 'materialize'] as const;
/** One of JOB_KINDS. */
export type JobKind = (typeof JOB_KINDS)[number];

/** The alias a job resolves when it names none. */
export const DEFAULT_JOB_ALIAS = 'production';

/** Hours a job looks back over when it names none: a day for reports, a week of traffic for a retrain. */
export const DEFAULT_WINDOW_HOURS: Record<'report' | 'retrain', number> = { report: 24, retrain: 24 * 7 };

type JobField = 'model' | 'alias' | 'dataset' | 'windowHours';

/** Which optional fields each kind needs and which it reads; a field a kind does not read is refused, so a typo'd job is not silently different. */
const FIELDS_OF: Record<JobKind, { required: JobField[]; allowed: JobField[]; does: string }> = {
  'batch-score': { required: ['model', 'dataset'], allowed: ['alias'], does: 'scores an offline_features dataset with the version an alias names' },
  drift: { required: [], allowed: ['model', 'windowHours'], does: 'runs drift monitoring (every model with an alias, or one)' },
  report: { required: [], allowed: ['model', 'windowHours'], does: 'writes the HTML monitoring report (every model with an alias, or one)' },
  retrain: { required: ['model'], allowed: ['alias', 'windowHours'], does: 'requests a retrain of the version an alias names' },
  materialize: { required: ['dataset'], allowed: [], does: 'copies the latest rows of an offline_features dataset to the online store' },
};

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

const JobFields = z
  .object({
    /** Unique among the declared jobs; it names the Cloud Scheduler job (`job-<name>`) and the runs. */
    name: z.string().regex(NAME, 'a job name: 1-63 lowercase letters, digits or dashes, starting with a letter (e.g. "nightly-score")'),
    /** Five-field cron, UTC unless the deployment sets scheduleTimeZone (e.g. "0 2 * * *" is 02:00 every day). */
    schedule: z.string().superRefine((schedule, context) => {
      try {
        parseCron(schedule);
      } catch (error) {
        context.addIssue({ code: 'custom', message: `${(error as Error).message.replace(/\.$/, '')}; write e.g. "0 2 * * *" (02:00 every day)` });
      }
    }),
    kind: z.enum(JOB_KINDS, { error: `expected one of ${JOB_KINDS.join(', ')}` }),
    model: z.string().regex(NAME, 'a model name: lowercase letters, digits or dashes, starting with a letter').optional(),
    alias: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'an alias name such as production')
      .optional(),
    /** An offline_features dataset id, as `mlops features load` named it. */
    dataset: z.string().min(1).max(200).optional(),
    windowHours: z.number().positive().max(MAX_WINDOW_HOURS).optional(),
    description: z.string().max(500).optional(),
  })
  .strict();

/** A job declared in mlops.deploy.json's `jobs`: what runs, on which cron schedule. */
export const JobDefinition = JobFields.superRefine((job, context) => {
  const fields = FIELDS_OF[job.kind];
  for (const field of fields.required) {
    if (job[field] === undefined) context.addIssue({ code: 'custom', path: [field], message: `a ${job.kind} job needs "${field}": it ${fields.does}` });
  }
  for (const field of ['model', 'alias', 'dataset', 'windowHours'] as const) {
    if (job[field] !== undefined && !fields.required.includes(field) && !fields.allowed.includes(field)) {
      context.addIssue({ code: 'custom', path: [field], message: `a ${job.kind} job does not use "${field}"; remove it (it ${fields.does})` });
    }
  }
}).transform((job) => (FIELDS_OF[job.kind].allowed.includes('alias') ? { ...job, alias: job.alias ?? DEFAULT_JOB_ALIAS } : job));
/** A validated job; `alias` is filled in for the kinds that resolve one. */
export type JobDefinition = z.infer<typeof JobDefinition>;

/** The message a scheduler publishes on scheduled-jobs: the whole job, so the runner needs no other copy of the configuration. */
export const ScheduledJobMessage = z.object({
  job: z.record(z.string(), z.unknown()),
  /** When the schedule fired (the local scheduler sets it); Cloud Scheduler sends none, so the publish time stands in. */
  scheduledTime: z.string().datetime({ offset: true }).optional(),
});
/** A scheduled-jobs message before its job is validated. */
export type ScheduledJobMessage = z.infer<typeof ScheduledJobMessage>;

/** Validates one job definition, or throws JOB.INVALID naming each fault. */
export function parseJob(data: unknown): JobDefinition {
  const name = typeof (data as { name?: unknown })?.name === 'string' ? ` "${(data as { name: string }).name}"` : '';
  return parseWith(JobDefinition, data, 'JOB.INVALID', `job${name}`);
}

/** Validates a list of jobs (mlops.deploy.json's `jobs`), refusing two with the same name. */
export function parseJobs(data: unknown): JobDefinition[] {
  if (!Array.isArray(data)) throw new PlatformError('JOB.INVALID', `"jobs" must be an array of job definitions, got ${JSON.stringify(data)}.`);
  const jobs = data.map((job, index) => {
    try {
      return parseJob(job);
    } catch (error) {
      throw new PlatformError('JOB.INVALID', `jobs[${index}]: ${(error as Error).message}`, { cause: error });
    }
  });
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.name)) throw new PlatformError('JOB.INVALID', `Two jobs are named "${job.name}": job names must be unique; rename one.`);
    seen.add(job.name);
  }
  return jobs;
}

/** Reads a scheduled-jobs message: EVENT.INVALID for a malformed envelope, JOB.INVALID for a bad job (both permanent). */
export function readScheduledJob(data: unknown): { job: JobDefinition; scheduledTime?: string } {
  const message = parseWith(ScheduledJobMessage, data, 'EVENT.INVALID', 'scheduled-jobs message');
  return { job: parseJob(message.job), scheduledTime: message.scheduledTime };
}

/** The message that runs a job, as the scheduler publishes it. */
export function scheduledJobMessage(job: JobDefinition, scheduledTime?: Date): ScheduledJobMessage {
  return { job, ...(scheduledTime && { scheduledTime: scheduledTime.toISOString() }) };
}

/** The Cloud Scheduler job that fires a declared job; prefixed so it never collides with the platform's own. */
export function schedulerJobNameOf(job: Pick<JobDefinition, 'name'>): string {
  return `job-${job.name}`;
}

/**
 * The id of a job's run: one per (job, scheduled minute), so a redelivered or repeated trigger of the same
 * firing is the same run. Seconds are dropped: the local scheduler stamps the second it noticed the minute.
 */
export function jobRunId(name: string, scheduledTime: Date): string {
  return `${name}@${scheduledMinute(scheduledTime).toISOString().replace('.000Z', 'Z')}`;
}

/** The minute a firing belongs to: the start of its run's window, whichever second it was noticed in. */
export function scheduledMinute(scheduledTime: Date): Date {
  return new Date(Math.floor(scheduledTime.getTime() / 60_000) * 60_000);
}

/** How far ahead nextRunOf looks: a year and a day, so a yearly schedule has a next run. */
const LOOKAHEAD_MINUTES = 366 * 24 * 60 + 1;

/** The next minute strictly after `after` at which the schedule fires (UTC), or undefined if none within a year. */
export function nextRunOf(schedule: string, after: Date): Date | undefined {
  const cron = parseCron(schedule);
  const start = Math.floor(after.getTime() / 60_000) + 1;
  for (let minute = start; minute < start + LOOKAHEAD_MINUTES; minute += 1) {
    const at = new Date(minute * 60_000);
    if (cron.matches(at)) return at;
  }
  return undefined;
}

/** Where a run of a job stands. */
export type JobRunStatus = 'running' | 'succeeded' | 'failed';

/** One run of a job, as `job_runs/{id}` keeps it. */
export interface JobRun {
  /** {@link jobRunId} of the job and the minute it was scheduled for. */
  id: string;
  job: string;
  kind: JobKind;
  /** The definition the run ran, as its message carried it. */
  definition: JobDefinition;
  scheduledTime: string;
  status: JobRunStatus;
  /** Times the run was started: a redelivery after a failure or a lost worker starts it again. */
  attempts: number;
  startedAt: string;
  finishedAt?: string;
  /** What the run did (rows scored, reports written, the retrain request...). */
  report?: Record<string, unknown>;
  error?: string;
}

/** What claiming a run decided: run it now, leave it (it succeeded), or wait (another worker holds it). */
export type JobRunClaim = { state: 'claimed'; run: JobRun } | { state: 'done'; run: JobRun } | { state: 'busy'; run: JobRun };

/**
 * Decides a claim on a run given what is stored: a new or failed run is claimed, a succeeded one is done,
 * and a running one is busy until its lease (the longest a run can take) has passed, after which its
 * worker is taken for lost and the run is claimed again.
 */
export function claimRun(stored: JobRun | undefined, wanted: Pick<JobRun, 'id' | 'definition' | 'scheduledTime'>, now: Date, leaseMs: number): JobRunClaim {
  if (stored?.status === 'succeeded') return { state: 'done', run: stored };
  if (stored?.status === 'running' && now.getTime() - Date.parse(stored.startedAt) < leaseMs) return { state: 'busy', run: stored };
  const run: JobRun = {
    id: wanted.id,
    job: wanted.definition.name,
    kind: wanted.definition.kind,
    definition: wanted.definition,
    scheduledTime: wanted.scheduledTime,
    status: 'running',
    attempts: (stored?.attempts ?? 0) + 1,
    startedAt: now.toISOString(),
  };
  return { state: 'claimed', run };
}
