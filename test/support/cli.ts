/** Runs the CLI in-process, as `npx mlops ...` would, capturing its output and exit code. */
export { runCaptured as mlops } from '../../scripts/cli/main.js';
