/** ServingDeployer backend on Cloud Run Admin API v2: one service per model, a pinned revision per version, traffic moved in one update. */
export type { CloudRunServingDeployerOptions, RequestSigner } from './cloud-run-serving-deployer.js';
export { CloudRunError, CloudRunServingDeployer } from './cloud-run-serving-deployer.js';
