/** ServingDeployer backend on this machine: a revision process per version behind a stable-URL router, as Cloud Run serves them. */
export type { LocalServingDeployerOptions } from './local-serving-deployer.js';
export { LocalServingDeployer } from './local-serving-deployer.js';
export type { ServingNotice } from './revision-supervisor.js';
export type { RouteTarget, ServingRouterOptions, WeightedTarget } from './serving-router.js';
export { ServingRouter } from './serving-router.js';
