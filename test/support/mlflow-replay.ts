import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './paths.js';

/**
 * One call of MLflow's REST protocol as the Python client makes it (test/fixtures/mlflow/<name>.json):
 * the request, and the answer the client expects. `{{name}}` in the path, the query and the body's
 * strings stands for a value of an earlier answer (a run id, an experiment id).
 */
export interface MlflowFixture {
  /** Where the shapes come from: the proto message and the client code that sends it. */
  source: string;
  request: { method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; path: string; query?: Record<string, string | string[]>; body?: unknown };
  response: {
    status: number;
    /** An example answer: each field's name and JSON type are what the client reads. */
    body: unknown;
    /** Fields the server may leave out (proto2 `optional` fields it has no value for), as `run.info.end_time`; `[]` steps into an array. */
    optional?: string[];
    /** int64 fields: MLflow's server writes them as JSON integers, never strings. */
    int64?: string[];
    /** Fields whose value must be the example's, not only its type (an error code, a status). */
    fixed?: string[];
  };
}

/** Where and how a fixture is sent. */
export interface ReplayOptions {
  baseUrl: string;
  /** Values for the fixture's `{{name}}` placeholders. */
  vars?: Record<string, string | number>;
  headers?: Record<string, string>;
  /** A raw request body instead of the fixture's JSON (an artifact upload). */
  raw?: { bytes: Uint8Array | string; contentType: string };
}

/** What the server answered, once it has matched the fixture's shape. */
export interface Replayed<T> {
  status: number;
  body: T;
  /** The answer's bytes as sent (an artifact download). */
  bytes: Uint8Array;
}

const MLFLOW_FIXTURES = join(FIXTURES, 'mlflow');

/** Reads test/fixtures/mlflow/<name>.json. */
export function mlflowFixture(name: string): MlflowFixture {
  return JSON.parse(readFileSync(join(MLFLOW_FIXTURES, `${name}.json`), 'utf8')) as MlflowFixture;
}

/** Sends fixture `name`'s request to `baseUrl` and fails, listing every difference, unless the answer has the fixture's status and shape. */
export async function replay<T = Record<string, unknown>>(name: string, options: ReplayOptions): Promise<Replayed<T>> {
  const fixture = mlflowFixture(name);
  const { request } = substitute(fixture, options.vars ?? {});
  const url = new URL(options.baseUrl.replace(/\/$/, '') + request.path);
  for (const [key, value] of Object.entries(request.query ?? {})) for (const one of [value].flat()) url.searchParams.append(key, one);
  const response = await fetch(url, {
    method: request.method,
    ...requestBody(request.body, options),
    headers: { ...headersOf(request.body, options), ...options.headers },
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  const body = text === '' ? undefined : parseJson(text);
  const problems =
    response.status === fixture.response.status ? shapeProblems(fixture.response, body) : [`status ${response.status}, expected ${fixture.response.status}`];
  if (problems.length > 0)
    throw new Error(`${name}: ${request.method} ${url.pathname} answered unlike the fixture:\n- ${problems.join('\n- ')}\nbody: ${text.slice(0, 2000)}`);
  return { status: response.status, body: body as T, bytes };
}

/** Every way `actual` differs from the fixture's expected answer; empty when it matches. */
export function shapeProblems(expected: MlflowFixture['response'], actual: unknown): string[] {
  const rules = { optional: new Set(expected.optional), int64: new Set(expected.int64), fixed: new Set(expected.fixed) };
  const problems: string[] = [];
  compare(expected.body, actual, '', rules, problems);
  return problems;
}

type Rules = { optional: Set<string>; int64: Set<string>; fixed: Set<string> };

function compare(expected: unknown, actual: unknown, path: string, rules: Rules, problems: string[]): void {
  const where = path || '(body)';
  if (rules.fixed.has(path) && JSON.stringify(actual) !== JSON.stringify(expected)) {
    problems.push(`${where} is ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  } else if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) problems.push(`${where} is ${typeName(actual)}, expected an array`);
    else if (expected.length > 0) for (const item of actual) compare(expected[0], item, `${path}[]`, rules, problems);
  } else if (isObject(expected)) {
    if (isObject(actual)) compareObjects(expected, actual, path, rules, problems);
    else problems.push(`${where} is ${typeName(actual)}, expected an object`);
  } else if (typeName(actual) !== typeName(expected)) {
    problems.push(`${where} is ${typeName(actual)} ${JSON.stringify(actual)}, expected ${typeName(expected)}`);
  } else if (rules.int64.has(path) && !Number.isSafeInteger(actual)) {
    problems.push(`${where} is ${actual}, expected an int64 as a JSON integer`);
  }
}

function compareObjects(expected: Record<string, unknown>, actual: Record<string, unknown>, path: string, rules: Rules, problems: string[]): void {
  for (const [key, value] of Object.entries(expected)) {
    const child = path ? `${path}.${key}` : key;
    if (key in actual) compare(value, actual[key], child, rules, problems);
    else if (!rules.optional.has(child)) problems.push(`${child} is missing`);
  }
  // A field the fixture does not name is one MLflow's client would not read: a camelCase leak, a typo.
  for (const key of Object.keys(actual)) if (!(key in expected)) problems.push(`${path ? `${path}.${key}` : key} is not a field of MLflow's answer`);
}

function substitute(fixture: MlflowFixture, vars: Record<string, string | number>): MlflowFixture {
  const value = (name: string) => {
    if (vars[name] === undefined) throw new Error(`the fixture needs a value for {{${name}}}`);
    return vars[name];
  };
  // A string that is one placeholder of a number becomes that number (a step, a timestamp); else text is spliced in.
  const text = JSON.stringify(fixture.request)
    .replace(/"\{\{(\w+)\}\}"/g, (_, name: string) => JSON.stringify(value(name)))
    .replace(/\{\{(\w+)\}\}/g, (_, name: string) => JSON.stringify(String(value(name))).slice(1, -1));
  return { ...fixture, request: JSON.parse(text) as MlflowFixture['request'] };
}

function requestBody(body: unknown, options: ReplayOptions): { body?: BodyInit } {
  if (options.raw) return { body: typeof options.raw.bytes === 'string' ? options.raw.bytes : new Uint8Array(options.raw.bytes) };
  return body === undefined ? {} : { body: JSON.stringify(body) };
}

function headersOf(body: unknown, options: ReplayOptions): Record<string, string> {
  if (options.raw) return { 'content-type': options.raw.contentType };
  return body === undefined ? {} : { 'content-type': 'application/json' };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
