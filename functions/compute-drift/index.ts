import * as ff from '@google-cloud/functions-framework';
import { parseMonitoringConfig } from '../../shared/config/monitoring-config.js';
import { isPlatformError } from '../../shared/domain/errors.js';
import { type DriftComputed, DriftRunRequested, requestedWindow } from '../../shared/domain/monitoring-events.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { runMonitoring } from '../../shared/services/monitoring-run.js';

ff.cloudEvent(
  'computeDrift',
  topicHandler(platform, {
    functionName: 'compute-drift',
    topic: 'monitor-schedule',
    schema: DriftRunRequested,
    handle: async (request, message) => {
      const p = platform();
      const started = performance.now();
      const { windowEnd, windowHours } = requestedWindow(request, {
        publishTime: message.publishTime,
        now: new Date(),
        defaultHours: parseMonitoringConfig(process.env).windowHours,
      });
      const outcome = (fields: Partial<DriftComputed>): DriftComputed => ({
        schemaVersion: 1,
        requestId: request.requestId ?? null,
        status: 'succeeded',
        windowStart: new Date(windowEnd.getTime() - windowHours * 3_600_000).toISOString(),
        windowEnd: windowEnd.toISOString(),
        versions: [],
        seconds: (performance.now() - started) / 1000,
        ...fields,
      });
      try {
        const deps = { registry: await p.registry(), warehouse: await p.warehouse(), bus: p.eventBus() };
        const report = await runMonitoring(deps, { model: request.model, windowHours, windowEnd });
        const drifted = report.versions.flatMap((version) =>
          version.features.filter((feature) => feature.drifted).map((feature) => `${version.model}/v${version.version}/${feature.feature}`),
        );
        log(
          'INFO',
          `monitored ${report.versions.length} versions over ${report.windowStart} to ${report.windowEnd}; drifted: ${drifted.join(', ') || 'none'}`,
          {
            function: 'compute-drift',
            windowStart: report.windowStart,
            windowEnd: report.windowEnd,
            drifted,
          },
        );
        await p.eventBus().publish(TOPICS.driftComputed, outcome({ versions: report.versions }));
      } catch (error) {
        // A permanent failure is reported to whoever waits; a transient one is retried by Pub/Sub.
        if (isPlatformError(error) && error.permanent) await p.eventBus().publish(TOPICS.driftComputed, outcome({ status: 'failed', error: error.message }));
        throw error;
      }
    },
  }),
);
