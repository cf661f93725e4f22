/** ServingDeployer backend on Cloud Run Admin API v2: one service per model, a pinned and tagged revision per version in its traffic (canary, shadow, sticky split); and a retrain target running a Cloud Run job. */
export type { CloudRunServingDeployerOptions, RequestSigner } from './cloud-run-serving-deployer.js';
export { CloudRunError, CloudRunServingDeployer } from './cloud-run-serving-deployer.js';
export type { CloudRunJobTargetOptions } from './cloud-run-job-runner.js';
export { CloudRunJobTarget } from './cloud-run-job-runner.js';
