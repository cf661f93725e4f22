import { join } from 'node:path';
import * as ff from '@google-cloud/functions-framework';
import { parseMonitoringConfig } from '../../shared/config/monitoring-config.js';
import type { BusMessage } from '../../shared/ports/event-bus.port.js';
import { type DriftComputed, DriftRunRequested, requestedWindow } from '../../shared/domain/monitoring-events.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { ENV } from '../../shared/config/env.js';
import { runMonitoring } from '../../shared/services/monitoring-run.js';

/** The run's window as the request names it: its end (or now, or the scheduled hour) and its length (or the configured one). */
const windowOf = (request: DriftRunRequested, message: BusMessage) =>
  requestedWindow(request, { publishTime: message.publishTime, now: new Date(), defaultHours: parseMonitoringConfig(process.env).windowHours });

/** The outcome on drift-computed, which `mlops drift run` waits for. */
function outcome(
  request: DriftRunRequested,
  { windowEnd, windowHours }: ReturnType<typeof windowOf>,
  fields: Partial<DriftComputed> & { seconds: number },
): DriftComputed {
  return {
    schemaVersion: 1,
    requestId: request.requestId ?? null,
    status: 'succeeded',
    windowStart: new Date(windowEnd.getTime() - windowHours * 3_600_000).toISOString(),
    windowEnd: windowEnd.toISOString(),
    versions: [],
    ...fields,
  };
}

ff.cloudEvent(
  'computeDrift',
  topicHandler(platform, {
    functionName: 'compute-drift',
    topic: TOPICS.monitorSchedule,
    schema: DriftRunRequested,
    replyTopic: TOPICS.driftComputed,
    // A manual run without an end names "now": the failed run's window is taken again when it fails.
    failureReply: ({ event, message, error, seconds }) => outcome(event, windowOf(event, message), { status: 'failed', error: error.message, seconds }),
    handle: async (request, message) => {
      const p = platform();
      const started = performance.now();
      const window = windowOf(request, message);
      const models = { artifacts: await p.artifacts(), runner: await p.modelRunner(), cacheDir: join(p.config.dataDir, 'model-cache') };
      // Reports go to the bucket; locally the dashboard serves them, on Google Cloud the console's object URL.
      const reports = { artifacts: models.artifacts, dashboardUrl: process.env[ENV.dashboardUrl] };
      const deps = { registry: await p.registry(), warehouse: await p.warehouse(), bus: p.eventBus(), models, reports };
      const report = await runMonitoring(deps, { model: request.model, ...window });
      const drifted = report.versions.flatMap((version) =>
        version.features.filter((feature) => feature.drifted).map((feature) => `${version.model}/v${version.version}/${feature.feature}`),
      );
      log('INFO', `monitored ${report.versions.length} versions over ${report.windowStart} to ${report.windowEnd}; drifted: ${drifted.join(', ') || 'none'}`, {
        function: 'compute-drift',
        windowStart: report.windowStart,
        windowEnd: report.windowEnd,
        drifted,
      });
      return outcome(request, window, { versions: report.versions, seconds: (performance.now() - started) / 1000 });
    },
  }),
);
