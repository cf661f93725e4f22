/**
 * Google's Node.js runtime lifecycle for Cloud Run functions and Cloud Run source deploys, as the
 * runtime support schedule publishes it (run/docs/runtimes/function-runtimes). After `deprecated`
 * a runtime still deploys; from `decommissioned` on, nothing can be created or updated with it.
 */
export const NODE_RUNTIMES = [
  { id: 'nodejs18', stage: 'ga', deprecated: '2025-04-30', decommissioned: '2025-10-30' },
  { id: 'nodejs20', stage: 'ga', deprecated: '2026-04-30', decommissioned: '2026-10-30' },
  { id: 'nodejs22', stage: 'ga', deprecated: '2027-04-30', decommissioned: '2027-10-31' },
  { id: 'nodejs24', stage: 'ga', deprecated: '2028-04-30', decommissioned: '2028-10-31' },
  { id: 'nodejs26', stage: 'preview' },
] as const satisfies readonly RuntimeLifecycle[];

/** One runtime of the schedule; a preview runtime has no dates yet and needs `gcloud beta`. */
export interface RuntimeLifecycle {
  id: string;
  stage: 'ga' | 'preview';
  /** First day of the deprecation period (YYYY-MM-DD). */
  deprecated?: string;
  /** First day on which the runtime can no longer be deployed (YYYY-MM-DD). */
  decommissioned?: string;
}

/** The runtime every function and the serving service are built on. Code must also run on Node 20 (this machine). */
export const RUNTIME = 'nodejs24';

/** How long before its deprecation a runtime must be replaced: a quarter, time to test and ship the next one. */
export const RUNTIME_NOTICE_DAYS = 90;

const DAY_MS = 86_400_000;

/**
 * Why `runtime` should not be deployed on `today`, or undefined when it is fine: unknown, preview,
 * decommissioned, deprecated, or within `noticeDays` of its deprecation.
 */
export function runtimeProblem(runtime: string, today: Date, noticeDays = RUNTIME_NOTICE_DAYS): string | undefined {
  const entry: RuntimeLifecycle | undefined = NODE_RUNTIMES.find((candidate) => candidate.id === runtime);
  if (!entry) return `Runtime ${runtime} is not in Google's Node.js support schedule (infra/runtimes.ts).`;
  if (entry.stage !== 'ga' || !entry.deprecated || !entry.decommissioned) return `Runtime ${runtime} is in preview, not generally available.`;
  const day = today.toISOString().slice(0, 10);
  const newest = NODE_RUNTIMES.filter((candidate) => candidate.stage === 'ga').at(-1)!.id;
  if (day >= entry.decommissioned)
    return `Runtime ${runtime} was decommissioned on ${entry.decommissioned}: nothing can be deployed with it. Move to ${newest}.`;
  if (day >= entry.deprecated)
    return `Runtime ${runtime} has been deprecated since ${entry.deprecated} (decommissioned ${entry.decommissioned}). Move to ${newest}.`;
  const daysLeft = Math.ceil((Date.parse(entry.deprecated) - Date.parse(day)) / DAY_MS);
  if (daysLeft <= noticeDays) return `Runtime ${runtime} is deprecated on ${entry.deprecated}, in ${daysLeft} days. Move to ${newest}.`;
  return undefined;
}
