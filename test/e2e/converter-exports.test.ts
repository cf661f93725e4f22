import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftComputed } from '../../shared/domain/monitoring-events.js';
import type { Model, ModelVersion } from '../../shared/domain/registry.js';
import { mlops } from '../support/cli.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';

// The first model most users upload: what skl2onnx.to_onnx gives for a scikit-learn classifier,
// ZipMap and all (scripts/fixtures/converter_models.py writes it with numpy's expected outputs).
const FIXTURES = new URL('../fixtures/models/', import.meta.url);
type Fixture = { file: string; classes: string[]; rows: Record<string, unknown>[]; expected: Record<string, unknown>[] };
const fixtures = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as Record<string, Fixture>;

type Prediction = { output_label: string | number; output_probability: Record<string, number> };

describe('a scikit-learn export goes from skl2onnx.to_onnx to a monitored endpoint with no extra options', () => {
  let platform: StartedPlatform;
  const files = mkdtempSync(join(tmpdir(), 'exports-'));

  beforeAll(async () => {
    platform = await startPlatformProcess({ fresh: true });
    Object.assign(process.env, platform.env, { MLOPS_DATA_DIR: platform.dataDir, METADATA_SERVER_DETECTION: 'none', MLOPS_ACTOR: 'test' });
  }, 90_000);

  afterAll(async () => {
    await platform?.stop('SIGTERM');
  });

  const served = async (name: string): Promise<string> => {
    const show = async () => JSON.parse((await mlops('models', 'show', name, '--json')).stdout) as { model: Model; versions: ModelVersion[] };
    const serving = await eventually(async () => (await show()).model.serving, { timeoutMs: 60_000, what: `${name} serving` });
    return serving.url;
  };

  const predict = async (url: string, instances: unknown[]) => {
    const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances }) });
    expect(response.status).toBe(200);
    return (await response.json()) as { predictions: Prediction[]; ids: string[] };
  };

  for (const [name, model] of [
    ['skl2onnx-logreg-binary', 'churn-sklearn'],
    ['skl2onnx-logreg-multiclass-strings', 'iris-sklearn'],
  ] as const) {
    it(`${name}: registers, serves per-class probabilities, and gets accuracy from ground truth`, async () => {
      const fixture = fixtures[name]!;
      const file = join(files, `${name}.onnx`);
      writeFileSync(file, readFileSync(new URL(fixture.file, FIXTURES)));
      const upload = await mlops('upload', file, '--name', model);
      expect(upload.code, upload.stderr).toBe(0);
      expect(upload.stdout).toContain(`${fixture.classes.length === 2 ? 'binary' : 'multiclass'} (classes ${fixture.classes.join(', ')}; label output_label`);
      const shown = await mlops('models', 'show', model);
      expect(shown.stdout).toMatch(/v1 serves a graph derived from the upload \(sha256 [0-9a-f]{12}\): output_probability: ZipMap removed/);
      expect((await mlops('promote', model, '1', '--to', 'production')).code).toBe(0);
      const url = await served(model);

      // The rows as a user sends them: arrays in training column order.
      const rows = fixture.rows.map((row) => row.X as number[]);
      const answer = await predict(url, rows);
      answer.predictions.forEach((prediction, index) => {
        const expected = fixture.expected[index] as unknown as Prediction;
        expect(String(prediction.output_label)).toBe(String(expected.output_label));
        expect(Object.keys(prediction.output_probability)).toEqual(fixture.classes);
        for (const label of fixture.classes) expect(prediction.output_probability[label]).toBeCloseTo(expected.output_probability[label]!, 5);
      });
      const infer = await fetch(`${url}/v2/models/${model}/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'X', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] }),
      });
      const tensors = (await infer.json()) as { outputs: { name: string; shape: number[] }[] };
      expect(tensors.outputs.find((output) => output.name === 'output_probability')?.shape).toEqual([rows.length, fixture.classes.length]);

      // Ground truth: the predicted label for all rows but the first, which gets another class.
      const truth = answer.predictions.map((prediction, index) =>
        index === 0 ? fixture.classes.find((label) => label !== String(prediction.output_label))! : String(prediction.output_label),
      );
      const truthFile = join(files, `${name}.csv`);
      writeFileSync(truthFile, `id,label\n${answer.ids.map((id, index) => `${id},${truth[index]}`).join('\n')}\n`);
      expect((await mlops('ground-truth', truthFile)).stdout).toMatch(new RegExp(`accepted ${rows.length} ground truth records`));
      const expectedAccuracy = (rows.length - 1) / rows.length;

      // Two logged requests (/predict and /infer) reach the warehouse through Pub/Sub; monitor once both have.
      const performance = await eventually(
        async () => {
          const run = await mlops('drift', 'run', '--model', model, '--json');
          const [version] = (JSON.parse(run.stdout) as DriftComputed).versions;
          return version && version.performance.predictions === 2 * rows.length && version.performance.labelled === rows.length
            ? version.performance
            : undefined;
        },
        { timeoutMs: 60_000, what: `${model}'s predictions and ground truth in the warehouse` },
      );
      expect(performance.accuracy).toBeCloseTo(expectedAccuracy, 10);
      expect(performance.log_loss).toBeGreaterThan(0);
      if (fixture.classes.length === 2) expect(performance.roc_auc).toBeGreaterThanOrEqual(0);
      const report = await mlops('drift', 'report', model);
      expect(report.stdout).toMatch(new RegExp(`performance \\(${rows.length} labelled\\): .*accuracy ${expectedAccuracy.toFixed(4)}`));
    }, 150_000);
  }
});
