import { option, positiveInteger, readOption, readProfile, requireOption } from './options.js';

/** The monitoring settings, declared like the platform's (and read under the same MLOPS_PROFILE, options.ts's PROFILE). */
export const MONITORING_OPTIONS = {
  windowHours: option({
    env: 'MLOPS_DRIFT_WINDOW_HOURS',
    expects: 'a whole number of hours from 1 to 2160',
    description: 'length of the drift window (and of the launch-window reference) when a run does not say',
    defaults: { local: '24', gcp: '24' },
    parse: (raw: string) => {
      const hours = positiveInteger(raw);
      return hours !== undefined && hours <= 2160 ? hours : undefined;
    },
  }),
  alertWebhookUrl: option({
    env: 'MLOPS_ALERT_WEBHOOK_URL',
    expects: 'an http(s) URL taking Slack-style {"text": ...} POSTs',
    description: 'where notify-alerts posts alerts; unset, they are only logged',
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
  const profile = readProfile(env);
  return {
    windowHours: requireOption(MONITORING_OPTIONS.windowHours, env, profile, 'it sets the drift window'),
    alertWebhookUrl: readOption(MONITORING_OPTIONS.alertWebhookUrl, env, profile),
  };
}
