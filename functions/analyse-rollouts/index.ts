import * as ff from '@google-cloud/functions-framework';
import { RolloutTick } from '../../shared/domain/events.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { analyseRollouts } from '../../shared/services/rollout-analysis.js';

// Each tick visits every running rollout; a failure for one is logged here and retried on the next
// tick (all state is in the registry), so the tick itself is acknowledged rather than redelivered.
ff.cloudEvent(
  'analyseRollouts',
  topicHandler(platform, {
    functionName: 'analyse-rollouts',
    topic: TOPICS.rolloutSchedule,
    schema: RolloutTick,
    handle: async (tick) => {
      const p = platform();
      const deps = { registry: await p.registry(), warehouse: await p.warehouse(), bus: p.eventBus(), policy: p.config.promotion };
      for (const summary of await analyseRollouts(deps)) {
        const failed = summary.decision === 'error';
        log(failed ? 'ERROR' : 'INFO', `rollout ${summary.rolloutId} of ${summary.model}: ${summary.decision} (${summary.why}), ${summary.state}`, {
          function: 'analyse-rollouts',
          trigger: tick.trigger,
          ...summary,
        });
      }
    },
  }),
);
