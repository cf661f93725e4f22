import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ColdStartTimeline, COLD_START_STEPS } from '../../functions/serve/cold-start-timeline.js';
import { STACK } from '../../infra/stack.js';
import { ENV } from '../../shared/config/env.js';
import { freePort, startProcess } from '../../shared/processes/index.js';
import { packagesLoadedAtStart } from '../lib/deploy/build-functions.js';
import { type FunctionCode, deployedCode } from '../lib/function-code.js';
import { MODELS } from './context.js';
import { awaitQuiet, othersCores, snapshotUnderTest } from './cpu.js';
import { predictBody } from './models.js';
import { type Section, type TargetCheck, bytes, commands, median, ms, othersCpu, table } from './report.js';

const RUNS = 5;
const TIMEOUT_MS = 60_000;
/** Packages a serving revision could load before its first answer, each imported alone in a fresh process. */
const HEAVY_IMPORTS = ['@google-cloud/firestore', '@google-cloud/pubsub', 'onnxruntime-node', 'hono', '@hono/node-server', 'zod'];

/** A way of starting a serving revision: a command line and the folder it runs in. */
interface ColdEntry {
  label: string;
  args: string[];
  cwd?: string;
}

/** Where one cold start's time went, in milliseconds, parts in the order they happen (they add up to `totalMs`). */
interface ColdStart {
  totalMs: number;
  parts: Record<Part, number>;
  /** When onnxruntime was imported, from the start of bootServing: it loads during the registry read, not after it. */
  runtimeMs: number;
}

/** The parts of a cold start: the revision's own timeline (see ColdStartTimeline), then listening and the first request. */
const PARTS = ['modules', 'registry read', 'artifact', 'session', 'app', 'listen', 'first request'] as const;
type Part = (typeof PARTS)[number];

/** Process start to first successful prediction, for the serving bundle as deployed and the TypeScript entry, with where the time goes. */
export const coldStartSection: Section = {
  id: 'cold-start',
  title: 'Cold start: process start to first successful prediction',
  async run(context) {
    const code = await deployedCode({ functions: [], stack: STACK.functions, outDir: join(context.workDir, 'dist/functions') });
    try {
      const entries = coldEntries(code);
      const rows: (string | number)[][] = [];
      const small: { entry: ColdEntry; total: number; parts: Record<Part, number>; others: number }[] = [];
      for (const kind of ['small', 'wide'] as const) {
        const version = await context.registered(kind);
        for (const entry of entries) {
          // The platform's emulators serve the revision's reads and the prediction log: theirs is not others' CPU.
          const underTest = { groups: await context.supportGroups(), platform: true };
          // One start unmeasured: the OS file cache and the emulators (fresh JVMs) warm up, as on a machine that has served before.
          await coldStart(entry, await context.servingEnv(version));
          await awaitQuiet(underTest);
          const before = snapshotUnderTest(underTest);
          const runs: ColdStart[] = [];
          for (let run = 0; run < RUNS; run++) runs.push(await coldStart(entry, await context.servingEnv(version)));
          const others = othersCores(before, snapshotUnderTest(underTest));
          const total = median(runs.map((run) => run.totalMs));
          const parts = Object.fromEntries(PARTS.map((part) => [part, median(runs.map((run) => run.parts[part]))])) as Record<Part, number>;
          const runtime = median(runs.map((run) => run.runtimeMs));
          if (kind === 'small') small.push({ entry, total, parts, others });
          const label = `${MODELS[kind].name} (${bytes(version.sizeBytes)})`;
          const cells = [ms(total), runs.map((run) => ms(run.totalMs)).join(', '), ...PARTS.map((part) => ms(parts[part])), `+${ms(runtime)}`];
          rows.push([label, entry.label, ...cells, othersCpu(others)]);
        }
      }
      const imports = await importTimes();
      const atStart = packagesLoadedAtStart(entries[0]!.cwd!, entries[0]!.args[0]!);
      return { title: this.title, body: body(entries, rows, imports, atStart, small), targets: targets(small) };
    } finally {
      await code.remove();
    }
  },
};

/**
 * The serving bundle as `npm run deploy` builds it and `npm start -- --as-deployed` installs it, started
 * as Cloud Run's buildpack starts it (its start script, `node <file>`), and the TypeScript entry local
 * revisions run by default.
 */
function coldEntries(code: FunctionCode): ColdEntry[] {
  const bundle = code.env[ENV.servingBundle];
  if (!bundle) throw new Error('The deployable code has no serving bundle.');
  const start = (JSON.parse(readFileSync(join(bundle, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ?? 'node server.js';
  const file = /^node (\S+)$/.exec(start.trim())?.[1];
  if (!file) throw new Error(`The serving bundle starts with "${start}"; only "node <file>" is measured.`);
  return [
    { label: `serving bundle as deployed (\`${start}\`)`, args: [file], cwd: bundle },
    { label: 'TypeScript entry via tsx (local revisions by default)', args: ['--import', 'tsx', 'functions/serve/server.ts'] },
  ];
}

function body(
  entries: ColdEntry[],
  rows: (string | number)[][],
  imports: [string, number][],
  atStart: string[],
  small: { entry: ColdEntry; total: number; parts: Record<Part, number> }[],
): string {
  const [deployed, viaTsx] = small as [(typeof small)[number], (typeof small)[number]];
  const importOf = (name: string) => ms(imports.find(([candidate]) => candidate === name)![1]);
  const largest = PARTS.reduce((a, b) => (deployed.parts[a] >= deployed.parts[b] ? a : b));
  return [
    `Each start is timed from \`spawn\` to the first \`200\` from \`POST /predict\` (polled every 5 ms), ${RUNS} runs each after one unmeasured start (warm OS file cache, warm emulators), the artifact already in the revision's model cache (as after a first download; its sha256 is still verified), \`NODE_ENV=production\`. The serving bundle is the one the deploy ships: built by \`buildFunctions\` (as \`npm run deploy\` and \`npm run build:functions\` build it), installed outside the project with exactly the packages its package.json lists (as Cloud Build installs it, and as \`npm start -- --as-deployed\` runs it), started by its start script. The parts come from the revision's own log line, which records when each step of \`bootServing\` ended on Node's clock (zero at process start): “modules” is process start to \`bootServing\` (Node's start-up and the entry's static imports, with tsx compiling TypeScript for the second entry); “registry read” the version read from the Firestore emulator (over its REST API; onnxruntime's import starts with it and runs on the same thread while the read waits, so it is counted here: “onnxruntime imported” says when it was done, from the start of \`bootServing\`); “artifact” the model cache read and sha256; “session” the onnxruntime session; “app” the app build; “listen” until the \`listening\` line; “first request” the rest, including the poll's wait. Each column is the median of its own runs, so the parts need not add up to the median exactly. Nothing is pinned: a cold start uses every core it can. “Others’ CPU” is what the rest of the machine used during an entry's runs, in cores (the local platform's emulators, which answer the revision, count as the benchmark's own).`,
    '',
    table(['model', 'entry', 'median', 'runs', ...PARTS, 'onnxruntime imported', 'others’ CPU'], rows),
    '',
    `Importing each package alone in a fresh \`node\` (they share some modules, so they do not add up): ${imports.map(([name, time]) => `${name} ${ms(time)}`).join(', ')}.`,
    '',
    commands([
      ...entries.map((entry): [string, string] => [
        entry.label,
        `${entry.cwd ? 'cd <installed bundle> && ' : ''}${ENV.serveModel}=<model> ${ENV.serveVersion}=1 PORT=<port> node ${entry.args.join(' ')}`,
      ]),
      [
        'where the time goes, by function',
        `node --cpu-prof --cpu-prof-dir=<dir> ${entries[0]!.args.join(' ')} (in the installed bundle), then open the .cpuprofile in Chrome DevTools`,
      ],
      ['imports', `node -e "const t = performance.now(); import('<package>').then(() => console.log(performance.now() - t))"`],
    ]),
    '',
    `**Where the time goes.** For the small model from the serving bundle as deployed: modules ${ms(deployed.parts.modules)}, registry read ${ms(deployed.parts['registry read'])}, artifact ${ms(deployed.parts.artifact)}, session ${ms(deployed.parts.session)}, listen and first request ${ms(deployed.parts.listen + deployed.parts['first request'])}; the largest part is ${largest}. Through tsx, modules take ${ms(viaTsx.parts.modules)}: compiling TypeScript at start costs ${ms(viaTsx.parts.modules - deployed.parts.modules)} more than the bundle. The revision's first answer needs neither Google client library: the registry read is one HTTP GET of the version's document over Firestore's REST API (the emulator here; on Cloud Run with the metadata server's token), so \`@google-cloud/firestore\` (${importOf('@google-cloud/firestore')} alone, plus its first gRPC read) loads only if that read fails; \`@google-cloud/pubsub\` (${importOf('@google-cloud/pubsub')} alone) loads on the prediction log's first publish, after the first answer. The packages the bundle's entry imports statically, so before \`bootServing\` starts: ${atStart.map((name) => (HEAVY_IMPORTS.includes(name) ? `${name} (${importOf(name)})` : name)).join(', ') || 'none'}${atStart.includes('zod') ? `. zod, the event schemas' validator and some 95 files, is there only because \`shared/http/json.ts\` imports \`parseWith\` from \`shared/domain/events.ts\`, the schemas' module: moving \`parseWith\` to a module of its own leaves zod to the functions that validate events` : ''}; onnxruntime (${importOf('onnxruntime-node')}) loads during the registry read. The 50 MB model adds its artifact read, sha256, protobuf decode of the metadata and session build.`,
  ].join('\n');
}

function targets(small: { entry: ColdEntry; total: number; others: number }[]): TargetCheck[] {
  const [deployed, viaTsx] = small as [(typeof small)[number], (typeof small)[number]];
  return [
    {
      target: 'cold start < 1 s, small model, serving bundle as deployed',
      measured: ms(deployed.total),
      met: deployed.total < 1000,
      othersCores: deployed.others,
    },
    {
      target: 'cold start < 1 s, small model, local revision from the TypeScript sources (tsx)',
      measured: ms(viaTsx.total),
      met: viaTsx.total < 1000,
      othersCores: viaTsx.others,
    },
  ];
}

async function coldStart(entry: ColdEntry, servingEnv: NodeJS.ProcessEnv): Promise<ColdStart> {
  const port = await freePort();
  const env = { ...process.env, NODE_ENV: 'production', ...servingEnv, PORT: String(port), HOST: '127.0.0.1' };
  const logTail: string[] = [];
  const body = predictBody(1);
  // The revision's own clock: when each boot step ended since its process started, and (by its log's wall-clock times) when it listened.
  let timeline: ColdStartTimeline | undefined;
  let bootLoggedAt: number | undefined;
  let listeningAt: number | undefined;
  const onLine = (line: string) => {
    const entry = parseLine(line);
    if (entry?.coldStart) [timeline, bootLoggedAt] = [entry.coldStart, Date.parse(entry.time ?? '')];
    else if (entry?.message?.startsWith('listening on')) listeningAt = Date.parse(entry.time ?? '');
  };
  const started = performance.now();
  const child = startProcess(entry.label, process.execPath, entry.args, { env, cwd: entry.cwd, logTail, onLine });
  try {
    while (performance.now() - started < TIMEOUT_MS) {
      if (child.child.exitCode !== null) throw new Error(`${entry.label} exited with ${child.child.exitCode}: ${logTail.join('\n')}`);
      const status = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then((response) => response.arrayBuffer().then(() => response.status))
        .catch(() => 0);
      if (status === 200) {
        const totalMs = performance.now() - started;
        // The log lines may reach us after the answer does: give them a moment through the pipe.
        for (let wait = 0; (!timeline || listeningAt === undefined) && wait < 50; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
        if (!timeline || bootLoggedAt === undefined || listeningAt === undefined)
          throw new Error(`${entry.label} answered without logging its cold start: ${logTail.join('\n')}`);
        const parts = partsOf(timeline, timeline.appBuilt! + Math.max(0, listeningAt - bootLoggedAt), totalMs);
        return { totalMs, parts, runtimeMs: (timeline.runtimeLoaded ?? 0) - (timeline.modulesLoaded ?? 0) };
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`${entry.label} did not answer within ${TIMEOUT_MS} ms: ${logTail.join('\n')}`);
  } finally {
    await child.stop();
  }
}

/** The parts between consecutive ends: the timeline's steps, then listening, then the first answer. */
function partsOf(timeline: ColdStartTimeline, listening: number, totalMs: number): Record<Part, number> {
  const ends = [...COLD_START_STEPS.map((step) => timeline[step] ?? 0), listening, totalMs];
  return Object.fromEntries(PARTS.map((part, index) => [part, Math.max(0, ends[index]! - (index === 0 ? 0 : ends[index - 1]!))])) as Record<Part, number>;
}

function parseLine(line: string): { message?: string; time?: string; coldStart?: ColdStartTimeline } | undefined {
  try {
    return JSON.parse(line) as { message?: string; time?: string; coldStart?: ColdStartTimeline };
  } catch {
    return undefined;
  }
}

/** How long importing each heavy package takes in a fresh process. */
async function importTimes(): Promise<[string, number][]> {
  const times: [string, number][] = [];
  for (const name of HEAVY_IMPORTS) {
    const script = `const t = performance.now(); import(${JSON.stringify(name)}).then(() => process.stdout.write(String(performance.now() - t)))`;
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk) => (text += chunk));
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`importing ${name} failed`))));
    });
    times.push([name, Number(output)]);
  }
  return times;
}
