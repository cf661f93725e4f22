import * as ff from '@google-cloud/functions-framework';
import { parseMonitoringConfig } from '../../shared/config/monitoring-config.js';
import { DriftAlert } from '../../shared/domain/monitoring-events.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { notifyAlert } from '../../shared/services/notify-alerts.js';
import { ENV } from '../../shared/config/env.js';

ff.cloudEvent(
  'notifyAlerts',
  topicHandler(platform, {
    functionName: 'notify-alerts',
    topic: 'drift-alerts',
    schema: DriftAlert,
    handle: async (alert) => {
      const { alertWebhookUrl } = parseMonitoringConfig(process.env);
      const { delivered, text } = await notifyAlert(alert, { webhookUrl: alertWebhookUrl });
      log(delivered ? 'INFO' : 'WARNING', delivered ? `posted alert ${alert.alertId}` : `alert (no ${ENV.alertWebhookUrl} set): ${text}`, {
        function: 'notify-alerts',
        alertId: alert.alertId,
        model: alert.model,
        feature: alert.feature,
      });
    },
  }),
);
