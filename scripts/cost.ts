import { estimateMonthlyCost } from '../infra/cost.js';
import { STACK } from '../infra/stack.js';
import { FLAG_HELP, parseDeployArgs, readDeployConfig } from './lib/deploy/deploy-args.js';
import { formatCostEstimate } from './lib/deploy/print-cost.js';

// `npm run cost`: the monthly cost of the configured deployment, from mlops.deploy.json's assumptions and prices.
const args = parseDeployArgs(process.argv.slice(2));
if (args.help) {
  console.log(`npm run cost -- [flags]: estimate the monthly cost of the deployment.\n\n${FLAG_HELP}`);
  process.exit(0);
}
try {
  console.log(formatCostEstimate(estimateMonthlyCost(STACK, readDeployConfig(args))));
} catch (error) {
  console.error(`Cost estimate failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
