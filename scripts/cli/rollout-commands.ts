import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { isPlatformError } from '../../shared/domain/errors.js';
import { parseVersionNumber, validateModelName } from '../../shared/domain/names.js';
import { parseDuration } from '../../shared/domain/rollout.js';
import type { Rollout } from '../../shared/domain/rollout.js';
import type { CommandDefinition, CommandRuntime, JsonOption } from './command.js';
import { jsonOption, refuseUnknownSubcommands } from './command.js';
import type { CliContext } from './context.js';
import { UsageError } from './format.js';
import { callFunction } from './http.js';
import { describeRolloutComparison, rolloutCompare } from './rollout-compare.js';
import { describeSteps, describeStart, describeStatus, type RolloutsAnswer, type StartAnswer } from './rollout-format.js';

/** Flags of `mlops rollout start` as commander parses them. */
interface StartFlags extends JsonOption {
  canary?: string;
  steps?: string;
  split?: string;
  stickyKey?: string;
  interval?: string;
  duration?: string;
  maxErrorRate?: string;
  maxP99Ms?: string;
  maxOutputDrift?: string;
  minRequests?: string;
  reason: string;
}

/** `mlops rollout start|shadow|status|compare|pause|resume|abort`: online experiments through the registry and monitoring APIs. */
export const rolloutCommand: CommandDefinition = (program, runtime) => {
  const rollout = refuseUnknownSubcommands(
    program.command('rollout').description('canary, shadow and A/B rollouts of a candidate version, analysed and ended automatically'),
  );
  startCommand(rollout, runtime);
  shadowCommand(rollout, runtime);
  rollout
    .command('status')
    .argument('<model>', 'the model name')
    .description("the model's current rollout (else its latest) and each step's share, figures and verdict")
    .addOption(jsonOption())
    .action(async (model: string, { json = false }: JsonOption) => {
      const answer = await callRegistry<RolloutsAnswer>(runtime.context(), `/models/${validateModelName(model)}/rollouts`);
      runtime.io.print(json ? JSON.stringify(answer, null, 2) : describeStatus(model, answer));
    });
  rollout
    .command('compare')
    .argument('<model>', 'the model name')
    .description(
      "the candidate and the baseline side by side from the warehouse: requests, errors, latency, output drift, a shadow's agreement, an A/B verdict",
    )
    .option('--rollout <id>', 'a rollout other than the current (else latest) one')
    .addOption(jsonOption())
    .action(async (model: string, { json = false, rollout: id }: JsonOption & { rollout?: string }) => {
      const comparison = await rolloutCompare(runtime.context(), model, { rollout: id });
      runtime.io.print(json ? JSON.stringify(comparison, null, 2) : describeRolloutComparison(comparison));
    });
  for (const [verb, what] of [
    ['pause', 'keep the share where it is and stop the analysis from advancing'],
    ['resume', 'resume a paused rollout; the step under way starts its interval again'],
    ['abort', 'send all traffic back to the baseline now and end the rollout'],
  ] as const) {
    rollout
      .command(verb)
      .argument('<model>', 'the model name')
      .description(what)
      .option('--reason <text>', 'why, kept in the audit trail', '')
      .addOption(jsonOption())
      .action(async (model: string, flags: JsonOption & { reason: string }) => {
        const path = `/models/${validateModelName(model)}/rollouts/current/${verb}`;
        const answer = await callRegistry<{ rollout: Rollout }>(runtime.context(), path, { reason: flags.reason });
        runtime.io.print(
          flags.json
            ? JSON.stringify(answer, null, 2)
            : [`${model}: rollout ${answer.rollout.id} ${verb === 'abort' ? 'aborted' : `${verb}d`}`, ...describeSteps(answer.rollout)].join('\n'),
        );
      });
  }
};

/** What `mlops rollout start` and `mlops rollout shadow` use when not told: a canary step is judged every 10 minutes, a shadow runs an hour. */
export const ROLLOUT_DEFAULTS = { interval: '10m', shadowDuration: '1h' } as const;

function startCommand(group: Command, { context, io }: CommandRuntime): void {
  group
    .command('start')
    .argument('<model>', 'the model name')
    .argument('<version>', 'the candidate version')
    .description('roll a candidate out against production: a canary in analysed steps (default 10,50,100), or an A/B split with --split')
    .option('--canary <percent>', "the first step's share; alone it means steps <percent>,100")
    .option('--steps <list>', "the canary's shares, increasing, such as 10,50,100")
    .option('--interval <duration>', 'how long each canary step runs before it is judged (30s, 10m, 1h)', ROLLOUT_DEFAULTS.interval)
    .option('--split <percent>', 'an A/B test: this share goes to the candidate, sticky per --sticky-key')
    .option('--sticky-key <key>', 'keeps a client on one arm: header:<name> or feature:<name>')
    .option('--duration <duration>', 'how long a split runs before its verdict (default: until stopped)')
    .option('--max-error-rate <share>', 'a step fails when more of its requests are refused or fail (0.01 = 1%)')
    .option('--max-p99-ms <ms>', "a step fails when the candidate's p99 latency is over this")
    .option(
      '--max-output-drift <distance>',
      'a step fails when the candidate\'s outputs drift further from production\'s (Jensen-Shannon, 0-1; "off" to not check)',
    )
    .option('--min-requests <n>', 'requests the candidate must answer in a step before it is judged')
    .option('--reason <text>', 'why, kept in the audit trail', '')
    .addOption(jsonOption())
    .action(async (model: string, version: string, flags: StartFlags) => {
      const body = { ...startBody(version, flags), ...criteria(flags), reason: flags.reason, requestId: randomUUID() };
      const answer = await callRegistry<StartAnswer>(context(), `/models/${validateModelName(model)}/rollouts`, body);
      io.print(flags.json ? JSON.stringify(answer, null, 2) : describeStart(answer));
    });
}

function shadowCommand(group: Command, { context, io }: CommandRuntime): void {
  group
    .command('shadow')
    .argument('<model>', 'the model name')
    .argument('<version>', 'the candidate version')
    .description("copy a share of production's requests to a candidate; clients only see production's answers, the candidate's are logged")
    .option('--percent <percent>', 'the share of requests copied', '100')
    .option('--duration <duration>', 'how long the shadow runs (30s, 10m, 1h)', ROLLOUT_DEFAULTS.shadowDuration)
    .option('--reason <text>', 'why, kept in the audit trail', '')
    .addOption(jsonOption())
    .action(async (model: string, version: string, flags: JsonOption & { percent: string; duration: string; reason: string }) => {
      const body = {
        candidate: parseVersionNumber(version),
        mode: 'shadow',
        steps: [percentOf(flags.percent, '--percent')],
        duration: durationOf(flags.duration, '--duration'),
        reason: flags.reason,
        requestId: randomUUID(),
      };
      const answer = await callRegistry<StartAnswer>(context(), `/models/${validateModelName(model)}/rollouts`, body);
      io.print(flags.json ? JSON.stringify(answer, null, 2) : describeStart(answer));
    });
}

/** The mode and shares a start asks for: --split makes an A/B test, --canary and --steps a canary. */
function startBody(version: string, flags: StartFlags): Record<string, unknown> {
  const candidate = parseVersionNumber(version);
  const interval = durationOf(flags.interval ?? ROLLOUT_DEFAULTS.interval, '--interval');
  const duration = flags.duration === undefined ? undefined : durationOf(flags.duration, '--duration');
  const stickyKey = flags.stickyKey ?? null;
  if (flags.split !== undefined) {
    if (flags.canary !== undefined || flags.steps !== undefined) throw new UsageError('--split makes an A/B test: leave out --canary and --steps.');
    return { candidate, mode: 'split', steps: [percentOf(flags.split, '--split')], interval, duration: duration ?? null, stickyKey };
  }
  const steps = flags.steps === undefined ? undefined : stepsOf(flags.steps);
  const first = flags.canary === undefined ? undefined : percentOf(flags.canary, '--canary');
  if (first !== undefined && steps !== undefined && steps[0] !== first) {
    throw new UsageError(`--canary ${first} and --steps ${flags.steps} disagree: the first step is the canary's share. Give one of them.`);
  }
  const canarySteps = steps ?? (first === undefined ? undefined : first < 100 ? [first, 100] : [100]);
  return { candidate, mode: 'canary', ...(canarySteps ? { steps: canarySteps } : {}), interval, stickyKey };
}

function criteria(flags: StartFlags): Record<string, number | null> {
  const chosen: Record<string, number | null> = {};
  if (flags.maxErrorRate !== undefined) chosen.maxErrorRate = numberOf(flags.maxErrorRate, '--max-error-rate');
  if (flags.maxP99Ms !== undefined) chosen.maxP99Ms = numberOf(flags.maxP99Ms, '--max-p99-ms');
  if (flags.maxOutputDrift !== undefined) chosen.maxOutputDrift = flags.maxOutputDrift === 'off' ? null : numberOf(flags.maxOutputDrift, '--max-output-drift');
  if (flags.minRequests !== undefined) chosen.minRequests = numberOf(flags.minRequests, '--min-requests');
  return chosen;
}

function stepsOf(text: string): number[] {
  const steps = text.split(',').map((part) => Number(part.trim()));
  if (text.trim() === '' || steps.some((step) => !Number.isFinite(step) || step <= 0 || step > 100)) {
    throw new UsageError(`--steps expects percentages in (0, 100] separated by commas, such as 10,50,100; got "${text}".`);
  }
  return steps;
}

function percentOf(text: string, flag: string): number {
  const percent = Number(text);
  if (text.trim() === '' || !Number.isFinite(percent) || percent <= 0 || percent > 100)
    throw new UsageError(`${flag} expects a percentage in (0, 100]; got "${text}".`);
  return percent;
}

function numberOf(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${flag} expects a number; got "${text}".`);
  return value;
}

/** A duration flag in milliseconds; a bad one is a usage error (exit 2) naming the flag. */
function durationOf(text: string, flag: string): number {
  try {
    return parseDuration(text, flag);
  } catch (error) {
    if (isPlatformError(error)) throw new UsageError(`${flag} "${text}" is not a duration: write it as 30s, 10m, 1h or 2d.`);
    throw error;
  }
}

async function callRegistry<T>(context: CliContext, path: string, body?: unknown): Promise<T> {
  const headers = { 'content-type': 'application/json', 'x-mlops-actor': context.actor };
  return callFunction<T>(context, 'registry-api', path, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
}
