import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { createTracking, type RunDetails, type Tracking } from '../../shared/sdk/index.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { mlops } from '../support/cli.js';

const files = mkdtempSync(join(tmpdir(), 'tracking-'));
const write = (name: string, bytes: Uint8Array | string) => {
  const path = join(files, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  return path;
};

describe('experiment tracking through the SDK, the CLI and the tracking API', () => {
  let platform: StartedPlatform;
  let tracking: Tracking;

  beforeAll(async () => {
    platform = await startPlatformProcess({ fresh: true });
    Object.assign(process.env, platform.env, { MLOPS_DATA_DIR: platform.dataDir, METADATA_SERVER_DETECTION: 'none', MLOPS_ACTOR: 'alice@test' });
    tracking = createTracking();
  }, 90_000);

  afterAll(async () => {
    await tracking?.close();
    await platform?.stop('SIGTERM');
  });

  it('logs params, metrics, tags and artifacts that read back through the SDK and mlops runs show/list', async () => {
    const run = await tracking.startRun({ experiment: 'churn-e2e', name: 'baseline', tags: { team: 'risk' } });
    run.logParams({ lr: 0.1, epochs: 3 });
    for (let step = 0; step < 100; step++) run.logMetric('loss', 1 / (step + 1));
    run.logMetric('auc', 0.91);
    run.setTag('stage', 'tuning');
    const notes = write('notes.txt', 'trained on 2026-01 data\n');
    await run.logArtifact(notes, 'reports');
    await run.logArtifacts(join(write('plots/roc.csv', 'fpr,tpr\n0,0\n1,1\n'), '..'), 'plots');
    // An .onnx file among run artifacts must not be taken for a model upload.
    await run.logArtifact(write('weights/model.onnx', binaryClassifierOnnx()));
    await run.end();

    expect(Buffer.from(await tracking.readArtifact(run.id, 'reports/notes.txt')).toString()).toBe('trained on 2026-01 data\n');
    expect((await tracking.metricHistory(run.id, 'loss')).map((point) => point.step)).toEqual(Array.from({ length: 100 }, (_, index) => index));

    const shown = await mlops('runs', 'show', run.id, '--json');
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    const details = JSON.parse(shown.stdout) as RunDetails;
    expect(details.run).toMatchObject({
      status: 'FINISHED',
      params: { lr: '0.1', epochs: '3' },
      tags: { team: 'risk', stage: 'tuning' },
      metrics: { auc: 0.91, loss: 0.01 },
    });
    expect(details.experiment?.name).toBe('churn-e2e');
    expect(details.artifacts.map((artifact) => artifact.path)).toEqual(['model.onnx', 'plots/roc.csv', 'reports/notes.txt']);
    expect(details.modelVersions).toEqual([]);

    const human = await mlops('runs', 'show', run.id);
    expect(human.stdout).toMatch(/^Run [0-9a-f]{32} {2}baseline/);
    expect(human.stdout).toMatch(/loss\s+0\.01\s+99\s+0\.01\s+1/);
    expect(human.stdout).toMatch(/reports\/notes\.txt\s+24 B/);

    const listed = await mlops('runs', 'list', '--experiment', 'churn-e2e', '--filter', "metrics.auc > 0.9 and params.lr = 0.1 and tags.team = 'risk'");
    expect(listed.stdout).toMatch(new RegExp(`^RUN ID\\s+EXPERIMENT.*\\n${run.id}\\s+churn-e2e\\s+baseline\\s+FINISHED`));
    expect(platform.output()).not.toContain(run.id);
  });

  it('registers a model from a run, and shows the lineage both ways', async () => {
    const run = await tracking.startRun({ experiment: 'churn-e2e', name: 'candidate' });
    run.logParam('lr', 0.05);
    run.logMetric('auc', 0.93);
    const started = Date.now();
    const { version } = await run.registerModel(write('candidate.onnx', binaryClassifierOnnx()), 'churn-e2e');
    expect(Date.now() - started).toBeLessThan(5000);
    await run.end();
    expect(version).toMatchObject({ model: 'churn-e2e', version: 1, status: 'ready', metrics: { auc: 0.93 }, params: { lr: '0.05' } });
    expect(version!.lineage).toMatchObject({ runId: run.id, uploader: 'alice@test' });
    expect(version!.artifactUri).toMatch(/^gs:\/\/mlops-artifacts\/models\/churn-e2e\/[^/]+\/model\.onnx$/);

    const details = JSON.parse((await mlops('runs', 'show', run.id, '--json')).stdout) as RunDetails;
    expect(details.modelVersions.map((found: ModelVersion) => [found.model, found.version])).toEqual([['churn-e2e', 1]]);
    expect((await mlops('runs', 'show', run.id)).stdout).toMatch(/Model versions\n\s+MODEL\s+VERSION.*\n\s+churn-e2e\s+1\s+ready/);

    const model = await mlops('models', 'show', 'churn-e2e');
    expect(model.stdout).toMatch(new RegExp(`Runs\\n\\s+RUN ID.*\\n\\s+${run.id}\\s+candidate\\s+FINISHED\\s+lr=0.05\\s+auc=0.93`));
    const json = JSON.parse((await mlops('models', 'show', 'churn-e2e', '--json')).stdout) as { runs: { id: string }[] };
    expect(json.runs.map((found) => found.id)).toEqual([run.id]);
  });

  it('compares runs side by side, marking what differs', async () => {
    const runs = await tracking.searchRuns({ experiments: ['churn-e2e'], orderBy: ['attributes.start_time asc'] });
    expect(runs.map((run) => run.name)).toEqual(['baseline', 'candidate']);
    const compared = await mlops('runs', 'compare', ...runs.map((run) => run.id));
    expect(compared.code).toBe(0);
    expect(compared.stdout).toMatch(/^\*\s+params\.lr\s+0\.1\s+0\.05$/m);
    expect(compared.stdout).toMatch(/^\s+status\s+FINISHED\s+FINISHED$/m);
    expect(compared.stdout).toMatch(/^\*\s+params\.epochs\s+3\s*$/m);
    const json = JSON.parse((await mlops('runs', 'compare', ...runs.map((run) => run.id), '--json')).stdout) as { metrics: Record<string, unknown[]> };
    expect(json.metrics.auc).toEqual([0.91, 0.93]);
  });

  it('writes buffered metrics in the background and keeps 10,000 points logged through the SDK', async () => {
    const run = await tracking.startRun({ experiment: 'sdk-buffering' });
    run.logMetric('warmup', 1);
    // No flush: the interval writes it.
    await eventually(async () => ((await tracking.getRun(run.id))?.metrics.warmup === 1 ? true : undefined), { what: 'a background flush' });
    const started = Date.now();
    for (let step = 0; step < 10_000; step++) run.logMetric('loss', 1 / (step + 1), step);
    const ended = await run.end();
    expect(ended.metricSummaries.loss).toMatchObject({ step: 9999, min: 1 / 10_000, max: 1 });
    const history = await tracking.metricHistory(run.id, 'loss');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(history.map((point) => point.step)).toEqual(Array.from({ length: 10_000 }, (_, index) => index));
    expect(() => run.logMetric('loss', 0)).toThrow(/has ended/);
  });

  it('serves the same through the tracking HTTP function', async () => {
    const { functions } = JSON.parse(readFileSync(join(platform.dataDir, 'endpoints.json'), 'utf8')) as { functions: Record<string, string> };
    const base = functions.tracking!;
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const created = await call('POST', '/runs', { experiment: 'http-e2e', name: 'from-http' });
    expect(created.status).toBe(201);
    const runId = (created.body.run as { id: string }).id;
    const logged = await call('POST', `/runs/${runId}/log-batch`, {
      params: { lr: 0.2 },
      tags: { via: 'http' },
      metrics: [{ key: 'auc', value: 0.8, step: 1 }],
    });
    expect(logged).toEqual({ status: 200, body: { logged: { params: 1, tags: 1, metrics: 1 } } });
    expect((await call('POST', `/runs/${runId}/log-batch`, { params: { lr: 0.3 } })).body).toMatchObject({ code: 'TRACKING.PARAM_CONFLICT' });

    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252]);
    const put = await fetch(`${base}/runs/${runId}/artifacts/content?path=data/sample.bin`, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(put.status).toBe(201);
    const got = await fetch(`${base}/runs/${runId}/artifacts/content?path=data/sample.bin`);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    expect(await tracking.readArtifact(runId, 'data/sample.bin')).toEqual(Buffer.from(bytes));

    expect((await call('POST', `/runs/${runId}/end`, { status: 'KILLED' })).body).toMatchObject({ run: { status: 'KILLED' } });
    const found = await call('POST', '/runs/search', { experiments: ['http-e2e'], filter: "attributes.status = 'KILLED' and params.lr >= 0.2" });
    expect((found.body.runs as { id: string }[]).map((run) => run.id)).toEqual([runId]);
    expect((await call('GET', `/runs/${runId}`)).body).toMatchObject({ run: { tags: { via: 'http' } }, artifacts: [{ path: 'data/sample.bin', size: 6 }] });
    expect(await call('GET', `/runs/${runId}/metrics?key=auc`)).toMatchObject({ status: 200, body: { history: [{ step: 1, value: 0.8 }] } });
    expect(await call('POST', '/runs/search', { filter: 'metrics.auc >' })).toMatchObject({ status: 400, body: { code: 'TRACKING.INVALID_FILTER' } });
    expect(await call('GET', '/runs/no-such-run')).toMatchObject({ status: 404, body: { code: 'TRACKING.RUN_NOT_FOUND' } });
    expect((await call('GET', '/openapi.json')).body).toMatchObject({ openapi: '3.1.0' });
  });

  it('answers CLI mistakes with a clear error and exit code', async () => {
    const cases: [string[], number, RegExp][] = [
      [['runs', 'show', 'no-such-run'], 1, /No run with id "no-such-run"/],
      [['runs', 'list', '--filter', 'metrics.auc > 0.8 or metrics.auc < 0.2'], 1, /"or" is not supported.*\[TRACKING.INVALID_FILTER\]/],
      [['runs', 'list', '--experiment', 'nothing-here'], 1, /No experiment named "nothing-here"/],
      [['runs', 'list', '--max', 'lots'], 2, /--max expects a whole number/],
      [['runs', 'compare', 'only-one'], 2, /at least two run ids/],
      [['runs', 'frobnicate'], 2, /use list, show or compare/],
    ];
    for (const [argv, code, message] of cases) {
      const result = await mlops(...argv);
      expect({ argv, code: result.code }).toEqual({ argv, code });
      expect(result.stderr).toMatch(message);
    }
  });
});
