import { parseArgs } from 'node:util';
import { ENV } from '../shared/config/env.js';
import { CONFIG_FILE, parseDeployArgs, readDeployConfig } from './lib/deploy/deploy-args.js';
import { SMOKE_STEPS, formatStep, formatVerdict, runSmoke } from './lib/smoke/run-smoke.js';
import { type SmokeTarget, gcpTarget, localTarget } from './lib/smoke/smoke-target.js';

// `npm run smoke`: after a deploy, one model through the whole deployed platform, each step timed.
const { values: flags } = parseArgs({
  options: {
    config: { type: 'string', default: CONFIG_FILE },
    project: { type: 'string' },
    region: { type: 'string' },
    bucket: { type: 'string' },
    model: { type: 'string', default: 'smoke' },
    local: { type: 'boolean', default: false },
    'as-deployed': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (flags.help) {
  console.log(`npm run smoke [-- options]: checks a deployed platform end to end, each step timed:
  ${SMOKE_STEPS.map((step) => step.name).join(', ')}.
  Uploads a tiny ONNX model to the bucket, waits for register-model, promotes it on model-promotions,
  waits for its serving endpoint, calls /predict (with ${ENV.apiKey} when set) and waits for the
  prediction's row in BigQuery. Uses your Application Default Credentials (gcloud auth application-default login).
  --config FILE               deployment config (default ${CONFIG_FILE})
  --project ID --region R --bucket NAME   override the config for this run
  --model NAME                the model to register a version of (default smoke)
  --local                     run the same smoke against a local platform started here instead
  --as-deployed               with --local: the local platform runs the deployable bundles`);
  process.exit(0);
}

async function target(): Promise<SmokeTarget> {
  if (flags.local) {
    process.env[ENV.logLevel] ??= 'silent'; // the functions' logs would bury the steps; MLOPS_LOG_LEVEL= shows them
    return localTarget({ asDeployed: flags['as-deployed'] });
  }
  const args = { ...parseDeployArgs(['--config', flags.config]), overrides: { project: flags.project, region: flags.region, bucket: flags.bucket } };
  return gcpTarget(readDeployConfig(args));
}

let smoke: SmokeTarget;
try {
  smoke = await target();
} catch (error) {
  console.error(`Smoke test could not start: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
console.log(`Smoke test of ${smoke.description}, model "${flags.model}":`);
const report = await runSmoke({
  platform: smoke.platform,
  model: flags.model,
  apiKey: process.env[ENV.apiKey],
  onStep: (outcome, index, total) => (outcome.error === undefined ? console.log : console.error)(formatStep(outcome, index, total)),
});
(report.passed ? console.log : console.error)(formatVerdict(report));
await Promise.race([smoke.stop(), new Promise((resolve) => setTimeout(resolve, 15_000).unref())]);
process.exit(report.passed ? 0 : 1);
