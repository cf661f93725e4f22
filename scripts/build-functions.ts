import { STACK } from '../infra/stack.js';
import { buildFunctions, formatBundleTable } from './lib/deploy/build-functions.js';

// `npm run build:functions`: one deployable bundle per function in dist/functions/<name>/.
try {
  const bundles = await buildFunctions({ functions: STACK.functions });
  console.log(formatBundleTable(bundles));
} catch (error) {
  console.error(`Build failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
