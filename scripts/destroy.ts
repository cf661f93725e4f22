import { createInterface } from 'node:readline/promises';
import { planDeployment } from '../infra/plan.js';
import { STACK } from '../infra/stack.js';
import { planTeardown } from '../infra/teardown.js';
import { runTeardown } from './lib/deploy/apply-plan.js';
import { CloudExecutor } from './lib/deploy/cloud-executor.js';
import { FLAG_HELP, parseDeployArgs, readDeployConfig } from './lib/deploy/deploy-args.js';
import { formatTeardown } from './lib/deploy/print-plan.js';

// `npm run destroy [-- --delete-data] [--dry-run] [--yes]`: remove what `npm run deploy` created, newest first.
const args = parseDeployArgs(process.argv.slice(2));
if (args.help) {
  console.log(`npm run destroy -- [flags]: remove the deployed platform (data kept unless --delete-data).\n\n${FLAG_HELP}`);
  process.exit(0);
}

async function confirmed(question: string): Promise<boolean> {
  if (args.yes) return true;
  if (!process.stdin.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await prompt.question(question);
  prompt.close();
  return answer.trim().toLowerCase() === 'yes';
}

try {
  const config = readDeployConfig(args);
  if (!config.bucket) throw new Error(`${args.configPath} names no bucket, so there is no deployment to remove (or pass --bucket).`);
  const steps = planTeardown(planDeployment(STACK, config), { deleteData: args.deleteData });
  const kept = args.deleteData ? '' : ' The bucket, BigQuery dataset and Firestore database are kept (--delete-data removes them).';
  console.log(`Teardown of project ${config.project}, region ${config.region}: ${steps.length} steps.${kept}\n`);
  if (args.dryRun) {
    console.log(formatTeardown(steps));
    process.exit(0);
  }
  if (!(await confirmed(`Type "yes" to delete these resources from ${config.project}: `))) {
    console.error('Not confirmed; nothing deleted. Pass --yes to skip the question.');
    process.exit(1);
  }
  await runTeardown(steps, new CloudExecutor({ project: config.project }), { log: (line) => console.log(line) });
  console.log('\nDone.');
} catch (error) {
  console.error(`\nDestroy failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
