/** ServingDeployer backend on Cloud Run Admin API v2: one service per model, a pinned and tagged revision per version in its traffic (canary, shadow, sticky split). */
export type { CloudRunServingDeployerOptions, RequestSigner } from './cloud-run-serving-deployer.js';
export { CloudRunError, CloudRunServingDeployer } from './cloud-run-serving-deployer.js';
