import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readJobsFile } from '../../infra/deploy-config.js';
import { PlatformError } from '../../shared/domain/errors.js';
import { type JobDefinition, type JobRun, jobRunId, nextRunOf, scheduledJobMessage } from '../../shared/domain/jobs.js';
import { TOPICS } from '../../shared/domain/topics.js';
import type { JobRunStore } from '../../shared/ports/job-run-store.port.js';
import { CONFIG_FILE } from '../lib/deploy/deploy-args.js';
import type { CliIo, CommandDefinition, JsonOption } from './command.js';
import { jsonOption, refuseUnknownSubcommands } from './command.js';
import type { CliContext } from './context.js';
import { closestName, table, UsageError } from './format.js';

/** Flags every `mlops jobs` command takes. */
interface JobsFlags extends JsonOption {
  jobs?: string;
}

/** Flags of `mlops jobs run`. */
interface RunFlags extends JobsFlags {
  wait: boolean;
  timeout: string;
}

/** How often `mlops jobs run` reads the run's record while it waits. */
const POLL_MS = 500;

/** `mlops jobs list|run`: the scheduled jobs declared in mlops.deploy.json, their next and last runs, and a run now. */
export const jobsCommand: CommandDefinition = (program, { context, io }) => {
  const jobs = refuseUnknownSubcommands(
    program.command('jobs').description(`scheduled jobs declared in ${CONFIG_FILE} ("jobs"): batch scoring, drift, reports, retrains, materialization`),
  );
  const jobsFile = `a JSON file with a "jobs" array (default: ${CONFIG_FILE})`;
  jobs
    .command('list')
    .description('each declared job: kind, cron schedule, next run (UTC) and its last run with its status')
    .option('--jobs <file>', jobsFile)
    .addOption(jsonOption())
    .action((flags: JobsFlags) => withStore(context(), (runs) => listJobs(declaredJobs(flags), runs, flags, io)));
  jobs
    .command('run')
    .argument('<name>', 'the job name (see: mlops jobs list)')
    .description('publish the job on scheduled-jobs now, as its schedule would, and wait for its run to finish, printing its report')
    .option('--jobs <file>', jobsFile)
    .option('--no-wait', 'publish and return without waiting for the run')
    .option('--timeout <seconds>', 'how long to wait for the run', '600')
    .addOption(jsonOption())
    .action((name: string, flags: RunFlags) => withStore(context(), (runs) => runNow(context(), runs, findJob(declaredJobs(flags), name), flags, io)));
};

/** Runs a command with the job run store; the CLI closes the platform's clients as it exits. */
async function withStore(context: CliContext, work: (runs: JobRunStore) => Promise<void>): Promise<void> {
  await work(await context.platform.jobRuns());
}

function declaredJobs({ jobs }: JobsFlags): JobDefinition[] {
  return jobs === undefined ? readJobsFile(CONFIG_FILE, { optional: true }) : readJobsFile(resolve(jobs));
}

function findJob(jobs: JobDefinition[], name: string): JobDefinition {
  const job = jobs.find((candidate) => candidate.name === name);
  if (job) return job;
  const suggestion = closestName(
    name,
    jobs.map((candidate) => candidate.name),
  );
  const known = jobs.length === 0 ? 'none is declared' : `declared: ${jobs.map((candidate) => candidate.name).join(', ')}`;
  throw new PlatformError('JOB.NOT_FOUND', `No job named "${name}" (${known}).${suggestion ? ` Did you mean "${suggestion}"?` : ''}`);
}

async function listJobs(jobs: JobDefinition[], runs: JobRunStore, flags: JobsFlags, io: CliIo): Promise<void> {
  const latest = await runs.latest(jobs.map((job) => job.name));
  const now = new Date();
  const rows = jobs.map((job) => ({ job, nextRun: nextRunOf(job.schedule, now)?.toISOString(), lastRun: latest.get(job.name) }));
  if (flags.json) return io.print(JSON.stringify(rows, null, 2));
  if (rows.length === 0)
    return io.print(
      `No jobs declared. Add a "jobs" array to ${flags.jobs ?? CONFIG_FILE}, e.g. {"name": "daily-report", "schedule": "0 6 * * *", "kind": "report"}.`,
    );
  io.print(
    table(
      ['NAME', 'KIND', 'SCHEDULE', 'NEXT RUN (UTC)', 'LAST RUN', 'STATUS'],
      rows.map(({ job, nextRun, lastRun }) => [job.name, job.kind, job.schedule, nextRun ?? '-', lastRun?.scheduledTime ?? 'never', lastRun?.status ?? '-']),
    ),
  );
}

async function runNow(context: CliContext, runs: JobRunStore, job: JobDefinition, flags: RunFlags, io: CliIo): Promise<void> {
  const timeoutMs = Number(flags.timeout) * 1000;
  if (!(timeoutMs > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got "${flags.timeout}". See: mlops jobs run --help`);
  const scheduledTime = new Date();
  const id = jobRunId(job.name, scheduledTime);
  const before = await runs.get(id);
  await context.platform.eventBus().publish(TOPICS.scheduledJobs, scheduledJobMessage(job, scheduledTime), { job: job.name });
  if (!flags.wait) return io.print(flags.json ? JSON.stringify({ id, published: TOPICS.scheduledJobs }) : `Published ${job.name}: run ${id}.`);
  const run = await finishedRun(runs, id, before, timeoutMs);
  if (flags.json) return io.print(JSON.stringify(run, null, 2));
  if (run.status === 'failed') {
    throw new PlatformError(
      'JOB.FAILED',
      `Job ${job.name} failed (run ${id}, attempt ${run.attempts}): ${run.error}. Transient failures are retried by Pub/Sub.`,
    );
  }
  const again = before?.status === 'succeeded' ? ' (it had already run this minute: each job runs once per scheduled minute)' : '';
  io.print(`Job ${job.name} (${job.kind}) succeeded: run ${id}${again}, ${run.startedAt} to ${run.finishedAt}.`);
  io.print(JSON.stringify(run.report ?? {}, null, 2));
}

/** Waits for the run to end: a new attempt's outcome, or the earlier success a repeated firing of the minute leaves as it is. */
async function finishedRun(runs: JobRunStore, id: string, before: JobRun | undefined, timeoutMs: number): Promise<JobRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await runs.get(id);
    const ended = run !== undefined && run.status !== 'running';
    if (ended && (before?.status === 'succeeded' || run.attempts > (before?.attempts ?? 0))) return run;
    if (Date.now() > deadline) {
      throw new PlatformError(
        'CLI.TIMEOUT',
        `Job run ${id} had not finished after ${timeoutMs / 1000} s (${run ? run.status : 'not started'}). See: mlops jobs list`,
      );
    }
    await sleep(POLL_MS);
  }
}
