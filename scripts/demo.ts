import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { OPTIONS } from '../shared/config/config.js';
import { ENV } from '../shared/config/env.js';
import { platform } from '../shared/runtime/index.js';
import { DemoCheckFailed } from './lib/demo/checks.js';
import { connectOrStart, type PlatformSession } from './lib/demo/platform-session.js';
import { runDemo } from './lib/demo/run-demo.js';
import { summarize } from './lib/demo/summary.js';

const started = Date.now();
const { values: flags } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    model: { type: 'string', default: 'iris' },
    predictions: { type: 'string', default: '2000' },
    keep: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run demo [-- options]: train, register, promote, serve, predict, drift and monitor, checking each step.
  --model NAME        model name (default iris)
  --predictions N     predictions per phase, before and after the drift (default 2000)
  --data-dir DIR      the local platform's state (default ${OPTIONS.dataDir.defaults.local}, or ${ENV.dataDir})
  --keep              when the demo started the platform itself, keep it (and the dashboard) running until Ctrl-C
  --verbose           show the platform's own logs`);
  process.exit(0);
}
if (!flags.verbose) process.env[ENV.logLevel] ??= 'silent';

const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const report = {
  step: (title: string) => console.log(`\n${title}  (${seconds()})`),
  done: (line: string) => console.log(`  ok  ${line}`),
};

const dataDir = resolve(flags['data-dir'] ?? process.env[ENV.dataDir] ?? OPTIONS.dataDir.defaults.local);
const workDir = mkdtempSync(join(tmpdir(), 'mlops-demo-'));
let session: PlatformSession | undefined;
let exitCode = 0;
try {
  console.log('mlops demo: train -> track -> register -> promote -> serve -> predict -> ground truth -> drift');
  session = await connectOrStart({ dataDir, progress: (line) => console.log(`  ..  ${line}`) });
  console.log(`  ok  platform ${session.startedHere ? 'started by the demo' : 'already running'} (${seconds()}); dashboard ${session.dashboardUrl}`);
  const result = await runDemo(session, { model: flags.model, predictionsPerPhase: Number(flags.predictions), workDir }, report);
  console.log(`\nSummary  (${seconds()})\n`);
  console.log(await summarize(result, await platform().registry(), session.dashboardUrl));
  if (session.startedHere && !flags.keep)
    console.log('  (the demo started the platform and stops it now: run "npm start" to keep the dashboard up, or npm run demo -- --keep)');
  console.log(`\nAll steps checked in ${seconds()}.`);
} catch (error) {
  exitCode = 1;
  const reason = error instanceof DemoCheckFailed ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(`\nFAILED after ${seconds()}: ${reason}`);
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
if (session?.startedHere && flags.keep && exitCode === 0) {
  console.log(`\nPlatform and dashboard keep running: ${session.dashboardUrl}  (Ctrl-C stops them)`);
  const stop = () => void session!.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  await session?.stop();
  await platform().close();
  process.exit(exitCode);
}
