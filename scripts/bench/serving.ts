import type { BenchContext } from './context.js';
import { type LoadResult, runLoad } from './load.js';
import { predictBody } from './models.js';
import { type ProfileSummary, readMainThreadProfile, summariseProfile } from './profile.js';
import { PINNED, shownCommand } from './processes.js';
import { BUSY_CORES, type Section, count, percent, table, timed } from './report.js';
import { servingFindings } from './serving-analysis.js';
import { ENTRIES, loadSettings, profileDir, startEntry } from './serving-entries.js';
import { layerTable, measureLayers } from './serving-layers.js';
import { measureServing, servingTable } from './serving-measure.js';
import { fastApiVersions } from './serving-peers.js';
import { routeCommands } from './serving-route.js';
import { roundsSection } from './serving-rounds.js';
import { servingTargets } from './serving-targets.js';

/** The revision profiled under the one-row load. */
interface ProfiledEntry {
  load: LoadResult;
  summary: ProfileSummary;
  command: string;
}

const PROFILE_SECONDS = 4;

/** /predict on the serving revision against the hand-written minimum and the FastAPI peer, through the stable URL, the stack layer by layer, then a CPU profile. */
export const servingSection: Section = {
  id: 'serving',
  title: 'Serving: POST /predict with prediction logging on',
  async run(context) {
    const measured = await measureServing(context);
    const { revision, framework, bare, handWritten, withKeys, fastApi, stableUrl } = measured;
    const layers = await timed('layers', () => measureLayers(context, { bare, revision, framework }));
    const profile = await timed('profile', () => profileRevision(context));
    const peerVersions = fastApiVersions();
    const { connections, warmupSeconds, seconds } = context.settings;
    const body = [
      `Every platform server runs in its own process with \`NODE_ENV=production\`, logging each prediction through a real \`PredictionLog\` to the \`predictions\` topic of a Pub/Sub emulator of its own (nothing subscribed, so nothing downstream competes for the CPU). wrk runs in another process: one thread, ${connections} connections, a ${warmupSeconds} s warm-up run, then ${seconds} s measured; it records latency to the microsecond. ${PINNED ? 'The server is pinned to core 0 and wrk to core 1 (`taskset`), like a 1-vCPU serving instance with its clients elsewhere; the servers’ Pub/Sub emulator, standing in for a service that runs on other machines in the cloud, shares wrk’s core (it takes about 3 µs of CPU per logged prediction), and the local platform’s emulators float. ' : ''}The stable URL is the local platform’s own (its serving deployer, promoted with \`mlops promote\`, read from \`mlops models show\`), with the revision behind it pinned like the others and the platform’s ingest paused meanwhile. “Others’ CPU” is what the rest of the machine used during the measured run, in cores; above ${BUSY_CORES} it is in bold, the run is taken again once, and a target judged on it says “busy machine: not a result”.`,
      '',
      servingTable(measured),
      '',
      roundsSection(measured.rounds),
      '',
      routeCommands(
        [
          handWritten,
          revision,
          measured.revisionBatch,
          withKeys,
          ...(fastApi ? [fastApi] : []),
          framework,
          bare,
          ...('throughput' in stableUrl ? [stableUrl.throughput] : []),
        ],
        'commands' in stableUrl ? stableUrl.commands : [],
        'promotion' in stableUrl ? [['promotion under load', `${stableUrl.promotion.load.command}, ended with SIGINT once the old revision had exited`]] : [],
      ),
      '',
      '### The stack layer by layer',
      '',
      `Each layer in its own process under the same one-row load. With ${connections} connections the server’s one JavaScript thread is saturated, so 1/(req/s) is the time it spends per request, and the difference between two layers is what the upper one adds.`,
      '',
      layerTable(layers),
      '',
      servingFindings({ measured, layers, profile: profile.summary, peerVersions }),
      '',
      ...profileSection(profile),
    ];
    return { title: this.title, body: body.join('\n'), targets: servingTargets(measured) };
  },
};

async function profileRevision(context: BenchContext): Promise<ProfiledEntry> {
  const dir = profileDir(context, 'node-server');
  const flags = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  const target = await startEntry(context, 'node-server', flags);
  let load: LoadResult;
  try {
    const bodyFile = context.bodyFile('predict-1.json', predictBody(1));
    load = await runLoad({ url: `${target.url}/predict`, bodyFile, ...(await loadSettings(context, target)), seconds: PROFILE_SECONDS });
  } finally {
    await target.stop();
  }
  const command = shownCommand(target.command).replace(/ node /, ` node ${flags[0]} --cpu-prof-dir=<dir> `);
  return { load, summary: summariseProfile(readMainThreadProfile(dir), { window: load.window }), command };
}

function profileSection({ load, summary, command }: ProfiledEntry): string[] {
  return [
    `### Profile: ${ENTRIES['node-server'].label}`,
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
