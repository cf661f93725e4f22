import type { Traffic } from '../domain/rollout.js';

/** Where one model is served, and by which revision. */
export interface ServingDeployment {
  model: string;
  version: number;
  /** The stable URL clients call; it survives redeploys. */
  url: string;
  /** The revision now taking traffic (the primary's, during a rollout). */
  revision: string;
  deployedAt: string;
  /** Where requests go, when more than the primary takes them (a rollout under way). */
  traffic?: Traffic;
}

/**
 * Rolls a model's serving endpoint to a new revision pinned to one version, without downtime:
 * the new revision takes traffic only once healthy. Cloud Run on Google Cloud; child processes
 * behind a local router on one machine.
 */
export interface ServingDeployer {
  /** Serves `version` of `model` alone; a no-op returning the current deployment when it already does. */
  deploy(model: string, version: number): Promise<ServingDeployment>;
  /**
   * Splits or mirrors a model's requests as `traffic` says (every version named runs a revision of its
   * own, started and healthy before it takes any request); `deploy` is `route` with the primary alone.
   * Zero failed requests through every change; a no-op when the traffic is already so.
   */
  route(model: string, traffic: Traffic): Promise<ServingDeployment>;
  /** The current deployment of a model, if any. */
  current(model: string): Promise<ServingDeployment | undefined>;
  close(): Promise<void>;
}
