import { describe, expect, it } from 'vitest';
import { createMonitoringApi } from '../../../../functions/monitoring-api/app.js';
import { parseMonitoringConfig } from '../../../../shared/config/monitoring-config.js';
import { type AlertState, nextAlertStates, type Observation } from '../../../../shared/domain/drift/alert-state.js';
import { isPlatformError } from '../../../../shared/domain/errors.js';
import { alertText, type DriftAlert, DriftRunRequested, requestedWindow } from '../../../../shared/domain/monitoring-events.js';
import { classificationMetrics, positiveClass } from '../../../../shared/domain/monitoring/performance.js';
import type { Warehouse } from '../../../../shared/ports/warehouse.port.js';
import { notifyAlert } from '../../../../shared/services/notify-alerts.js';

const observe = (feature: string, drifted: boolean): Observation => ({ feature, method: 'psi', value: drifted ? 0.3 : 0.01, threshold: 0.1, drifted });
const run = (previous: AlertState[], observations: Observation[], hour: number) =>
  nextAlertStates(previous, observations, {
    model: 'churn',
    version: 2,
    windowEnd: `2026-01-01T${String(hour).padStart(2, '0')}:00:00.000Z`,
    now: `2026-01-01T${String(hour).padStart(2, '0')}:05:00.000Z`,
  });

describe('alert state', () => {
  it('opens once while a feature stays drifted, resolves on recovery, and opens again on a new drift', () => {
    let states: AlertState[] = [];
    const sent: string[] = [];
    const pattern = [true, true, true, true, true, false, true];
    for (const [hour, drifted] of pattern.entries()) {
      const transition = run(states, [observe('tenure', drifted), observe('plan', false)], hour + 1);
      states = transition.states;
      sent.push(...transition.opened.map((state) => state.alert_id));
    }
    expect(sent).toEqual(['churn/v2/tenure/2026-01-01T01:00:00.000Z', 'churn/v2/tenure/2026-01-01T07:00:00.000Z']);
    expect(states).toEqual([
      expect.objectContaining({ feature: 'tenure', status: 'open', opened_at: '2026-01-01T07:05:00.000Z', window_end: '2026-01-01T07:00:00.000Z' }),
    ]);
  });

  it('sends nothing new when the same window runs again, and ignores a window older than the state', () => {
    const first = run([], [observe('tenure', true)], 5);
    expect(run(first.states, [observe('tenure', true)], 5).opened).toEqual([]);
    const recovered = run(first.states, [observe('tenure', false)], 6);
    expect(recovered.resolved.map((state) => state.feature)).toEqual(['tenure']);
    const backfill = run(recovered.states, [observe('tenure', true)], 3);
    expect(backfill.opened).toEqual([]);
    expect(backfill.states[0]?.status).toBe('resolved');
  });

  it('keeps the state of a feature the run did not measure', () => {
    const first = run([], [observe('tenure', true)], 5);
    expect(run(first.states, [observe('plan', false)], 6).states).toEqual(first.states);
  });
});

describe('the run window', () => {
  const now = new Date('2026-01-01T10:17:00Z');
  it('ends a scheduled run at the top of its hour, from the scheduler time or else the publish time', () => {
    expect(requestedWindow(DriftRunRequested.parse({ trigger: 'schedule' }), { publishTime: '2026-01-01T09:00:03Z', now, defaultHours: 24 })).toEqual({
      windowEnd: new Date('2026-01-01T09:00:00Z'),
      windowHours: 24,
    });
    expect(requestedWindow(DriftRunRequested.parse({ scheduledTime: '2026-01-01T08:59:59Z', job: 'monitor-hourly' }), { now, defaultHours: 6 })).toEqual({
      windowEnd: new Date('2026-01-01T08:00:00Z'),
      windowHours: 6,
    });
  });

  it('ends a manual run when it says, or now', () => {
    expect(requestedWindow({ schemaVersion: 1, trigger: 'manual', windowHours: 2 }, { now, defaultHours: 24 })).toEqual({ windowEnd: now, windowHours: 2 });
    expect(requestedWindow({ schemaVersion: 1, trigger: 'manual', windowEnd: '2026-01-01T03:00:00Z' }, { now, defaultHours: 24 }).windowEnd).toEqual(
      new Date('2026-01-01T03:00:00Z'),
    );
  });

  it('refuses a window longer than 90 days', () => {
    expect(DriftRunRequested.safeParse({ trigger: 'manual', windowHours: 24 * 91 }).success).toBe(false);
  });
});

const alert: DriftAlert = {
  schemaVersion: 1,
  alertId: 'churn/v2/tenure/2026-01-01T05:00:00.000Z',
  model: 'churn',
  version: 2,
  feature: 'tenure',
  method: 'ks',
  value: 0.000123,
  threshold: 0.05,
  windowStart: '2026-01-01T04:00:00.000Z',
  windowEnd: '2026-01-01T05:00:00.000Z',
  reference: 'dataset:train',
  referenceSize: 800,
  currentSize: 400,
  openedAt: '2026-01-01T05:01:00.000Z',
};

describe('alert notification', () => {
  it('says what drifted, by how much, against what', () => {
    expect(alertText(alert)).toBe(
      ':warning: Drift in churn v2: feature "tenure" — ks p-value 1.230e-4 is below 0.05 (window 2026-01-01T04:00:00.000Z to 2026-01-01T05:00:00.000Z, 400 rows; reference dataset:train, 800 rows).',
    );
  });

  it('names the family of a data-quality, attribution or fairness alert and which way its threshold was crossed', () => {
    const window = '(window 2026-01-01T04:00:00.000Z to 2026-01-01T05:00:00.000Z, 400 rows; reference dataset:train, 800 rows).';
    expect(alertText({ ...alert, feature: 'quality:age', method: 'missing', value: 0.2, threshold: 0.05 })).toBe(
      `:warning: Data quality in churn v2: feature "age" — missing share 0.2000 is above 0.05 ${window}`,
    );
    expect(alertText({ ...alert, feature: 'attribution:tenure', method: 'attribution_share', value: 0.31, threshold: 0.1 })).toBe(
      `:warning: Attribution drift in churn v2: feature "tenure" — its importance moved by 0.3100 of the reference's total, at or above 0.1 ${window}`,
    );
    expect(alertText({ ...alert, feature: 'attribution:__dataset__', method: 'ndcg', value: 0.7, threshold: 0.9 })).toContain(
      'the ranking of feature importance — nDCG 0.7000 is below 0.9',
    );
    expect(alertText({ ...alert, feature: 'fairness:sex', method: 'disparate_impact_ratio', value: 0.5, threshold: 0.8 })).toBe(
      `:warning: Fairness in churn v2: attribute "sex" — disparate impact ratio 0.5000 is below 0.8 ${window}`,
    );
  });

  it('posts Slack-style JSON, and only logs without a webhook', async () => {
    const requests: { url: string; body: unknown }[] = [];
    const post = (async (url: string, init: RequestInit) => {
      requests.push({ url, body: JSON.parse(String(init.body)) });
      return new Response('ok');
    }) as typeof fetch;
    expect(await notifyAlert(alert, { webhookUrl: 'https://hooks.example/x', post })).toMatchObject({ delivered: true });
    expect(requests).toEqual([{ url: 'https://hooks.example/x', body: { text: alertText(alert) } }]);
    expect(await notifyAlert(alert, { post })).toMatchObject({ delivered: false });
    expect(requests).toHaveLength(1);
  });

  it('retries a 5xx or 429 and dead-letters a refusal', async () => {
    const answering = (status: number) => (async () => new Response('nope', { status })) as unknown as typeof fetch;
    for (const status of [429, 503]) {
      const error = await notifyAlert(alert, { webhookUrl: 'https://hooks.example/x', post: answering(status) }).catch((caught: unknown) => caught);
      expect(isPlatformError(error)).toBe(false);
    }
    const refused = await notifyAlert(alert, { webhookUrl: 'https://hooks.example/x', post: answering(404) }).catch((caught: unknown) => caught);
    expect(isPlatformError(refused, 'ALERT.WEBHOOK_REFUSED')).toBe(true);
  });

  it('reads its settings from the environment, naming a bad variable', () => {
    expect(parseMonitoringConfig({})).toEqual({ windowHours: 24, alertWebhookUrl: undefined });
    expect(parseMonitoringConfig({ MLOPS_DRIFT_WINDOW_HOURS: '6', MLOPS_ALERT_WEBHOOK_URL: 'https://hooks.slack.com/services/T/B/X' })).toEqual({
      windowHours: 6,
      alertWebhookUrl: 'https://hooks.slack.com/services/T/B/X',
    });
    expect(() => parseMonitoringConfig({ MLOPS_ALERT_WEBHOOK_URL: 'hooks.slack.com' })).toThrow(/MLOPS_ALERT_WEBHOOK_URL/);
    expect(() => parseMonitoringConfig({ MLOPS_DRIFT_WINDOW_HOURS: '0' })).toThrow(/MLOPS_DRIFT_WINDOW_HOURS/);
  });
});

describe('classification metrics from per-class counts', () => {
  it('takes precision and recall of the positive class for 0/1 labels', () => {
    const rows = [
      { class_label: '0', tp: 50, fp: 10, fn: 5 },
      { class_label: '1', tp: 30, fp: 5, fn: 10 },
    ];
    expect(positiveClass(['0', '1'])).toBe('1');
    expect(classificationMetrics(rows)).toEqual({ precision: 30 / 35, recall: 30 / 40, f1: (2 * (30 / 35) * (30 / 40)) / (30 / 35 + 30 / 40) });
  });

  it('macro-averages over classes otherwise', () => {
    const rows = [
      { class_label: 'a', tp: 1, fp: 1, fn: 0 },
      { class_label: 'b', tp: 0, fp: 0, fn: 1 },
    ];
    expect(positiveClass(['a', 'b'])).toBeUndefined();
    expect(classificationMetrics(rows)).toEqual({ precision: 0.25, recall: 0.5, f1: (2 * 0.5 * 1) / 1.5 / 2 });
  });
});

describe('monitoring API', () => {
  it('answers the latest window of a model, and 400 for a bad name', async () => {
    const queries: string[] = [];
    const warehouse = {
      dialect: 'duckdb',
      query: async (sql: string) => {
        queries.push(sql);
        if (sql.includes('FROM {{drift_metrics}}')) {
          return [
            {
              version: 2,
              feature: 'tenure',
              method: 'ks',
              value: 0.01,
              threshold: 0.05,
              drifted: true,
              reference_size: 10,
              current_size: 9,
              window_start: '2026-01-01T00:00:00.000Z',
              window_end: '2026-01-02T00:00:00.000Z',
              computed_at: '2026-01-02T00:01:00.000Z',
            },
          ];
        }
        return [];
      },
    } as unknown as Warehouse;
    const app = createMonitoringApi({ warehouse: async () => warehouse, apiKeyHashes: [] });
    const response = await app.request('/drift/churn');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      model: 'churn',
      versions: [{ version: 2, windowEnd: '2026-01-02T00:00:00.000Z', drift: [{ feature: 'tenure', drifted: true }], openAlerts: [], health: null }],
    });
    expect(queries[0]).toMatch(/QUALIFY DENSE_RANK\(\) OVER \(PARTITION BY version ORDER BY window_end DESC, window_start DESC\) = 1/);
    expect((await app.request('/drift/Not_A_Model')).status).toBe(400);
  });
});
