/** Alert state per model, version and feature: an alert opens once and stays open until the feature recovers. */

/** One row of the drift_alerts table. */
export interface AlertState {
  model: string;
  version: number;
  feature: string;
  status: 'open' | 'resolved';
  alert_id: string;
  method: string;
  value: number;
  threshold: number;
  opened_at: string;
  updated_at: string;
  /** End of the last window that changed or confirmed this state; older windows do not move it. */
  window_end: string;
}

/** What a run measured for one feature. */
export interface Observation {
  feature: string;
  method: string;
  value: number;
  threshold: number;
  drifted: boolean;
}

/** The new states, and which alerts opened (to send) or resolved in this run. */
export interface AlertTransition {
  states: AlertState[];
  opened: AlertState[];
  resolved: AlertState[];
}

/**
 * Applies one run's observations: a drifted feature with no open alert opens one; an open alert
 * whose feature is no longer drifted resolves. Re-running the same window changes nothing (so a
 * redelivered run sends no second alert); a window older than the state's is ignored; features
 * not observed keep their state.
 */
export function nextAlertStates(
  previous: AlertState[],
  observations: Observation[],
  { model, version, windowEnd, now }: { model: string; version: number; windowEnd: string; now: string },
): AlertTransition {
  const byFeature = new Map(previous.map((state) => [state.feature, state]));
  const opened: AlertState[] = [];
  const resolved: AlertState[] = [];
  for (const observation of observations) {
    const before = byFeature.get(observation.feature);
    if (before && Date.parse(before.window_end) > Date.parse(windowEnd)) continue;
    const measured = { method: observation.method, value: observation.value, threshold: observation.threshold, updated_at: now, window_end: windowEnd };
    if (observation.drifted && before?.status !== 'open') {
      const state: AlertState = {
        model,
        version,
        feature: observation.feature,
        status: 'open',
        alert_id: `${model}/v${version}/${observation.feature}/${windowEnd}`,
        opened_at: now,
        ...measured,
      };
      byFeature.set(observation.feature, state);
      opened.push(state);
    } else if (before?.status === 'open' && !observation.drifted) {
      const state: AlertState = { ...before, ...measured, status: 'resolved' };
      byFeature.set(observation.feature, state);
      resolved.push(state);
    } else if (before) byFeature.set(observation.feature, { ...before, ...measured });
  }
  return { states: [...byFeature.values()], opened, resolved };
}
