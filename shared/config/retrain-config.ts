import { PlatformError } from '../domain/errors.js';
import { option, positiveInteger, readOption, readProfile, text } from './options.js';

/** The variable a retrain job or command reads its request from (JSON): set by deliver-retrain, not by a user. */
export const RETRAIN_REQUEST_ENV = 'MLOPS_RETRAIN_REQUEST';

const retrainWebhookSecret = option({
  env: 'MLOPS_RETRAIN_WEBHOOK_SECRET',
  expects: 'a non-empty secret',
  description: 'signs retrain webhook POSTs as registry webhooks are signed (`X-MLOps-Signature`); unset, they go unsigned',
  defaults: {},
  parse: text,
});

const CLOUD_RUN_JOB = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/locations\/[a-z0-9-]+\/jobs\/[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Where deliver-retrain sends retrain requests, declared like the platform's settings (and read under the same MLOPS_PROFILE). */
export const RETRAIN_OPTIONS = {
  retrainWebhookUrl: option({
    env: 'MLOPS_RETRAIN_WEBHOOK_URL',
    expects: 'an http(s) URL taking the retrain request as a JSON POST',
    description: `a retrain target: deliver-retrain POSTs each retrain request there (signed when \`${retrainWebhookSecret.env}\` is set)`,
    defaults: {},
    parse: (raw: string) => (/^https?:\/\/\S+$/.test(raw.trim()) ? raw.trim() : undefined),
  }),
  retrainWebhookSecret,
  retrainJob: option({
    env: 'MLOPS_RETRAIN_JOB',
    expects: 'a Cloud Run job name, projects/<project>/locations/<region>/jobs/<job>',
    description: `a retrain target: deliver-retrain runs this Cloud Run job with the request in its \`${RETRAIN_REQUEST_ENV}\` variable`,
    defaults: {},
    parse: (raw: string) => (CLOUD_RUN_JOB.test(raw.trim()) ? raw.trim() : undefined),
  }),
  retrainCommand: option({
    env: 'MLOPS_RETRAIN_COMMAND',
    expects: 'a shell command',
    description: `a retrain target, locally: a shell command given the request on stdin and in \`${RETRAIN_REQUEST_ENV}\`; exit 0 means delivered`,
    defaults: {},
    parse: text,
  }),
  retrainCommandTimeoutSeconds: option({
    env: 'MLOPS_RETRAIN_COMMAND_TIMEOUT_SECONDS',
    expects: 'a whole number of seconds from 1 to 3600',
    description: 'how long the retrain command may run before it is stopped and the delivery retried',
    defaults: { local: '600', gcp: '600' },
    parse: (raw: string) => {
      const seconds = positiveInteger(raw);
      return seconds !== undefined && seconds <= 3600 ? seconds : undefined;
    },
  }),
} as const;

/** Where retrain requests go: any of a webhook, a Cloud Run job and a local command, each delivered once per request. */
export interface RetrainConfig {
  webhook?: { url: string; secret?: string };
  /** `projects/<p>/locations/<r>/jobs/<name>`. */
  job?: string;
  command?: { command: string; timeoutMs: number };
}

/** Parses the retrain targets from the environment; a bad value throws CONFIG.INVALID naming the variable. */
export function parseRetrainConfig(env: Record<string, string | undefined>): RetrainConfig {
  const profile = readProfile(env);
  const read = <T>(spec: Parameters<typeof readOption<T>>[0]) => readOption(spec, env, profile);
  const url = read(RETRAIN_OPTIONS.retrainWebhookUrl);
  const secret = read(RETRAIN_OPTIONS.retrainWebhookSecret);
  if (secret !== undefined && url === undefined) {
    throw new PlatformError(
      'CONFIG.INVALID',
      `${RETRAIN_OPTIONS.retrainWebhookSecret.env} is set but ${RETRAIN_OPTIONS.retrainWebhookUrl.env} is not: set the URL the signed requests go to, or unset the secret.`,
      { details: { variable: RETRAIN_OPTIONS.retrainWebhookUrl.env } },
    );
  }
  const job = read(RETRAIN_OPTIONS.retrainJob);
  const command = read(RETRAIN_OPTIONS.retrainCommand);
  const timeoutSeconds = read(RETRAIN_OPTIONS.retrainCommandTimeoutSeconds) ?? 600;
  return {
    ...(url === undefined ? {} : { webhook: { url, ...(secret === undefined ? {} : { secret }) } }),
    ...(job === undefined ? {} : { job }),
    ...(command === undefined ? {} : { command: { command, timeoutMs: timeoutSeconds * 1000 } }),
  };
}
