import { resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { readJobsFile } from '../infra/deploy-config.js';
import { OPTIONS } from '../shared/config/config.js';
import { ENV } from '../shared/config/env.js';
import { portsFromFirebaseJson, startLocalPlatform } from './lib/local-platform.js';
import { CONFIG_FILE } from './lib/deploy/deploy-args.js';
import { cleanLeftovers } from './lib/platform-lock.js';

const started = Date.now();
// As on Google Cloud: Express under the Functions Framework puts stack traces with file paths in its
// error pages (a malformed JSON body) unless NODE_ENV is production.
process.env.NODE_ENV = 'production';
const { values: flags } = parseFlags({
  options: {
    fresh: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    'pubsub-port': { type: 'string' },
    'firestore-port': { type: 'string' },
    'functions-port': { type: 'string' },
    'dashboard-port': { type: 'string' },
    'as-deployed': { type: 'boolean', default: false },
    'bundles-dir': { type: 'string' },
    'clean-leftovers': { type: 'boolean', default: false },
    'registry-export-every': { type: 'string' },
    jobs: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

/** Parses the flags, or exits 2 with node's own message (an unknown flag, a missing value) and where to look. */
function parseFlags<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>(config);
  } catch (error) {
    console.error(`${(error as Error).message}\nSee npm start -- --help.`);
    process.exit(2);
  }
}
if (flags.help) {
  console.log(`npm start [-- options]: the whole platform on this machine.
  --fresh                 start with empty state (empties the data folder; refused while another platform owns it)
  --registry-export-every S  export the registry every S seconds while running (default 10), so a crash loses at most that
  --clean-leftovers       first stop what an earlier platform left running when its runner died (emulators, revisions)
  --data-dir DIR          where local state lives (default ${OPTIONS.dataDir.defaults.local}, or ${ENV.dataDir})
  --pubsub-port N         Pub/Sub emulator port (default from firebase.json)
  --firestore-port N      Firestore emulator port (default from firebase.json)
  --functions-port N      first function port; each function takes the next (default from firebase.json)
  --dashboard-port N      monitoring dashboard port (default 4000, or any free port when 4000 is taken)
  --as-deployed           run the deployable bundles, not the sources: built as npm run deploy builds them,
                          installed as Cloud Build installs them, functions hosted from each bundle's main with
                          its entry point (as gen2's --target), serving revisions started with node server.js
  --bundles-dir DIR       where --as-deployed builds the bundles (default dist/functions)
  --jobs FILE             the scheduled jobs to fire on their cron schedules: a JSON file with a "jobs" array
                          (default: the jobs of ${CONFIG_FILE}, if any)`);
  process.exit(0);
}
const exportEvery = flags['registry-export-every'];
const exportEveryMs = exportEvery === undefined ? undefined : Number(exportEvery) * 1000;
if (exportEveryMs !== undefined && !(exportEveryMs >= 1000)) {
  console.error(`--registry-export-every expects a number of seconds, 1 or more (got "${exportEvery}").`);
  process.exit(2);
}
const dataDir = resolve(flags['data-dir'] ?? process.env[ENV.dataDir] ?? OPTIONS.dataDir.defaults.local);
const defaults = portsFromFirebaseJson();
const ports = {
  pubsub: Number(flags['pubsub-port'] ?? defaults.pubsub),
  firestore: Number(flags['firestore-port'] ?? defaults.firestore),
  functions: Number(flags['functions-port'] ?? defaults.functions),
};

if (flags['clean-leftovers']) {
  const stopped = await cleanLeftovers();
  console.log(
    stopped.length === 0
      ? 'No leftovers found.'
      : `Stopped ${stopped.length} leftover processes:\n${stopped.map(({ pid, command }) => `  ${pid} ${command.slice(0, 100)}`).join('\n')}`,
  );
}

try {
  const dashboardPort = flags['dashboard-port'] === undefined ? undefined : Number(flags['dashboard-port']);
  const jobs = flags.jobs === undefined ? readJobsFile(CONFIG_FILE, { optional: true }) : readJobsFile(resolve(flags.jobs));
  const local = await startLocalPlatform({
    dataDir,
    jobs,
    fresh: flags.fresh,
    ports,
    dashboardPort,
    asDeployed: flags['as-deployed'],
    bundlesDir: flags['bundles-dir'] === undefined ? undefined : resolve(flags['bundles-dir']),
    registryExportEveryMs: exportEveryMs,
  });
  console.log(`Running ${local.code}:`);
  for (const fn of local.functions) console.log(`  ${fn.name.padEnd(20)} ${fn.url.padEnd(24)} (${fn.trigger})`);
  for (const job of jobs) console.log(`  ${`job ${job.name}`.padEnd(20)} ${`"${job.schedule}"`.padEnd(24)} (${job.kind}, fired on scheduled-jobs)`);
  console.log(`  ${'dashboard'.padEnd(20)} ${local.dashboardUrl.padEnd(24)} (monitoring: models, traffic, drift, performance, runs)`);
  const shellEnv = [ENV.pubsubEmulatorHost, ENV.firestoreEmulatorHost, ENV.projectId].map((name) => `${name}=${local.env[name]}`).join(' ');
  console.log(`\nPub/Sub emulator ${local.env[ENV.pubsubEmulatorHost]}, Firestore emulator ${local.env[ENV.firestoreEmulatorHost]}, data in ${dataDir}`);
  const tracking = local.functions.find((fn) => fn.name === 'tracking');
  const mlflow = tracking ? `\nMLflow clients: export MLFLOW_TRACKING_URI=${tracking.url}` : '';
  console.log(`Ready in ${((Date.now() - started) / 1000).toFixed(1)} s. In another terminal:\n  export ${shellEnv}${mlflow}\nCtrl-C stops everything.`);
  local.serving.then(
    (served) => {
      for (const entry of served) console.log(`  serving ${entry.model} v${entry.version}`.padEnd(23) + ` ${entry.url}`);
    },
    () => undefined,
  );
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      console.log(`${signal}: still stopping (serving revisions flush their prediction logs, then delivery drains)...`);
      return;
    }
    stopping = true;
    console.log(`\n${signal}: stopping serving, then delivery, functions and emulators...`);
    await local.stop();
    console.log('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (error) {
  console.error(`Could not start the local platform: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
