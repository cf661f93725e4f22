import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { ENV } from '../../shared/config/env.js';
import { freePort, startProcess } from '../../shared/processes/index.js';
import { MODELS } from './context.js';
import { awaitQuiet, cpuSnapshot, othersCores, ownPids } from './cpu.js';
import { predictBody } from './models.js';
import { type Section, type TargetCheck, bytes, commands, median, ms, othersCpu, table } from './report.js';

/** Where the esbuild bundles of the serve entries go: under node_modules so their imports resolve. */
const BUNDLE_DIR = 'node_modules/.cache/mlops-bench/serve';
const RUNS = 3;
const TIMEOUT_MS = 60_000;
/** Packages a serving revision loads before it can answer, each imported alone in a fresh process. */
const HEAVY_IMPORTS = ['@google-cloud/firestore', '@google-cloud/pubsub', 'onnxruntime-node', 'hono', '@hono/node-server', 'zod'];

/** A way of starting a serving revision. */
interface ColdEntry {
  label: string;
  args: string[];
}

const ENTRIES: ColdEntry[] = [
  { label: '@hono/node-server entry via tsx (local revisions today)', args: ['--import', 'tsx', 'functions/serve/server.ts'] },
  { label: '@hono/node-server entry, esbuild bundle (no TypeScript at start)', args: [`${BUNDLE_DIR}/server.mjs`] },
  {
    label: 'Functions Framework entry, esbuild bundle (as deployed)',
    args: ['node_modules/.bin/functions-framework', '--target=serve', `--source=${BUNDLE_DIR}/index.mjs`, '--port={port}'],
  },
];

/** One cold start, split where the revision's own "cold start N ms" log line allows. */
interface ColdStart {
  totalMs: number;
  /** Spawn to the start of bootServing: Node start-up and module loading. */
  loadMs: number;
  /** bootServing as the revision logs it: registry, artifact, sha256, session, app. */
  bootMs: number;
  /** From the end of boot to the first 200: listening, the first request. */
  firstRequestMs: number;
}

/** Process start to first successful prediction, per entry and model size, with what the time is made of. */
export const coldStartSection: Section = {
  id: 'cold-start',
  title: 'Cold start: process start to first successful prediction',
  async run(context) {
    await bundleEntries();
    const rows: (string | number)[][] = [];
    const small: { entry: string; total: number; load: number; boot: number }[] = [];
    for (const kind of ['small', 'wide'] as const) {
      const version = await context.registered(kind);
      for (const entry of ENTRIES) {
        const runs: ColdStart[] = [];
        const groups = await context.supportGroups();
        await awaitQuiet(groups);
        const before = cpuSnapshot(ownPids(groups));
        for (let run = 0; run < RUNS; run++) runs.push(await coldStart(entry, await context.servingEnv(version)));
        const others = othersCores(before, cpuSnapshot(ownPids(groups)));
        const total = median(runs.map((run) => run.totalMs));
        const load = median(runs.map((run) => run.loadMs));
        const boot = median(runs.map((run) => run.bootMs));
        if (kind === 'small') small.push({ entry: entry.label, total, load, boot });
        const row = [`${MODELS[kind].name} (${bytes(version.sizeBytes)})`, entry.label, ms(total), runs.map((run) => ms(run.totalMs)).join(', ')];
        rows.push([...row, ms(load), ms(boot), ms(median(runs.map((item) => item.firstRequestMs))), othersCpu(others)]);
      }
    }
    const imports = await importTimes();
    return { title: this.title, body: body(rows, imports, small), targets: targets(small) };
  },
};

function body(rows: (string | number)[][], imports: [string, number][], small: { entry: string; total: number; load: number; boot: number }[]): string {
  const [viaTsx, bundled] = small as [(typeof small)[number], (typeof small)[number]];
  const importOf = (name: string) => ms(imports.find(([candidate]) => candidate === name)![1]);
  return [
    `Each start is timed from \`spawn\` to the first \`200\` from \`POST /predict\` (polled every 5 ms), ${RUNS} runs each, warm OS file cache, the artifact already in the revision's model cache (as after a first download; its sha256 is still verified). The revision logs how long \`bootServing\` took (registry lookup in the Firestore emulator, artifact read and sha256, onnxruntime session, app build); “start-up” is spawn to the start of that (Node, module loading, with tsx compiling TypeScript), “first request” the rest (listen, first /predict); each column is the median of its own runs, timed by the revision's log line (same clock). Nothing is pinned: a cold start uses every core it can. “Others’ CPU” is what the rest of the machine used during an entry's runs, in cores.`,
    '',
    table(['model', 'entry', 'median', 'runs', 'start-up', 'boot (logged)', 'first request', 'others’ CPU'], rows),
    '',
    `Importing each heavy dependency alone in a fresh \`node\` (the floor of “start-up”; they share some modules, so they do not add up): ${imports.map(([name, time]) => `${name} ${ms(time)}`).join(', ')}.`,
    '',
    commands([
      ...ENTRIES.map((entry): [string, string] => [
        entry.label,
        `${ENV.serveModel}=<model> ${ENV.serveVersion}=1 PORT=<port> node ${entry.args.join(' ').replace('{port}', '<port>')}`,
      ]),
      [
        'bundles',
        `esbuild functions/serve/{server,index}.ts --bundle --splitting --format=esm --platform=node --target=node20 --packages=external --outdir=${BUNDLE_DIR} --out-extension:.js=.mjs`,
      ],
      ['imports', `node -e "const t = performance.now(); import('<package>').then(() => console.log(performance.now() - t))"`],
    ]),
    '',
    `**What the time is made of, and what would cut it.** For the small model, start-up takes ${ms(bundled.load)} from the bundle and ${ms(viaTsx.load)} through tsx, boot ${ms(bundled.boot)}. Most of start-up is loading the Google client libraries, which the revision needs before it can answer: \`@google-cloud/pubsub\` (${importOf('@google-cloud/pubsub')} alone; the composition root imports the Pub/Sub event bus statically) and \`@google-cloud/firestore\` (${importOf('@google-cloud/firestore')} alone; imported, then connected, for the registry lookup in boot), against ${importOf('onnxruntime-node')} for onnxruntime and ${importOf('hono')} for Hono. tsx compiling TypeScript at start adds ${ms(viaTsx.load - bundled.load)}. The 50 MB model adds its artifact read, sha256, protobuf decode of the metadata and session build to boot. What would bring the small model under 1 s: start from a bundle, not tsx (local revisions too); pin a revision to its artifact (URI and sha256 in its environment, which serving-rollout knows) so boot needs no Firestore client; import the Pub/Sub client lazily, on the prediction log's first flush, off the first request's path.`,
  ].join('\n');
}

function targets(small: { entry: string; total: number }[]): TargetCheck[] {
  const best = small.reduce((a, b) => (a.total <= b.total ? a : b));
  const local = small[0]!;
  return [
    { target: 'cold start < 1 s, small model, local revision (@hono/node-server entry via tsx)', measured: ms(local.total), met: local.total < 1000 },
    { target: 'cold start < 1 s, small model, fastest entry', measured: `${ms(best.total)} (${best.entry})`, met: best.total < 1000 },
  ];
}

async function bundleEntries(): Promise<void> {
  await build({
    entryPoints: { server: 'functions/serve/server.ts', index: 'functions/serve/index.ts' },
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
}

async function coldStart(entry: ColdEntry, servingEnv: NodeJS.ProcessEnv): Promise<ColdStart> {
  const port = await freePort();
  const args = entry.args.map((arg) => arg.replaceAll('{port}', String(port)));
  const env = { ...process.env, NODE_ENV: 'production', ...servingEnv, PORT: String(port), HOST: '127.0.0.1' };
  const logTail: string[] = [];
  const body = predictBody(1);
  const started = performance.now();
  const spawnedAt = Date.now();
  // The revision's log line carries its own clock's time (the same clock): when boot ended, and how long it took.
  let booted: { endedAt: number; ms: number } | undefined;
  const onLine = (line: string) => {
    const match = line.match(/cold start (\d+) ms/);
    const time = match && Date.parse((JSON.parse(line) as { time?: string }).time ?? '');
    if (match && time) booted = { endedAt: time - spawnedAt, ms: Number(match[1]) };
  };
  const child = startProcess(entry.label, process.execPath, args, { env, logTail, onLine });
  try {
    while (performance.now() - started < TIMEOUT_MS) {
      if (child.child.exitCode !== null) throw new Error(`${entry.label} exited with ${child.child.exitCode}: ${logTail.join('\n')}`);
      const status = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then((response) => response.arrayBuffer().then(() => response.status))
        .catch(() => 0);
      if (status === 200) {
        const totalMs = performance.now() - started;
        // The log line may reach us after the answer does: give it a moment through the pipe.
        for (let wait = 0; !booted && wait < 20; wait++) await new Promise((resolve) => setTimeout(resolve, 10));
        if (!booted) return { totalMs, loadMs: totalMs, bootMs: 0, firstRequestMs: 0 };
        return { totalMs, loadMs: booted.endedAt - booted.ms, bootMs: booted.ms, firstRequestMs: Math.max(0, totalMs - booted.endedAt) };
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error(`${entry.label} did not answer within ${TIMEOUT_MS} ms: ${logTail.join('\n')}`);
  } finally {
    await child.stop();
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
