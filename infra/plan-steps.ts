import type { Component, STACK } from './stack.js';

/** The stack as infra/stack.ts exports it: what the planner reads, never a copy. */
export type Stack = typeof STACK;

/** A gcloud command line as an argv array, run without a shell. */
export interface CommandCall {
  kind: 'command';
  argv: string[];
}

/** A Google Cloud client-library call, described as data: which API, which method, on what, with what body. */
export interface ApiCall {
  kind: 'api';
  api: 'bigquery' | 'cloudscheduler' | 'storage' | 'run';
  method: string;
  resource: string;
  body?: Record<string, unknown>;
}

/** Anything a step runs. */
export type Call = CommandCall | ApiCall;

/**
 * A read-only call telling whether the resource is already as wanted. It is when the call succeeds
 * and, if `expect` is set, its output contains `expect` (text: equal after trimming; JSON: every
 * expected field present with that value, array items matched by any actual item).
 */
export interface Check {
  call: Call;
  expect?: unknown;
}

/** What a step provisions. */
export type StepKind =
  | 'apis'
  | 'lookup'
  | 'topic'
  | 'dead-letter-topic'
  | 'bucket'
  | 'bucket-notification'
  | 'firestore'
  | 'dataset'
  | 'table'
  | 'service-account'
  | 'iam-binding'
  | 'function'
  | 'service'
  | 'subscription'
  | 'service-setting'
  | 'scheduler-job';

/** One step of a deployment: check, then create or update only what is missing or different. */
export interface Step {
  /** Unique in a plan: `<kind>:<name>`. */
  id: string;
  kind: StepKind;
  /** The resource's name as infra/ calls it. */
  name: string;
  /** The component the resource exists for; `core` steps are deployed whatever is switched off. */
  component: Component | 'core';
  summary: string;
  /** When it passes, the step changes nothing. Lookups have none: they only read. */
  check?: Check;
  /** Creates the resource (or, for lookups, reads a value). */
  apply: Call;
  /** Run instead of `apply` when the resource exists but differs from what is wanted. */
  update?: Call;
  /** Removes the resource on teardown, in order; absent when nothing is left to remove. */
  destroy?: Call[];
  /** Holds data (bucket, tables, registry): torn down only with --delete-data. */
  holdsData?: boolean;
  /** Lookups: the variable that receives the trimmed output, referenced as `${NAME}` by later steps. */
  output?: string;
}

/** A `gcloud` command. */
export function gcloud(...argv: string[]): CommandCall {
  return { kind: 'command', argv: ['gcloud', ...argv] };
}

/** A client-library call. */
export function apiCall(api: ApiCall['api'], method: string, resource: string, body?: Record<string, unknown>): ApiCall {
  return body === undefined ? { kind: 'api', api, method, resource } : { kind: 'api', api, method, resource, body };
}

/** A reference to a lookup's output, substituted when the plan runs. */
export function variable(name: string): string {
  return `\${${name}}`;
}

/** Every `${NAME}` a call refers to. */
export function variablesIn(value: unknown): string[] {
  const text = JSON.stringify(value) ?? '';
  return [...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((match) => match[1]!);
}

/** Seconds in a duration such as `600s`, `12h` or `7d`. */
export function durationSeconds(duration: string): number {
  const match = /^(\d+)([smhd])$/.exec(duration);
  if (!match) throw new Error(`"${duration}" is not a duration such as 600s or 7d.`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}
