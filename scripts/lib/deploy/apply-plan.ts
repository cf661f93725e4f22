import { setTimeout as sleep } from 'node:timers/promises';
import type { Call, Check, Step } from '../../../infra/plan-steps.js';
import { existenceCheck } from '../../../infra/teardown.js';

/** Why a call is made; a fake executor uses it to play a cloud where everything does or does not exist. */
export type CallPurpose = 'check' | 'apply' | 'update' | 'lookup' | 'destroy';

/** What a call returned: its output, or why it failed (`notFound` when the resource does not exist). */
export type CallResult = { ok: true; output: string } | { ok: false; notFound: boolean; message: string };

/** Runs calls against a cloud; the real one shells out to gcloud and the client libraries, tests pass a fake. */
export interface Executor {
  run(call: Call, context: { step: Step; purpose: CallPurpose; expect?: unknown }): Promise<CallResult>;
}

/** What happened to one step. */
export type Outcome = 'created' | 'updated' | 'unchanged' | 'read' | 'deleted' | 'absent';

/** Options of applyPlan and runTeardown. */
export interface RunOptions {
  log?: (line: string) => void;
  /** Tries per mutating call: IAM changes take seconds to propagate, so a grant right after a create may fail once. */
  attempts?: number;
  retryDelayMs?: number;
}

/** A step that could not be carried out, with the cloud's own message. */
export class DeployStepError extends Error {
  constructor(
    readonly step: Step,
    message: string,
  ) {
    super(`${step.summary}: ${message}`);
    this.name = 'DeployStepError';
  }
}

/** Applies a plan in order. Each step is checked first, so a second run over an unchanged cloud changes nothing. */
export async function applyPlan(steps: Step[], executor: Executor, options: RunOptions = {}): Promise<Map<string, Outcome>> {
  const run = runner(executor, options);
  const outcomes = new Map<string, Outcome>();
  for (const step of steps) {
    const outcome = await applyStep(step, run);
    outcomes.set(step.id, outcome);
    options.log?.(`${outcome.padEnd(9)} ${step.summary}`);
  }
  return outcomes;
}

async function applyStep(step: Step, run: Runner): Promise<Outcome> {
  if (step.kind === 'lookup') {
    await run.mutate(step, step.apply, 'lookup');
    return 'read';
  }
  const state = step.check ? await run.check(step, step.check) : 'missing';
  if (state === 'as-wanted') return 'unchanged';
  if (state === 'different' && step.update) {
    await run.mutate(step, step.update, 'update');
    return 'updated';
  }
  await run.mutate(step, step.apply, 'apply');
  return state === 'different' ? 'updated' : 'created';
}

/** Runs a teardown (see planTeardown): each resource that still exists is removed; absent ones are skipped. */
export async function runTeardown(steps: Step[], executor: Executor, options: RunOptions = {}): Promise<Map<string, Outcome>> {
  const run = runner(executor, options);
  const outcomes = new Map<string, Outcome>();
  for (const step of steps) {
    let outcome: Outcome;
    if (step.kind === 'lookup') {
      await run.mutate(step, step.apply, 'lookup');
      outcome = 'read';
    } else {
      const check = existenceCheck(step);
      const exists = check ? (await run.check(step, check)) === 'as-wanted' : true;
      if (exists) for (const call of step.destroy ?? []) await run.mutate(step, call, 'destroy');
      outcome = exists ? 'deleted' : 'absent';
    }
    outcomes.set(step.id, outcome);
    options.log?.(`${outcome.padEnd(9)} ${step.summary}`);
  }
  return outcomes;
}

type CheckState = 'as-wanted' | 'different' | 'missing';

interface Runner {
  check(step: Step, check: Check): Promise<CheckState>;
  mutate(step: Step, call: Call, purpose: CallPurpose): Promise<void>;
}

function runner(executor: Executor, { attempts = 3, retryDelayMs = 5000 }: RunOptions): Runner {
  const variables = new Map<string, string>();
  return {
    async check(step, { call, expect }) {
      const wanted = substitute(expect, variables);
      const result = await executor.run(substitute(call, variables), { step, purpose: 'check', expect: wanted });
      if (!result.ok) {
        if (result.notFound) return 'missing';
        throw new DeployStepError(step, `could not tell whether it exists: ${result.message}`);
      }
      return wanted === undefined || contains(parseOutput(result.output), wanted) ? 'as-wanted' : 'different';
    },
    async mutate(step, call, purpose) {
      let result: CallResult = { ok: false, notFound: false, message: 'not run' };
      for (let attempt = 1; attempt <= attempts; attempt++) {
        result = await executor.run(substitute(call, variables), { step, purpose });
        if (result.ok || purpose === 'lookup') break;
        if (attempt < attempts) await sleep(retryDelayMs * attempt);
      }
      if (!result.ok) throw new DeployStepError(step, result.message);
      if (step.output && purpose === 'lookup') {
        const value = result.output.trim();
        if (!value) throw new DeployStepError(step, 'the lookup returned nothing');
        variables.set(step.output, value);
      }
    },
  };
}

/** Replaces each `${NAME}` in a call or expectation with the value a lookup stored; an unset name is a planning bug. */
export function substitute<T>(value: T, variables: Map<string, string>): T {
  if (value === undefined) return value;
  const text = JSON.stringify(value).replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const found = variables.get(name);
    if (found === undefined) throw new Error(`\${${name}} is used before a lookup sets it.`);
    return JSON.stringify(found).slice(1, -1);
  });
  return JSON.parse(text) as T;
}

function parseOutput(output: string): unknown {
  try {
    return JSON.parse(output);
  } catch {
    return output.trim();
  }
}

/**
 * True when `actual` holds everything in `expected`: equal scalars (text compared trimmed), every
 * expected field present, and each expected array item matched by some actual item.
 */
export function contains(actual: unknown, expected: unknown): boolean {
  if (Array.isArray(expected)) return Array.isArray(actual) && expected.every((item) => actual.some((candidate) => contains(candidate, item)));
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return Object.entries(expected).every(([key, value]) => contains((actual as Record<string, unknown>)[key], value));
  }
  if (typeof expected === 'string' && typeof actual === 'string') return actual.trim() === expected.trim();
  return actual === expected;
}
