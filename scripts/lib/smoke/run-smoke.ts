import type { Platform } from '../../../shared/runtime/platform.js';
import { promotion, registration, serving, upload } from './registry-steps.js';
import { predict, predictionRow } from './serving-steps.js';
import type { SmokeContext, SmokeStep } from './smoke-step.js';

/** The smoke's plan, in order: each step needs what the ones before it learned. */
export const SMOKE_STEPS: SmokeStep[] = [upload, registration, promotion, serving, predict, predictionRow];

/** Options of runSmoke. */
export interface SmokeOptions {
  /** The composition root of the platform under test. */
  platform: Platform;
  /** The model the smoke registers a version of, and serves. */
  model?: string;
  /** Sent as `Authorization: Bearer` to /predict. */
  apiKey?: string;
  steps?: SmokeStep[];
  /** Timeout per step name, in seconds, overriding the step's own. */
  timeouts?: Record<string, number>;
  /** Called as each step ends, to print it. */
  onStep?: (outcome: StepOutcome, index: number, total: number) => void;
}

/** How one step went. */
export interface StepOutcome {
  name: string;
  seconds: number;
  /** What the step saw, when it passed. */
  detail?: string;
  /** Why it failed, on one line. */
  error?: string;
}

/** The whole run: passed when every step did; a run stops at its first failed step. */
export interface SmokeReport {
  passed: boolean;
  seconds: number;
  /** Steps run, up to and including the first that failed. */
  steps: StepOutcome[];
  /** Steps in the plan. */
  total: number;
}

/** Runs the steps in order against the platform's ports, each within its timeout, stopping at the first that fails. */
export async function runSmoke({ platform, model = 'smoke', apiKey, steps = SMOKE_STEPS, timeouts = {}, onStep }: SmokeOptions): Promise<SmokeReport> {
  const started = performance.now();
  const context: Omit<SmokeContext, 'deadline'> = { platform, model, apiKey, state: {} };
  const outcomes: StepOutcome[] = [];
  for (const step of steps) {
    const timeoutSeconds = timeouts[step.name] ?? step.timeoutSeconds;
    const outcome = await runStep(step, { ...context, deadline: Date.now() + timeoutSeconds * 1000 }, timeoutSeconds);
    outcomes.push(outcome);
    onStep?.(outcome, outcomes.length, steps.length);
    if (outcome.error !== undefined) break;
  }
  const passed = outcomes.length === steps.length && outcomes.every((outcome) => outcome.error === undefined);
  return { passed, seconds: (performance.now() - started) / 1000, steps: outcomes, total: steps.length };
}

const HANG_GRACE_MS = 1000;

async function runStep(step: SmokeStep, context: SmokeContext, timeoutSeconds: number): Promise<StepOutcome> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  // A client library may retry a call for minutes: the deadline bounds it, a moment late so a poll can say what it waited for.
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${timeoutSeconds} s`)), timeoutSeconds * 1000 + HANG_GRACE_MS);
  });
  try {
    const detail = await Promise.race([step.run(context), expired]);
    return { name: step.name, seconds: (performance.now() - started) / 1000, detail };
  } catch (error) {
    return { name: step.name, seconds: (performance.now() - started) / 1000, error: oneLine(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** An error's message on one line (client libraries like to add advice on lines of their own). */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s+/g, ' ').trim() || (error instanceof Error ? error.name : 'unknown error');
}

/** One step as the smoke prints it: number, name, time, and what it saw or why it failed. */
export function formatStep(outcome: StepOutcome, index: number, total: number): string {
  const what = outcome.error === undefined ? outcome.detail : `FAILED: ${outcome.error}`;
  return `  ${index}/${total} ${outcome.name.padEnd(15)}${outcome.seconds.toFixed(1).padStart(6)} s  ${what}`;
}

/** The last line: passed, or which step failed and why. */
export function formatVerdict(report: SmokeReport): string {
  if (report.passed) return `Smoke test passed in ${report.seconds.toFixed(1)} s.`;
  const failed = report.steps.at(-1)!;
  return `Smoke test failed at step ${report.steps.length}/${report.total} "${failed.name}" after ${failed.seconds.toFixed(1)} s: ${failed.error}`;
}
