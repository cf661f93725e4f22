import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../shared/domain/registry.js';
import type { Rollout } from '../../shared/domain/rollout.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { logisticRegressionToOnnx } from '../../shared/model-export/onnx-writer.js';
import type { RolloutComparison } from '../../shared/services/rollout-comparison.js';
import { launchChromium } from '../support/browser.js';
import { mlops } from '../support/cli.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';

const FEATURES = ['a', 'b', 'c', 'd'];
const WEIGHTS = [1, -1, 0.5, 0.25];

/** One answer through the stable URL: who answered, with which label, for which instance and user. */
interface Answer {
  status: number;
  version?: number;
  label?: number;
  id?: string;
  user?: string;
  row: number[];
}

/** Sends one-row predictions with random features from `workers` loops until stopped; `user` gives a request its sticky header. */
function traffic(url: string, workers: number, user?: (sequence: number) => string) {
  const answers: Answer[] = [];
  let running = true;
  let sequence = 0;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      // Features on the side where version 1 (and 2) say 1 and version 3 says 0: their outputs' distributions differ, not only each answer.
      const row = FEATURES.map((_, index) => Math.round((index === 1 ? -1 : 1) * (0.1 + Math.random() * 1.9) * 100) / 100);
      const id = user?.(sequence++);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(id ? { 'x-user-id': id } : {}) };
      try {
        const response = await fetch(`${url}/predict`, { method: 'POST', headers, body: JSON.stringify({ instances: [row] }) });
        const body = (await response.json()) as { version?: number; ids?: string[]; predictions?: { label: number }[] };
        answers.push({ status: response.status, version: body.version, label: body.predictions?.[0]?.label, id: body.ids?.[0], user: id, row });
      } catch (error) {
        answers.push({ status: 0, row, user: String((error as Error).cause ?? error) });
      }
    }
  });
  return {
    answers,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

// The rollout flow as a user drives it: `npm start`, `mlops` commands, HTTP traffic through the stable
// URL, ground truth from a file, and the analyser ticking on its topic (the scheduler would tick once a minute).
describe('rollouts on the local platform, analysed and ended on their own', () => {
  let platform: StartedPlatform;
  let pubsub: PubSub;
  let url: string;
  const files = mkdtempSync(join(tmpdir(), 'rollouts-'));

  beforeAll(async () => {
    platform = await startPlatformProcess({ fresh: true });
    Object.assign(process.env, platform.env, { MLOPS_DATA_DIR: platform.dataDir, METADATA_SERVER_DETECTION: 'none', MLOPS_ACTOR: 'test' });
    pubsub = new PubSub({ projectId: platform.env.GOOGLE_CLOUD_PROJECT });
    const upload = async (version: number, weights: number[], intercept: number) => {
      const file = join(files, `v${version}.onnx`);
      writeFileSync(file, logisticRegressionToOnnx({ weights, intercept, featureNames: FEATURES }));
      expect((await mlops('upload', file, '--name', 'churn')).code).toBe(0);
    };
    await upload(1, WEIGHTS, 0);
    // Version 2 is equivalent to 1 (a retrain that moved the intercept a little); version 3 answers the opposite.
    await upload(2, WEIGHTS, 0.02);
    await upload(
      3,
      WEIGHTS.map((weight) => -weight),
      0,
    );
    expect((await mlops('promote', 'churn', '1', '--to', 'production')).code).toBe(0);
    const serving = await eventually(async () => ((await model()).serving?.version === 1 ? (await model()).serving : undefined), {
      timeoutMs: 60_000,
      what: 'version 1 serving',
    });
    url = serving!.url;
  }, 120_000);

  afterAll(async () => {
    await pubsub?.close();
    await platform?.stop('SIGTERM');
  });

  const model = async (): Promise<Model> => JSON.parse((await mlops('models', 'show', 'churn', '--json')).stdout).model as Model;
  const status = async (): Promise<Rollout> =>
    (JSON.parse((await mlops('rollout', 'status', 'churn', '--json')).stdout) as { current?: Rollout; rollouts: Rollout[] }).rollouts[0]!;
  const tick = () => pubsub.topic(TOPICS.rolloutSchedule).publishMessage({ json: { trigger: 'test' } });

  /** Ticks the analyser every second until the latest rollout has ended; returns it. */
  async function untilEnded(timeoutMs = 90_000): Promise<Rollout> {
    return eventually(
      async () => {
        await tick();
        const latest = await status();
        return latest.state === 'running' || latest.state === 'paused' ? undefined : latest;
      },
      { timeoutMs, intervalMs: 1000, what: 'the rollout to end' },
    );
  }

  const start = async (...args: string[]) => {
    const run = await mlops('rollout', ...args, '--json');
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout) as { rollout: Rollout };
  };

  it('promotes a canary of an equivalent model on its own, step by step, with zero failed requests', async () => {
    const load = traffic(url, 6);
    const { rollout } = await start('start', 'churn', '2', '--steps', '20,100', '--interval', '3s', '--min-requests', '150', '--max-output-drift', '0.2');
    expect(rollout).toMatchObject({ mode: 'canary', baseline: 1, candidate: 2, state: 'running' });
    const ended = await untilEnded();
    await eventually(async () => ((await model()).serving?.version === 2 ? true : undefined), { timeoutMs: 60_000, what: 'version 2 serving alone' });
    await load.stop();
    expect(ended.state, ended.reason).toBe('promoted');
    expect(ended.history.map((step) => [step.percent, step.verdict])).toEqual([
      [20, 'passed'],
      [100, 'passed'],
    ]);
    expect(ended.history[0]!.figures!.candidate.requests).toBeGreaterThanOrEqual(150);
    expect((await model()).aliases.production).toBe(2);
    expect(load.answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(new Set(load.answers.map((answer) => answer.version))).toEqual(new Set([1, 2]));
    const history = (await mlops('models', 'history', 'churn', '--json')).stdout;
    expect(history).toContain('rollout_started');
    expect(history).toContain(`rollout:${rollout.id}`);
  }, 180_000);

  it('rolls back a canary whose outputs differ sharply, on its own, with the reason recorded', async () => {
    const load = traffic(url, 6);
    await start('start', 'churn', '3', '--steps', '50,100', '--interval', '3s', '--min-requests', '150', '--max-output-drift', '0.2');
    const ended = await untilEnded();
    await load.stop();
    expect(ended.state).toBe('rolled_back');
    expect(ended.reason).toMatch(/step 1 \(50%\) failed: the candidate's outputs drifted 0\.\d+ from the baseline's/);
    expect((await model()).aliases.production).toBe(2);
    expect(load.answers.filter((answer) => answer.status !== 200)).toEqual([]);
    // Once rolled back, only production answers.
    const after = traffic(url, 2);
    await eventually(async () => (after.answers.length >= 100 ? true : undefined), { what: 'answers after the rollback' });
    await after.stop();
    expect(new Set(after.answers.slice(-50).map((answer) => answer.version))).toEqual(new Set([2]));
  }, 180_000);

  it('shadows a candidate: clients only see production, and every copy is logged beside the answer it copies', async () => {
    const load = traffic(url, 4);
    await start('shadow', 'churn', '3', '--percent', '100', '--duration', '6s');
    const ended = await untilEnded();
    await load.stop();
    expect(ended.state, ended.reason).toBe('completed');
    expect(load.answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(new Set(load.answers.map((answer) => answer.version))).toEqual(new Set([2]));
    const compare = await eventually(
      async () => {
        const run = await mlops('rollout', 'compare', 'churn', '--json');
        const comparison = JSON.parse(run.stdout) as RolloutComparison;
        // Every copied request is logged: as many shadow answers as production answers over the shadow's time.
        return comparison.shadow && comparison.shadow.pairs > 0 && comparison.candidate.requests === comparison.shadow.pairs ? comparison : undefined;
      },
      { timeoutMs: 30_000, what: 'the shadow answers ingested' },
    );
    expect(compare).toMatchObject({ mode: 'shadow', candidate: { version: 3, source: 'shadow' }, baseline: { version: 2 } });
    expect(compare.shadow!.pairs).toBeGreaterThan(50);
    // Version 3 answers the opposite label to version 2's for every row sent.
    expect(compare.shadow!.labelAgreement).toBe(0);
  }, 180_000);

  it('ends an A/B split with a verdict that agrees with the ground truth, each user kept on one arm', async () => {
    // Users u0..u199, each sending several requests; the split keeps each on one version.
    const load = traffic(url, 6, (sequence) => `u${sequence % 200}`);
    await start('start', 'churn', '3', '--split', '50', '--sticky-key', 'header:x-user-id', '--duration', '8s', '--min-requests', '100');
    await eventually(async () => (load.answers.filter((answer) => answer.version === 3).length > 300 ? true : undefined), {
      timeoutMs: 60_000,
      what: 'the candidate answering its share',
    });
    await load.stop();
    const arms = new Map<string, Set<number>>();
    for (const answer of load.answers) if (answer.user && answer.version) arms.set(answer.user, (arms.get(answer.user) ?? new Set()).add(answer.version));
    const switched = [...arms].filter(([, versions]) => versions.size > 1 && !versions.has(2));
    expect(switched).toEqual([]);
    // The truth is what version 2 says: version 2 is right every time, version 3 wrong every time.
    const truth = (row: number[]) => (row.reduce((sum, value, index) => sum + value * WEIGHTS[index]!, 0.02) > 0 ? 1 : 0);
    const labelled = load.answers.filter((answer) => answer.status === 200 && answer.id);
    const csv = join(files, 'truth.csv');
    writeFileSync(csv, ['id,label', ...labelled.map((answer) => `${answer.id},${truth(answer.row)}`)].join('\n'));
    expect((await mlops('ground-truth', csv)).code).toBe(0);
    const ended = await untilEnded();
    expect(ended.state).toBe('rolled_back');
    expect(ended.reason).toMatch(/candidate worse: accuracy/);
    expect((await model()).aliases.production).toBe(2);
  }, 180_000);

  it('shows every rollout on the dashboard: its share over time and each step with its verdict', async () => {
    const dashboard = /^\s+dashboard\s+(http:\/\/\S+)/m.exec(platform.output())?.[1];
    expect(dashboard, 'the dashboard line of npm start').toBeDefined();
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${dashboard}/`);
      await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });
      expect(errors).toEqual([]);
      const datasets = await page.evaluate(() => {
        const charts = (globalThis as unknown as { dashboardCharts: Map<string, { data: { datasets: { label: string }[] } }> }).dashboardCharts;
        return charts.get('chart-rollouts')?.data.datasets.map((dataset) => dataset.label) ?? [];
      });
      expect(datasets).toHaveLength(4);
      expect(datasets).toEqual(
        expect.arrayContaining(['canary v1 → v2 (promoted)', 'canary v2 → v3 (rolled back)', 'shadow v2 → v3 (completed)', 'split v2 → v3 (rolled back)']),
      );
      const rows = await page.locator('#rollouts tbody tr').allTextContents();
      // Two canary steps, the second canary's failed first step, the shadow's and the split's single steps.
      expect(rows).toHaveLength(5);
      expect(rows.join('\n')).toMatch(/failed: the candidate's outputs drifted/);
      expect(await page.locator('#rollouts-none').isHidden()).toBe(true);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
