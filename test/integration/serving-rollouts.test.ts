import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createServingApp } from '../../functions/serve/app.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import { PredictionsLogged } from '../../shared/domain/events.js';
import { TABLES } from '../../shared/domain/tables.js';
import { hashApiKey } from '../../shared/http/auth.js';
import { ingestPredictions } from '../../shared/services/ingest.js';
import { PredictionLog } from '../../shared/services/prediction-log.js';
import { eventually, useEmulators } from '../support/environment.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { listen, versionOf } from '../support/serving.js';

const { projectId } = useEmulators();
type Answer = { version: number; ids: string[]; predictions: number[] };

describe('serving revisions in a rollout: refusal counts, shadows and sticky splits', () => {
  const pubsub = new PubSub({ projectId });
  const bus = new PubSubEventBus({ projectId });
  /** Every message on the predictions topic, as published (so a test can deliver it again). */
  const published: Buffer[] = [];
  let folder: string;
  let warehouse: DuckDbWarehouse;

  beforeAll(async () => {
    const [topic] = await pubsub.createTopic('predictions');
    const [subscription] = await topic.createSubscription('predictions-rollouts');
    subscription.on('message', (message: Message) => {
      published.push(message.data);
      message.ack();
    });
    folder = await mkdtemp(join(tmpdir(), 'serving-rollouts-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
  });

  afterAll(async () => {
    await warehouse.close();
    await rm(folder, { recursive: true, force: true });
    await bus.close();
    await pubsub.close();
  });

  const churn = (version: number) => versionOf('churn', version, binaryClassifierOnnx());
  const serve = async (...args: Parameters<typeof createServingApp>) => {
    const served = await listen(createServingApp(...args));
    onTestFinished(() => served.close());
    return served;
  };
  /** A URL nothing listens on. */
  const deadUrl = async () => {
    const served = await listen(createServingApp(await churn(9)));
    await served.close();
    return served.url;
  };
  const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const ingestAll = async (messages: Buffer[]) => {
    for (const data of messages) await ingestPredictions(PredictionsLogged.parse(JSON.parse(data.toString())), warehouse);
  };
  const metric = async (base: string, name: string, outcome: string) =>
    Number(new RegExp(`^${name}\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(await (await fetch(`${base}/metrics`)).text())?.[1]);

  it('counts refused and failed requests per minute, status and code (not 401), and ingests the counts idempotently', async () => {
    const predictionLog = new PredictionLog({ bus: () => bus, flushIntervalMs: 10, outcomeIntervalMs: 50 });
    const secured = await serve({ ...(await churn(3)), predictionLog, apiKeyHashes: [hashApiKey('key-1')], maxBodyBytes: 2048 });
    const key = { 'x-api-key': 'key-1' };
    const seen = new Map<string, number>();
    const send = async (path: string, body: unknown, headers: Record<string, string> = key) => {
      const response = await post(secured.url, path, body, headers);
      const { code } = (await response.json()) as { code?: string };
      if (response.status >= 400 && response.status !== 401) seen.set(`${response.status} ${code}`, (seen.get(`${response.status} ${code}`) ?? 0) + 1);
      return response.status;
    };
    const refusals = async () => [
      await send('/predict', { instances: [[1, 2]] }),
      await send('/predict', 'not json'),
      await send('/predict', { instances: [[1, 2, 3, 4]] }, { ...key, 'content-type': 'text/plain' }),
      await send('/predict', { instances: [Array.from({ length: 4 }, () => 'x'.repeat(900))] }),
      await send('/v2/models/other/infer', { inputs: [] }),
      await send('/predict', { instances: [[1, 2, 3, 4]] }, {}),
      await send('/predict', { instances: [[1, 2, 3, 4]] }),
    ];
    expect(await refusals()).toEqual([400, 400, 415, 413, 404, 401, 200]);
    const stored = async () =>
      Object.fromEntries(
        (
          await warehouse.query<{ status: number; code: string; total: number }>(
            "SELECT status, code, SUM(count) AS total FROM {{request_outcomes}} WHERE model = 'churn' AND version = 3 AND instance = @instance GROUP BY status, code",
            { instance: predictionLog.instance },
          )
        )
          .map((row) => [`${row.status} ${row.code}`, Number(row.total)] as const)
          .sort(([a], [b]) => a.localeCompare(b)),
      );
    const settled = async () => {
      await ingestAll(published);
      const rows = await stored();
      return JSON.stringify(rows) === JSON.stringify(Object.fromEntries([...seen].sort(([a], [b]) => a.localeCompare(b)))) ? rows : undefined;
    };
    expect(await eventually(settled, { what: 'the refusal counts in request_outcomes', intervalMs: 100 })).toEqual({
      '400 MODEL.INVALID_INPUT': 1,
      '400 REQUEST.INVALID': 1,
      '404 REGISTRY.MODEL_NOT_FOUND': 1,
      '413 REQUEST.TOO_LARGE': 1,
      '415 REQUEST.UNSUPPORTED_MEDIA_TYPE': 1,
    });
    // Delivered again, in any order, the same reports change nothing; later ones replace, never add.
    await ingestAll([...published].reverse());
    expect(await stored()).toEqual(Object.fromEntries(seen));
    await refusals();
    await predictionLog.flush(5000);
    const doubled = await eventually(settled, { what: 'the later counts', intervalMs: 100 });
    expect(doubled['400 MODEL.INVALID_INPUT']).toBe(2);
    await ingestAll(published);
    expect(await stored()).toEqual(doubled);
  });

  it("mirrors every answered request to the shadow, which logs it linked to production's ids; clients only ever get the primary's answer", async () => {
    const shadowLog = new PredictionLog({ bus: () => bus, flushIntervalMs: 10 });
    const shadow = await serve({ ...(await churn(4)), predictionLog: shadowLog, rollout: { role: 'shadow' } });
    const primary = await serve({ ...(await churn(3)), rollout: { role: 'primary', shadow: { url: shadow.url, percent: 100 } } });
    const answers = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const instances = Array.from({ length: 1 + (index % 3) }, (_, row) => [index, row, 1, 0]);
        return (await (await post(primary.url, '/predict', { instances })).json()) as Answer;
      }),
    );
    expect(answers.every((answer) => answer.version === 3)).toBe(true);
    const productionIds = new Set(answers.flatMap((answer) => answer.ids));
    await eventually(async () => ((await metric(primary.url, 'mlops_shadow_requests_total', 'sent')) === 20 ? true : undefined), { what: '20 copies sent' });
    // A request straight to the shadow, without the header, is answered and logged unlinked.
    const direct = (await (await post(shadow.url, '/predict', { instances: [[9, 9, 9, 9]] })).json()) as Answer;
    await shadowLog.flush(5000);
    const shadowRows = await eventually(
      async () => {
        await ingestAll(published);
        const rows = await warehouse.query<{ prediction_id: string; shadow_of: string | null }>(
          "SELECT prediction_id, shadow_of FROM {{predictions}} WHERE model = 'churn' AND version = 4 AND source = 'shadow'",
        );
        return rows.length === productionIds.size + 1 ? rows : undefined;
      },
      { what: "the shadow's predictions in the warehouse", intervalMs: 100 },
    );
    expect(new Set(shadowRows.flatMap((row) => (row.shadow_of ? [row.shadow_of] : [])))).toEqual(productionIds);
    expect(shadowRows.find((row) => row.prediction_id === direct.ids[0])?.shadow_of).toBeNull();
    expect(await metric(primary.url, 'mlops_shadow_requests_total', 'failed')).toBe(0);
  });

  it('never lets a missing shadow reach the client: the copies fail and are counted', async () => {
    const primary = await serve({ ...(await churn(3)), rollout: { role: 'primary', shadow: { url: await deadUrl(), percent: 100 } } });
    const statuses = await Promise.all(Array.from({ length: 5 }, async () => (await post(primary.url, '/predict', { instances: [[1, 2, 3, 4]] })).status));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    await eventually(async () => ((await metric(primary.url, 'mlops_shadow_requests_total', 'failed')) === 5 ? true : undefined), { what: '5 failed copies' });
  });

  it('keeps each sticky key on one version, and the candidate gets its share within 3 points over 2,000 keys', async () => {
    const candidate = await serve(await churn(4));
    const primary = await serve({
      ...(await churn(3)),
      rollout: { role: 'primary', split: { url: candidate.url, percent: 30, stickyKey: { from: 'header', name: 'x-user' } } },
    });
    const versionFor = async (user: string) =>
      ((await (await post(primary.url, '/predict', { instances: [[1, 2, 3, 4]] }, { 'x-user': user })).json()) as Answer).version;
    const users = Array.from({ length: 2000 }, (_, index) => `user-${index}`);
    const first = new Map<string, number>();
    for (let start = 0; start < users.length; start += 50) {
      const slice = users.slice(start, start + 50);
      const versions = await Promise.all(slice.map(versionFor));
      for (const [index, user] of slice.entries()) first.set(user, versions[index]!);
    }
    const share = [...first.values()].filter((version) => version === 4).length / users.length;
    expect(Math.abs(share - 0.3)).toBeLessThanOrEqual(0.03);
    const again = await Promise.all(users.slice(0, 200).map(versionFor));
    expect(again).toEqual(users.slice(0, 200).map((user) => first.get(user)));
  });

  it('keys a split on a feature of the first instance by the model feature names', async () => {
    const candidate = await serve(await churn(4));
    const primary = await serve({
      ...(await churn(3)),
      rollout: { role: 'primary', split: { url: candidate.url, percent: 50, stickyKey: { from: 'feature', name: 'f2' } } },
    });
    const versionFor = async (instance: unknown) => ((await (await post(primary.url, '/predict', { instances: [instance] })).json()) as Answer).version;
    for (const value of [1, 2, 3, 4, 5, 6]) {
      // The same feature value reaches the same version, whether the instance is an array or an object.
      expect(await versionFor({ f0: 0, f1: 0, f2: value, f3: 0 })).toBe(await versionFor([9, 9, value, 9]));
    }
  });

  it('answers from the primary when the candidate of a split is down', async () => {
    const primary = await serve({
      ...(await churn(3)),
      rollout: { role: 'primary', split: { url: await deadUrl(), percent: 100, stickyKey: { from: 'header', name: 'x-user' } } },
    });
    const answers = await Promise.all(
      ['a', 'b', 'c'].map(async (user) => {
        const response = await post(primary.url, '/predict', { instances: [[1, 2, 3, 4]] }, { 'x-user': user });
        return [response.status, ((await response.json()) as Answer).version];
      }),
    );
    expect(answers).toEqual([
      [200, 3],
      [200, 3],
      [200, 3],
    ]);
    expect(await metric(primary.url, 'mlops_split_requests_total', 'fallback')).toBe(3);
  });
});
