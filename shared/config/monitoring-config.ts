import { oneOf, option, positiveInteger, readOption, requireOption } from './options.js';

/** The monitoring settings, declared like the platform's: variable, expectation, per-profile default. */
export const MONITORING_OPTIONS = {
  profile: option({ env: 'MLOPS_PROFILE', expects: '"local" or "gcp"', defaults: { local: 'local', gcp: 'gcp' }, parse: oneOf('local', 'gcp') }),
  windowHours: option({
    env: 'MLOPS_DRIFT_WINDOW_HOURS',
    expects: 'a whole number of hours from 1 to 2160',
    defaults: { local: '24', gcp: '24' },
    parse: (raw: string) => {
      const hours = positiveInteger(raw);
      return hours !== undefined && hours <= 2160 ? hours : undefined;
    },
  }),
  alertWebhookUrl: option({
    env: 'MLOPS_ALERT_WEBHOOK_URL',
    expects: 'an http(s) URL taking Slack-style {"text": ...} POSTs',
    defaults: {},
    parse: (raw: string) => (/^https?:\/\/\S+$/.test(raw.trim()) ? raw.trim() : undefined),
  }),
} as const;

/** Settings of compute-drift and notify-alerts. */
export interface MonitoringConfig {
  /** Length of the current window (and of the launch-window reference) when a run does not say. */
  windowHours: number;
  /** Where alerts are posted; without one they are only logged. */
  alertWebhookUrl?: string;
}

/** Parses the monitoring settings from the environment; a bad value throws CONFIG.INVALID naming the variable. */
export function parseMonitoringConfig(env: Record<string, string | undefined>): MonitoringConfig {
  const profile = readOption(MONITORING_OPTIONS.profile, env, 'local') ?? 'local';
  return {
    windowHours: requireOption(MONITORING_OPTIONS.windowHours, env, profile, 'it sets the drift window'),
    alertWebhookUrl: readOption(MONITORING_OPTIONS.alertWebhookUrl, env, profile),
  };
}
