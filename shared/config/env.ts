import { CLIENT_OPTIONS } from './client-config.js';
import { OPTIONS } from './config.js';
import { MONITORING_OPTIONS } from './monitoring-config.js';
import { RETRAIN_OPTIONS, RETRAIN_REQUEST_ENV } from './retrain-config.js';
import type { OptionSpec } from './options.js';

/**
 * Every user setting, in the order the README's configuration table lists them: the platform's,
 * the monitoring functions', then the clients'. Generated into README.md by scripts/config-table.ts.
 */
export const SETTINGS = { ...OPTIONS, ...MONITORING_OPTIONS, ...RETRAIN_OPTIONS, ...CLIENT_OPTIONS } as const;

/**
 * Variables the platform passes to processes it starts itself, not settings a user makes: declared
 * here once, and left out of the README's table.
 */
export const INTERNAL_ENV = {
  /** Set by `npm start -- --as-deployed` (scripts/lib/function-code.ts): the installed serving bundle local revisions run. */
  servingBundle: 'MLOPS_SERVING_BUNDLE',
  /** `<runner pid>:<start time>`, inherited by every process a local platform starts (scripts/lib/process-table.ts). */
  platformOwner: 'MLOPS_PLATFORM_OWNER',
  /**
   * Set by the serving deployers on the revisions of a rollout (see shared/domain/rollout.ts):
   * `shadow` makes a revision log what it answers with source=shadow, linked to the production
   * prediction ids in the x-mlops-shadow-of header; `primary` (the default) serves clients.
   */
  serveRole: 'MLOPS_SERVE_ROLE',
  /** A primary mirrors a copy of this share (percent) of its prediction requests to the shadow's URL, off the response path. */
  shadowUrl: 'MLOPS_SHADOW_URL',
  shadowPercent: 'MLOPS_SHADOW_PERCENT',
  /** A primary forwards the requests whose sticky key falls in this share (percent) to the candidate's URL and answers with its answer. */
  splitUrl: 'MLOPS_SPLIT_URL',
  splitPercent: 'MLOPS_SPLIT_PERCENT',
  /** `header:<name>` or `feature:<name>`: what keeps a client on one arm of a split. */
  stickyKey: 'MLOPS_STICKY_KEY',
  /** Set by the local runner once its dashboard listens: monitoring reports are linked there rather than to the bucket. */
  dashboardUrl: 'MLOPS_DASHBOARD_URL',
  /** The retrain request (JSON) deliver-retrain hands its Cloud Run job or local command. */
  retrainRequest: RETRAIN_REQUEST_ENV,
} as const;

type Names<T extends Record<string, OptionSpec<unknown>>> = { readonly [K in keyof T]: T[K]['env'] };

function namesOf<T extends Record<string, OptionSpec<unknown>>>(options: T): Names<T> {
  return Object.fromEntries(Object.entries(options).map(([key, spec]) => [key, spec.env])) as Names<T>;
}

/**
 * The name of every environment variable the platform reads, by setting: `process.env[ENV.dataDir]`
 * rather than a string literal. Each name is written once, in its option's declaration.
 */
export const ENV = { ...namesOf(SETTINGS), ...INTERNAL_ENV } as const;
