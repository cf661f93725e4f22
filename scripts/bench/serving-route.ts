import type { BenchContext } from './context.js';
import { commands, count, latency, ms, othersCpu, percent, table, times } from './report.js';
import { shownCommand, startTarget } from './processes.js';
import {
  type Case,
  type CaseResult,
  type EntryId,
  ENTRIES,
  FASTAPI_REQUESTS_PER_SECOND,
  INFERENCE_LOOP_COMMAND,
  type InferenceLimit,
  ROUTER_LABEL,
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
  /** Also load it through the local router in front of the @hono/node-server entry. */
  withRouter?: boolean;
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

/** Loads the route on every entry, then measures the two limits for the same bodies and response sizes. Once per run per route. */
export function measureRoute(context: BenchContext, spec: RouteSpec): Promise<RouteMeasurement> {
  return context.memo(`route:${spec.id}`, () => measure(context, spec));
}

async function measure(context: BenchContext, { id, path, body, withRouter = false }: RouteSpec): Promise<RouteMeasurement> {
  const cases: Case[] = BATCHES.map((rows) => ({ rows, path, bodyFile: context.bodyFile(`${id}-${rows}.json`, body(rows)) }));
  const results: CaseResult[] = [];
  const bareRuns: CaseResult[] = [];
  let sizes: number[] = [];
  for (const entry of Object.keys(ENTRIES) as (keyof typeof ENTRIES)[]) {
    const target = await startEntry(context, entry);
    try {
      sizes = await Promise.all(cases.map((item) => responseBytes(target, item)));
      if (bareRuns.length === 0) bareRuns.push(await bareLimit(context, cases[0]!, sizes[0]!, 'before'));
      results.push(...(await measureCases(context, entry, target, cases, sizes)));
      if (entry === 'node-server' && withRouter) {
        const router = await startTarget({
          name: 'router',
          args: ['--import', 'tsx', 'scripts/bench/targets/router.ts'],
          env: { BENCH_UPSTREAM_PORT: String(target.port) },
          pin: false,
        });
        try {
          // One row only: the router adds a hop whatever the body, and the run must stay under 10 minutes.
          results.push(...(await measureCases(context, 'router', router, cases.slice(0, 1), sizes, [target])));
        } finally {
          await router.stop();
        }
      }
    } finally {
      await target.stop();
    }
  }
  for (const [index, item] of cases.entries()) bareRuns.push(await bareLimit(context, item, sizes[index]!, 'after'));
  const best = (rows: number) => bareRuns.filter((run) => run.rows === rows).reduce((a, b) => (a.requestsPerSecond >= b.requestsPerSecond ? a : b));
  return { results, bare: BATCHES.map(best), bareRuns, inference: await inferenceLimit(context) };
}

const LABELS: Record<EntryId, string> = {
  'node-server': ENTRIES['node-server'].label,
  'functions-framework': ENTRIES['functions-framework'].label,
  router: ROUTER_LABEL,
  'bare-http': 'bare node:http',
};

/** The figures of a route with their ratios to both limits (and to FastAPI for one row). */
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
      result.rows === 1 ? times(result.requestsPerSecond / FASTAPI_REQUESTS_PER_SECOND) : '',
      result.failures === 0 ? '0' : `**${result.failures}**`,
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
        '',
        String(limit.failures),
        othersCpu(limit.othersCores),
      ],
    ]);
  }
  for (const rowsPerCall of BATCHES) {
    const { sessionRun, modelRunner } = inference[rowsPerCall]!;
    rows.push([
      `session.run loop, in-process (ModelRunner adapter: ${count(modelRunner)}/s)`,
      ...[rowsPerCall, count(sessionRun), count(sessionRun * rowsPerCall), ms(1000 / sessionRun), '', '', '100%', '', '', ''],
    ]);
  }
  return table(['server', 'rows/request', 'req/s', 'rows/s', 'p50', 'p99', 'of bare HTTP', 'of session.run', 'of FastAPI', 'failures', 'others’ CPU'], rows);
}

/** How far the bare server moved between its runs: this VM's own drift over the section. */
export function bareDrift({ bareRuns }: RouteMeasurement): string {
  const oneRow = bareRuns.filter((run) => run.rows === 1);
  if (oneRow.length < 2) return '';
  const [before, after] = oneRow as [CaseResult, CaseResult];
  return `The bare server (one row) was measured before the entries and after them: ${count(before.requestsPerSecond)} and ${count(after.requestsPerSecond)} req/s. The ratios use the higher, the limit; the difference is how much this VM's speed moved in between with others’ CPU near zero (its host is shared too), so rows measured minutes apart carry that much uncertainty.`;
}

/** The command behind every figure of the route. */
export function routeCommands({ results, bare }: RouteMeasurement): string {
  const servers = new Set<string>();
  for (const result of [...results, ...bare]) servers.add(shownCommand(result.serverCommand));
  const loads = new Map<string, number>();
  for (const result of [...results, ...bare]) {
    loads.set(result.command.replace(/-i \S+\/([^/\s]+)/, '-i $1').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:$PORT'), result.rows);
  }
  return [
    'Servers (each in its own process; `PORT` was a free port; the emulator hosts and the data folder came from the local platform):',
    commands([...servers].map((command): [string, string] => ['server', command])),
    `- inference limit: \`${INFERENCE_LOOP_COMMAND}\``,
    '',
    'Load, the same for every server (autocannon in its own process; bodies are written by `scripts/bench/models.ts`):',
    commands([...loads].map(([command, rows]): [string, string] => [`${rows} row${rows === 1 ? '' : 's'}`, command])),
  ].join('\n');
}

/** The one-row figure of an entry. */
export function oneRow(measurement: RouteMeasurement, entry: EntryId): CaseResult | undefined {
  return measurement.results.find((result) => result.entry === entry && result.rows === 1);
}
