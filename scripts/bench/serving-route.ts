import type { BenchContext } from './context.js';
import { WRK_SCRIPT } from './load.js';
import { shownCommand } from './processes.js';
import { commands, count, latency, ms, othersCpu, percent, table } from './report.js';
import {
  type Case,
  type CaseResult,
  type EntryId,
  ENTRIES,
  INFERENCE_LOOP_COMMAND,
  type InferenceLimit,
  bareLimit,
  inferenceLimit,
  measureCases,
  responseBytes,
  startEntry,
} from './serving-entries.js';

/** A serving route to load: its path and how to build a body of n rows. */
export interface RouteSpec {
  id: string;
  path: string;
  body: (rows: number) => string;
}

/** Everything measured for one route. */
export interface RouteMeasurement {
  results: CaseResult[];
  /** The HTTP limit per batch size: the best of its runs. */
  bare: CaseResult[];
  /** Every bare run: one row is measured before the entries and after them, to show how much the machine drifted meanwhile. */
  bareRuns: CaseResult[];
  inference: InferenceLimit;
}

const BATCHES = [1, 64];

/** Loads the route on both entries, then measures the two limits for the same bodies and response sizes. Once per run per route. */
export function measureRoute(context: BenchContext, spec: RouteSpec): Promise<RouteMeasurement> {
  return context.memo(`route:${spec.id}`, () => measure(context, spec));
}

async function measure(context: BenchContext, { id, path, body }: RouteSpec): Promise<RouteMeasurement> {
  const cases: Case[] = BATCHES.map((rows) => ({ rows, path, bodyFile: context.bodyFile(`${id}-${rows}.json`, body(rows)) }));
  const results: CaseResult[] = [];
  const bareRuns: CaseResult[] = [];
  for (const entry of Object.keys(ENTRIES) as (keyof typeof ENTRIES)[]) {
    const target = await startEntry(context, entry);
    try {
      if (bareRuns.length === 0) bareRuns.push(await bareLimit(context, cases[0]!, await responseBytes(target.url, cases[0]!), 'before'));
      results.push(...(await measureCases(context, entry, target, cases)));
    } finally {
      await target.stop();
    }
  }
  const sizes = cases.map((item) => results.find((result) => result.rows === item.rows)!.responseBytes);
  for (const [index, item] of cases.entries()) bareRuns.push(await bareLimit(context, item, sizes[index]!, 'after'));
  const best = (rows: number) => bareRuns.filter((run) => run.rows === rows).reduce((a, b) => (a.requestsPerSecond >= b.requestsPerSecond ? a : b));
  return { results, bare: BATCHES.map(best), bareRuns, inference: await inferenceLimit(context) };
}

/** How each server is named in the tables. */
export const LABELS: Record<EntryId, string> = {
  'node-server': ENTRIES['node-server'].label,
  'functions-framework': ENTRIES['functions-framework'].label,
  'api-keys': `${ENTRIES['node-server'].label}, API keys required`,
  'stable-url': 'local stable URL (what `mlops models show` prints)',
  'platform-revision': 'the revision behind the stable URL, on its own port',
  'hand-written': 'hand-written minimum (node:http + JSON.parse + session.run + JSON.stringify)',
  fastapi: 'FastAPI + uvicorn + scikit-learn',
  'bare-http': 'bare node:http',
};

/** The figures of a route with their ratios to both limits. */
export function routeTable({ results, bare, inference }: RouteMeasurement): string {
  const rows = results.map((result) => {
    const limit = bare.find((item) => item.rows === result.rows)!;
    const loop = inference[result.rows]!.sessionRun;
    return [
      LABELS[result.entry],
      result.rows,
      count(result.requestsPerSecond),
      count(result.requestsPerSecond * result.rows),
      latency(result.p50Ms),
      latency(result.p99Ms),
      percent(result.requestsPerSecond / limit.requestsPerSecond),
      percent(result.requestsPerSecond / loop),
      failures(result),
      othersCpu(result.othersCores),
    ];
  });
  for (const limit of bare) {
    rows.push([
      `bare node:http, fixed ${limit.responseBytes}-byte JSON`,
      ...[
        limit.rows,
        count(limit.requestsPerSecond),
        '',
        latency(limit.p50Ms),
        latency(limit.p99Ms),
        '100%',
        '',
        failures(limit),
        othersCpu(limit.othersCores),
      ],
    ]);
  }
  rows.push(...inferenceRows(inference, ['', '', '100%', '', '']));
  return table(['server', 'rows/request', 'req/s', 'rows/s', 'p50', 'p99', 'of bare HTTP', 'of session.run', 'failures', 'others’ CPU'], rows);
}

/** The in-process session.run loop as table rows: rows/request, calls/s, rows/s, time a call, then the `trailing` cells. */
export function inferenceRows(inference: InferenceLimit, trailing: string[]): (string | number)[][] {
  return BATCHES.map((rowsPerCall) => {
    const { sessionRun, modelRunner } = inference[rowsPerCall]!;
    return [
      `session.run loop, in-process (ModelRunner adapter: ${count(modelRunner)}/s)`,
      ...[rowsPerCall, count(sessionRun), count(sessionRun * rowsPerCall), ms(1000 / sessionRun), ...trailing],
    ];
  });
}

/** A failure count, in bold when not zero. */
export const failures = (result: CaseResult): string => (result.failures === 0 ? '0' : `**${result.failures}**`);

/** How far the bare server moved between its runs: this VM's own drift over the section. */
export function bareDrift({ bareRuns }: RouteMeasurement): string {
  const oneRow = bareRuns.filter((run) => run.rows === 1);
  if (oneRow.length < 2) return '';
  const [before, after] = oneRow as [CaseResult, CaseResult];
  return `The bare server (one row) was measured before the entries and after them: ${count(before.requestsPerSecond)} and ${count(after.requestsPerSecond)} req/s. The ratios use the higher, the limit; the difference is how much this VM's speed moved in between (its host is shared too), so rows measured minutes apart carry that much uncertainty.`;
}

/** The command behind every figure: each server once, each load once. */
export function routeCommands(measured: CaseResult[], extraServers: [string, string][] = [], extraLoads: [string, string][] = []): string {
  const servers = new Set(measured.filter((result) => result.serverCommand).map((result) => shownCommand(result.serverCommand)));
  const loads = new Map(measured.map((result) => [result.command, result.rows]));
  return [
    'Servers (each in its own process; `PORT` was a free port; the emulator hosts and the data folder came from the local platform):',
    commands([...[...servers].map((command): [string, string] => ['server', command]), ...extraServers]),
    `- inference limit: \`${INFERENCE_LOOP_COMMAND}\``,
    '',
    `Load (wrk in its own process; \`${WRK_SCRIPT}\` POSTs the body file and prints the figures as JSON; bodies are written by \`scripts/bench/models.ts\`):`,
    commands([...[...loads].map(([command, rows]): [string, string] => [`${rows} row${rows === 1 ? '' : 's'}`, command]), ...extraLoads]),
  ].join('\n');
}

/** The one-row figure of an entry. */
export function oneRow(measurement: RouteMeasurement, entry: EntryId): CaseResult | undefined {
  return measurement.results.find((result) => result.entry === entry && result.rows === 1);
}
