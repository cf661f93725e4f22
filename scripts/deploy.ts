import { estimateMonthlyCost } from '../infra/cost.js';
import { COMPONENTS } from '../infra/deploy-config.js';
import { deploymentProblems, planDeployment } from '../infra/plan.js';
import { STACK } from '../infra/stack.js';
import { applyPlan } from './lib/deploy/apply-plan.js';
import { buildFunctions, formatBundleTable } from './lib/deploy/build-functions.js';
import { CloudExecutor } from './lib/deploy/cloud-executor.js';
import { FLAG_HELP, loadDeployment, parseDeployArgs } from './lib/deploy/deploy-args.js';
import { formatCostEstimate } from './lib/deploy/print-cost.js';
import { formatPlan } from './lib/deploy/print-plan.js';

// `npm run deploy [-- --dry-run]`: build every enabled function, plan, then print or apply the plan.
const args = parseDeployArgs(process.argv.slice(2));
if (args.help) {
  console.log(`npm run deploy -- [flags]: deploy the platform to a Google Cloud project.\n\n${FLAG_HELP}`);
  process.exit(0);
}

try {
  const { config, notes } = loadDeployment(args, { save: !args.dryRun });
  for (const note of notes) console.log(note);
  const off = COMPONENTS.filter((component) => !config.components[component]);
  console.log(`Project ${config.project}, region ${config.region}, bucket ${config.bucket}; components off: ${off.join(', ') || 'none'}\n`);

  const functions = STACK.functions.filter((spec) => config.components[spec.component]);
  const bundles = await buildFunctions({ functions });
  console.log(`Function bundles (dist/functions):\n${formatBundleTable(bundles)}\n`);

  const steps = planDeployment(STACK, config, { sourceHashes: Object.fromEntries(bundles.map((bundle) => [bundle.name, bundle.hash])) });
  const problems = deploymentProblems(STACK, config, { allowPublic: args.allowPublic });
  if (args.dryRun) {
    for (const problem of problems) console.log(`WARNING: ${problem}\n`);
    console.log(`Deployment plan (${steps.length} steps; each is skipped when its check shows the resource already as wanted):\n`);
    console.log(`${formatPlan(steps)}\n`);
    console.log(formatCostEstimate(estimateMonthlyCost(STACK, config)));
    process.exit(0);
  }
  // Refused before anything runs: nothing is created in the project.
  if (problems.length > 0) throw new Error(problems.join('\n'));

  const executor = new CloudExecutor({ project: config.project });
  const outcomes = await applyPlan(steps, executor, { log: (line) => console.log(line) });
  const changed = [...outcomes.values()].filter((outcome) => outcome === 'created' || outcome === 'updated').length;
  console.log(`\nDone: ${changed} of ${steps.length} steps changed something.`);
  for (const spec of functions.filter((fn) => fn.trigger.type === 'http')) {
    const where = [`--region=${config.region}`, `--project=${config.project}`];
    const describe = spec.server
      ? ['run', 'services', 'describe', spec.name, ...where, '--format=value(status.url)']
      : ['functions', 'describe', spec.name, '--gen2', ...where, '--format=value(serviceConfig.uri)'];
    const result = await executor.command(['gcloud', ...describe], 'check');
    if (result.ok)
      console.log(`  ${spec.name.padEnd(14)} ${result.output.trim()}${spec.perModel ? '  (base; each promoted model gets its own serve-<model> URL)' : ''}`);
  }
  console.log('\nCheck it end to end: npm run smoke (uploads a tiny model, promotes it, calls /predict, finds its prediction in BigQuery).');
} catch (error) {
  console.error(`\nDeploy failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
