/** Where one model is served, and by which revision. */
export interface ServingDeployment {
  model: string;
  version: number;
  /** The stable URL clients call; it survives redeploys. */
  url: string;
  /** The revision now taking traffic. */
  revision: string;
  deployedAt: string;
}

/**
 * Rolls a model's serving endpoint to a new revision pinned to one version, without downtime:
 * the new revision takes traffic only once healthy. Cloud Run on Google Cloud; child processes
 * behind a local router on one machine.
 */
export interface ServingDeployer {
  /** Serves `version` of `model`; a no-op returning the current deployment when it already does. */
  deploy(model: string, version: number): Promise<ServingDeployment>;
  /** The current deployment of a model, if any. */
  current(model: string): Promise<ServingDeployment | undefined>;
  close(): Promise<void>;
}
