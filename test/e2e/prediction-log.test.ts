import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from '../../scripts/lib/local-platform.js';
import { freePort } from '../../shared/processes/processes.js';
import type { Model } from '../../shared/domain/registry.js';
import type { Warehouse } from '../../shared/ports/warehouse.port.js';
import { platform } from '../../shared/runtime/index.js';
import { eventually } from '../support/environment.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { mlops } from '../support/cli.js';

// The platform runs in this process, so the test reads the same DuckDB file the functions write.
describe('prediction log, ground truth, features and batch scoring on the local platform', () => {
  let local: LocalPlatform;
  let warehouse: Warehouse;
  let serveUrl: string;
  const files = mkdtempSync(join(tmpdir(), 'plog-'));
  const captured: string[] = [];
  let pubsub: PubSub;

  const count = async (sql: string, params: Record<string, unknown> = {}) => Number((await warehouse.query<{ n: number }>(sql, params))[0]?.n ?? 0);
  const predictionRows = () => count("SELECT COUNT(*) AS n FROM {{predictions}} WHERE source = 'online'");
  const predict = async (instances: number[][]) => {
    const response = await fetch(`${serveUrl}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { ids: string[] }).ids;
  };

  beforeAll(async () => {
    process.env.MLOPS_LOG_LEVEL = process.env.DEBUG_PLOG ? '' : 'silent';
    const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
    local = await startLocalPlatform({ dataDir: mkdtempSync(join(tmpdir(), 'plog-data-')), ports, fresh: true, scheduler: false });
    warehouse = await platform().warehouse();
    pubsub = new PubSub({ projectId: 'mlops-local' });
    const [subscription] = await pubsub.topic('predictions').createSubscription('capture');
    subscription.on('message', (message: Message) => {
      captured.push(message.data.toString());
      message.ack();
    });
    const file = join(files, 'model.onnx');
    writeFileSync(file, binaryClassifierOnnx());
    expect((await mlops('upload', file, '--name', 'churn')).code).toBe(0);
    expect((await mlops('promote', 'churn', '1', '--to', 'production')).code).toBe(0);
    const model = await eventually(
      async () => {
        const shown = JSON.parse((await mlops('models', 'show', 'churn', '--json')).stdout) as { model: Model };
        return shown.model.serving ? shown.model : undefined;
      },
      { timeoutMs: 30_000, what: 'churn serving' },
    );
    serveUrl = model.serving!.url;
  }, 120_000);

  afterAll(async () => {
    await pubsub?.close();
    await local?.stop();
  });

  it('turns N predict calls into exactly N prediction rows with features, outputs and version', async () => {
    const ids: string[] = [];
    for (let call = 0; call < 40; call++)
      ids.push(
        ...(await predict(
          call % 4 === 0
            ? [
                [call, 1, 2, 3],
                [0, call, 0, 1],
                [1, 1, 1, call],
              ]
            : [[call, 0.5, -1, 2]],
        )),
      );
    await eventually(async () => ((await predictionRows()) === ids.length ? true : undefined), { what: `${ids.length} prediction rows` });
    const [row] = await warehouse.query<{ version: number; features: Record<string, number>; outputs: Record<string, number>; model: string }>(
      'SELECT model, version, features, outputs FROM {{predictions}} WHERE prediction_id = @id',
      { id: ids[1] },
    );
    expect(row).toMatchObject({ model: 'churn', version: 1, features: { f0: 0, f1: 0, f2: 0, f3: 1 } });
    expect(row!.outputs.probability).toBeGreaterThan(0);
    expect(row!.outputs.label === 0 || row!.outputs.label === 1).toBe(true);
  });

  it('adds no row when every prediction event is delivered twice', async () => {
    const before = await predictionRows();
    await eventually(async () => (captured.length > 0 ? true : undefined));
    for (const message of [...captured]) await pubsub.topic('predictions').publishMessage({ data: Buffer.from(message) });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await predictionRows()).toBe(before);
  });

  it('loses nothing and doubles nothing when ingest stops mid-stream and starts again', async () => {
    const before = await predictionRows();
    const [dlq] = await pubsub.topic('predictions-dead-letter').createSubscription('dlq-watch');
    let deadLettered = 0;
    dlq.on('message', (message: Message) => {
      deadLettered++;
      message.ack();
    });
    const ids: string[] = [];
    const stream = (async () => {
      for (let call = 0; call < 60; call++) {
        ids.push(...(await predict([[call, 1, 1, 1]])));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await local.pauseFunction('ingest-predictions');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await local.resumeFunction('ingest-predictions');
    await stream;
    let seen = 0;
    await eventually(
      async () => {
        seen = await predictionRows();
        return seen === before + 60 ? true : undefined;
      },
      { timeoutMs: 60_000, what: `${before + 60} rows after the restart` },
    ).catch((error) => {
      throw new Error(`${error.message}; saw ${seen}; dead-lettered ${deadLettered}`);
    });
    expect(await count('SELECT COUNT(DISTINCT prediction_id) AS n FROM {{predictions}}')).toBe(await count('SELECT COUNT(*) AS n FROM {{predictions}}'));
  }, 90_000);

  it('joins ground truth that arrives before its prediction row and after it', async () => {
    await local.pauseFunction('ingest-predictions');
    const early = await predict([[3, 3, 3, 3]]);
    const gtFile = join(files, 'truth.csv');
    writeFileSync(gtFile, `id,label\n${early[0]},1\n`);
    const sent = await mlops('ground-truth', gtFile);
    expect(sent.stdout).toMatch(/accepted 1 ground truth records/);
    await eventually(
      async () => ((await count('SELECT COUNT(*) AS n FROM {{ground_truth}} WHERE prediction_id = @id', { id: early[0] })) === 1 ? true : undefined),
      { what: 'early ground truth stored' },
    );
    await local.resumeFunction('ingest-predictions');

    const late = await predict([[-3, -3, -3, -3]]);
    await eventually(
      async () => ((await count('SELECT COUNT(*) AS n FROM {{predictions}} WHERE prediction_id = @id', { id: late[0] })) === 1 ? true : undefined),
      { what: 'late prediction stored' },
    );
    const jsonl = join(files, 'truth.jsonl');
    writeFileSync(jsonl, `${JSON.stringify({ id: late[0], label: 0 })}\n{"id": "no-such-prediction", "label": 1}\n{"label": 1}\n`);
    const second = await mlops('ground-truth', jsonl);
    expect(second.stdout).toMatch(/accepted 2 ground truth records; refused 1:/);
    expect(second.stdout).toMatch(/line 3: predictionId/);

    const joined = await eventually(
      async () => {
        const rows = await warehouse.query<{ prediction_id: string; label: string; predicted: number }>(
          "SELECT g.prediction_id, g.label, CAST(json_extract(p.outputs, '$.label') AS INTEGER) AS predicted FROM {{ground_truth}} g JOIN {{predictions}} p USING (prediction_id) WHERE g.prediction_id IN (@early, @late)",
          { early: early[0], late: late[0] },
        );
        return rows.length === 2 ? rows : undefined;
      },
      { what: 'both ground truth rows joined' },
    );
    expect(Object.fromEntries(joined.map((row) => [row.prediction_id, row.label]))).toEqual({ [early[0]!]: '1', [late[0]!]: '0' });
    const stats = await (await fetch(`${local.functions.find((fn) => fn.name === 'data-api')!.url}/ground-truth/stats`)).json();
    expect(stats).toMatchObject({ unmatched: 1 });
  }, 60_000);

  it('loads features with bad rows reported by line, then batch-scores the dataset once however often it runs', async () => {
    const lines = ['entity_id,event_time,f0,f1,f2,f3'];
    for (let index = 0; index < 2000; index++) lines.push(`e${index},2026-01-01T00:00:00Z,${index % 7},${index % 3},0.5,${index % 2}`);
    lines.splice(10, 0, 'e-bad,not-a-time,1,2,3,4');
    lines.splice(20, 0, 'e-short,2026-01-01T00:00:00Z,1');
    const csv = join(files, 'features.csv');
    writeFileSync(csv, `${lines.join('\n')}\n`);
    const loaded = await mlops('features', 'load', csv, '--dataset', 'customers-2026-01');
    expect(loaded.stdout).toMatch(/loaded 2000 rows into dataset customers-2026-01; refused 2/);
    expect(loaded.stdout).toMatch(/line 11: event_time "not-a-time" is not an ISO 8601 time/);
    expect(loaded.stdout).toMatch(/line 21: has 3 fields, the header has 6/);

    const scored = await mlops('score', 'customers-2026-01', '--model', 'churn', '--json');
    expect(scored.stderr).toBe('');
    expect(JSON.parse(scored.stdout)).toMatchObject({ status: 'succeeded', rowsScored: 2000, version: 1 });
    const again = await mlops('score', 'customers-2026-01', '--model', 'churn', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ rowsScored: 2000 });
    expect(await count("SELECT COUNT(*) AS n FROM {{predictions}} WHERE source = 'batch'")).toBe(2000);
  }, 90_000);
});
