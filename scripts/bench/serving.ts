import type { BenchContext } from './context.js';
import { predictBody } from './models.js';
import { type ProfileSummary, monotonicMicros, readMainThreadProfile, summariseProfile } from './profile.js';
import { type LoadResult, PINNED, runLoad, shownCommand } from './processes.js';
import { type Section, type TargetCheck, count, latency, percent, table, times } from './report.js';
import { servingFindings } from './serving-analysis.js';
import { ENTRIES, FASTAPI_REQUESTS_PER_SECOND, loadSettings, profileDir, startEntry } from './serving-entries.js';
import { layerTable, measureLayers } from './serving-layers.js';
import { type RouteMeasurement, bareDrift, measureRoute, oneRow, routeCommands, routeTable } from './serving-route.js';

/** One entry profiled under the one-row load. */
interface ProfiledEntry {
  entry: keyof typeof ENTRIES;
  load: LoadResult;
  summary: ProfileSummary;
  command: string;
}

const PROFILE_SECONDS = 4;

/** /predict on each entry with both limits, the stack layer by layer, then a CPU profile of each entry under load. */
export const servingSection: Section = {
  id: 'serving',
  title: 'Serving: POST /predict with prediction logging on',
  async run(context) {
    const measurement = await measureRoute(context, { id: 'predict', path: '/predict', body: predictBody, withRouter: true });
    const layers = await measureLayers(context, measurement);
    const profiles: ProfiledEntry[] = [];
    for (const entry of ['functions-framework', 'node-server'] as const) profiles.push(await profileEntry(context, entry));
    const body = [
      `Every server runs in its own process with \`NODE_ENV=production\`, logging each prediction through a real \`PredictionLog\` to the \`predictions\` topic of a Pub/Sub emulator of its own (nothing subscribed, so nothing downstream competes for the CPU). autocannon runs in another process; ${context.settings.connections} connections, ${context.settings.warmupSeconds} s warm-up, then ${context.settings.seconds} s measured. ${PINNED ? 'The server is pinned to core 0 and autocannon to core 1 (`taskset`), like a 1-vCPU serving instance with its clients elsewhere; the emulator and the router float. ' : ''}autocannon records latency in whole milliseconds. “Others’ CPU” is what the rest of the machine used meanwhile, in cores (the machine is shared; above 0.25 it is in bold and the row is suspect).`,
      '',
      routeTable(measurement),
      '',
      bareDrift(measurement),
      '',
      routeCommands(measurement),
      '',
      '### The stack layer by layer',
      '',
      'Each layer in its own process under the same load. With 32 connections the server’s one JavaScript thread is saturated, so 1/(req/s) is the time it spends per request, and the difference between two layers is what the upper one adds.',
      '',
      layerTable(layers),
      '',
      servingFindings(
        layers,
        {
          framework: profiles.find((item) => item.entry === 'functions-framework')!.summary,
          direct: profiles.find((item) => item.entry === 'node-server')!.summary,
        },
        measurement.inference,
      ),
      '',
      ...profiles.flatMap(profileSection),
    ];
    return { title: this.title, body: body.join('\n'), targets: targets(measurement) };
  },
};

async function profileEntry(context: BenchContext, entry: keyof typeof ENTRIES): Promise<ProfiledEntry> {
  const dir = profileDir(context, entry);
  const flags = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const target = await startEntry(context, entry, flags);
  const settings = await loadSettings(context, target);
  const from = monotonicMicros() + settings.warmupSeconds * 1_000_000;
  let load: LoadResult;
  try {
    load = await runLoad({ url: `${target.url}/predict`, bodyFile: context.bodyFile('predict-1.json', predictBody(1)), ...settings, seconds: PROFILE_SECONDS });
  } finally {
    await target.stop();
  }
  const window = { from, to: monotonicMicros() };
  const command = shownCommand(target.command).replace(/ node /, ` node ${flags[0]} --cpu-prof-dir=<dir> `);
  return { entry, load, summary: summariseProfile(readMainThreadProfile(dir), { window }), command };
}

function targets(measurement: RouteMeasurement): TargetCheck[] {
  const direct = oneRow(measurement, 'node-server');
  const bare = measurement.bare.find((item) => item.rows === 1);
  if (!direct || !bare) return [];
  const share = direct.requestsPerSecond / bare.requestsPerSecond;
  const fastApi = direct.requestsPerSecond / FASTAPI_REQUESTS_PER_SECOND;
  return [
    {
      target: '/predict (logging on, 32 connections, 1 row) ≥ 50% of bare HTTP req/s',
      measured: `${percent(share)} (${count(direct.requestsPerSecond)} of ${count(bare.requestsPerSecond)} req/s)`,
      met: share >= 0.5,
    },
    { target: '/predict p99 < 5 ms at that load', measured: latency(direct.p99Ms), met: direct.p99Ms < 5 },
    {
      target: `/predict ≥ 7× FastAPI+uvicorn+scikit-learn (${count(FASTAPI_REQUESTS_PER_SECOND)} req/s)`,
      measured: `${times(fastApi)} (${count(direct.requestsPerSecond)} req/s)`,
      met: fastApi >= 7,
    },
  ];
}

function profileSection({ entry, load, summary, command }: ProfiledEntry): string[] {
  return [
    `### Profile: ${ENTRIES[entry].label}`,
    '',
    `\`${command}\` under the one-row load for ${PROFILE_SECONDS} s (${count(load.requestsPerSecond)} req/s while profiled). ${summary.windowed ? 'Only samples taken under load are counted (start-up excluded).' : 'The whole process life is counted, start-up included.'} The JavaScript thread was busy ${percent(1 - summary.idleShare)} of the time; garbage collection took ${percent(summary.gcShare)} of that.`,
    '',
    table(
      ['package (self time)', 'share of busy'],
      summary.byPackage.slice(0, 12).map((item) => [item.name, percent(item.share)]),
    ),
    '',
    table(
      ['function (top by self time)', 'where', 'share of busy'],
      summary.topFrames.map((frame) => [`\`${frame.name}\``, frame.where ? `\`${frame.where}\`` : '', percent(frame.share)]),
    ),
    '',
  ];
}
