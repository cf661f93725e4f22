import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxModelRunner } from '../../shared/adapters/onnx/index.js';
import { seededRandom } from '../../shared/domain/random.js';
import { modelTask } from '../../shared/domain/model-task.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { planInputs } from '../../shared/domain/serving/input-plan.js';
import { decodeInstances } from '../../shared/domain/serving/predict-codec.js';
import type { LoadedModel } from '../../shared/ports/model-runner.port.js';
import { type Explanation, type Explainer, createExplainer } from '../../shared/services/explainer.js';
import { FIXTURES } from '../support/paths.js';
import { binaryClassifierOnnx, regressorOnnx } from '../support/models.js';

// Linear references: numpy over the graph's own weights (scripts/fixtures/explanation_reference.py).
// Sampled estimates: against the exact Shapley value, every coalition with the same background scored by the real model.
type Fixture = { file: string; classes?: string[]; rows: Record<string, unknown>[]; expected: Record<string, unknown>[] };
type ReferenceCase = { target: string | null; explanations: { output: string; prediction: number; baseline: number; attributions: number[] }[] };
type ReferenceModel = { features: string[]; instances: number[][]; background: number[][]; cases: ReferenceCase[] };
const fixtures = JSON.parse(readFileSync(resolve(FIXTURES, 'models/expected.json'), 'utf8')) as Record<string, Fixture>;
const reference = JSON.parse(readFileSync(resolve(FIXTURES, 'explanation-reference.json'), 'utf8')) as { models: Record<string, ReferenceModel> };

const loadedModels: LoadedModel[] = [];
afterAll(async () => {
  for (const loaded of loadedModels) await loaded.close();
});

async function explainerOf(bytes: Uint8Array, tags: Record<string, string> = {}): Promise<{ explainer: Explainer; loaded: LoadedModel }> {
  const loaded = await new OnnxModelRunner().load(bytes);
  loadedModels.push(loaded);
  const version = { model: 'm', version: 1, signature: loaded.signature, tags, task: modelTask(loaded.signature, tags) } as ModelVersion;
  return { explainer: createExplainer(loaded, version, bytes), loaded };
}

const fixtureBytes = (name: string) => readFileSync(resolve(FIXTURES, 'models', fixtures[name]!.file));
const PLATFORM_BYTES: Record<string, () => Uint8Array> = { 'platform-logistic': binaryClassifierOnnx, 'platform-linear': regressorOnnx };
const objects = (features: string[], rows: readonly unknown[][]) => rows.map((row) => Object.fromEntries(features.map((name, column) => [name, row[column]])));

describe('linear models are explained exactly from the weights in their graph', () => {
  for (const [name, model] of Object.entries(reference.models)) {
    for (const { target, explanations } of model.cases) {
      it(`${name}${target ? ` (target ${target})` : ''}: weight × (value − background mean) on the logit, as numpy computes it`, async () => {
        const { explainer } = await explainerOf(PLATFORM_BYTES[name]?.() ?? fixtureBytes(name));
        expect(explainer.method).toBe('linear');
        expect(explainer.features).toEqual(model.features);
        const answers = await explainer.explain(model.instances, objects(model.features, model.background), target ? { target } : {});
        answers.forEach((answer, index) => {
          const expected = explanations[index]!;
          expect(answer.output).toBe(expected.output);
          expect(answer.scale).toBe(name === 'platform-linear' ? 'value' : 'logit');
          expect(answer.prediction).toBeCloseTo(expected.prediction, 9);
          expect(answer.baseline).toBeCloseTo(expected.baseline, 9);
          for (const [column, feature] of model.features.entries()) expect(answer.attributions[feature]).toBeCloseTo(expected.attributions[column]!, 9);
          expect(sum(answer.attributions)).toBeCloseTo(answer.prediction - answer.baseline, 12);
          expect(answer.errorBound).toBeUndefined();
        });
      });
    }
  }

  it("the logit read from the graph is the model's own: its sigmoid is the probability onnxruntime gives", async () => {
    for (const [name, column] of [
      ['skl2onnx-logreg-binary', 'output_probability'],
      ['opset-13', 'y'],
    ] as const) {
      const fixture = fixtures[name]!;
      const { explainer } = await explainerOf(fixtureBytes(name));
      const instances = fixture.rows.map((row) => Object.values(row)[0] as number[]);
      const answers = await explainer.explain(instances, objects(explainer.features, instances));
      answers.forEach((answer, index) => {
        const probability = fixture.expected[index]![column] as Record<string, number> | number[];
        expect(1 / (1 + Math.exp(-answer.prediction))).toBeCloseTo(Array.isArray(probability) ? probability[0]! : probability['1']!, 6);
      });
    }
  });

  it('a float64 linear regressor explains its value to double precision', async () => {
    const fixture = fixtures['float64-input']!;
    const { explainer } = await explainerOf(fixtureBytes('float64-input'));
    const instances = fixture.rows.map((row) => row.X as number[]);
    const answers = await explainer.explain(instances, objects(explainer.features, instances));
    expect(explainer.method).toBe('linear');
    for (const [index, answer] of answers.entries()) expect(answer.prediction).toBeCloseTo((fixture.expected[index]!.variable as number[])[0]!, 9);
  });
});

const SAMPLED = [
  'skl2onnx-random-forest',
  'skl2onnx-gradient-boosting',
  'skl2onnx-tree-regressor',
  'onnxmltools-xgboost-regressor',
  'onnxmltools-xgboost-classifier',
  'onnxmltools-lightgbm-classifier',
  'skl2onnx-column-transformer',
  'torch-mlp',
];

/** Background rows built column by column from the fixture's own values, so strings and numbers alike stay in range. */
function backgroundOf(features: string[], instances: unknown[][], count: number, seed: number): unknown[][] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => features.map((_, column) => instances[random.integer(instances.length)]![column]));
}

/** The exact Shapley value against the uniform background: every coalition with every background row, through the model. */
async function exactShapley(loaded: LoadedModel, answer: Explanation, features: string[], instance: unknown[], background: unknown[][]): Promise<number[]> {
  const width = features.length;
  const rows = background.flatMap((start) =>
    Array.from({ length: 2 ** width }, (_, mask) => start.map((value, column) => ((mask >> column) & 1 ? instance[column] : value))),
  );
  const scores = await scoreRows(loaded, answer.output, rows);
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  return features.map((_, feature) => {
    let total = 0;
    background.forEach((_, row) => {
      for (let mask = 0; mask < 2 ** width; mask++) {
        if ((mask >> feature) & 1) continue;
        const size = bitCount(mask);
        const weight = (factorial(size) * factorial(width - size - 1)) / factorial(width);
        total += weight * (scores[row * 2 ** width + (mask | (1 << feature))]! - scores[row * 2 ** width + mask]!);
      }
    });
    return total / background.length;
  });
}

/** The explained output (`<tensor>` or `<tensor>.<class>`) for each row, by running the model on them. */
async function scoreRows(loaded: LoadedModel, output: string, rows: unknown[][]): Promise<number[]> {
  const plan = planInputs(loaded.signature, loaded.metadata);
  const { inputs } = decodeInstances(plan, { instances: rows }, { maxBatch: rows.length });
  const [tensor, label] = output.split('.');
  const result = (await loaded.run(inputs))[tensor!]!;
  const columns = result.data.length / rows.length;
  const spec = loaded.signature.outputs.find((candidate) => candidate.name === tensor)!;
  const column = label === undefined ? 0 : (spec.classes ?? modelTask(loaded.signature).classes!).indexOf(label);
  return rows.map((_, row) => Number(result.data[row * columns + column]));
}

function bitCount(mask: number): number {
  let count = 0;
  for (let rest = mask; rest > 0; rest >>= 1) count += rest & 1;
  return count;
}

function sum(values: Record<string, number>): number {
  return Object.values(values).reduce((total, value) => total + value, 0);
}

function instancesOf(name: string, features: string[]): unknown[][] {
  return fixtures[name]!.rows.map((row) => {
    const values = Object.values(row);
    return values.length === 1 ? (values[0] as unknown[]) : features.map((feature) => row[feature]);
  });
}

describe('other models get a sampled Shapley estimate within its stated error bound', () => {
  const coverage: { name: string; inside: number; total: number }[] = [];

  for (const name of SAMPLED) {
    it(`${name}: sums to prediction − baseline, lies within its bound of the exact value, reproducibly`, async () => {
      const { explainer, loaded } = await explainerOf(fixtureBytes(name));
      expect(explainer.method).toBe('sampled_shapley');
      const instances = instancesOf(name, explainer.features);
      const background = backgroundOf(explainer.features, instances, 12, 5);
      const answers = await explainer.explain(instances, objects(explainer.features, background), { samples: 200 });
      let inside = 0;
      for (const [index, answer] of answers.entries()) {
        expect(answer.samples).toBe(200);
        expect(sum(answer.attributions)).toBeCloseTo(answer.prediction - answer.baseline, 12);
        const [own] = await scoreRows(loaded, answer.output, [instances[index]!]);
        expect(answer.prediction).toBeCloseTo(own!, 6);
        const exact = await exactShapley(loaded, answer, explainer.features, instances[index]!, background);
        explainer.features.forEach((feature, column) => {
          if (Math.abs(answer.attributions[feature]! - exact[column]!) <= answer.errorBound![feature]! + 1e-12) inside++;
        });
      }
      coverage.push({ name, inside, total: answers.length * explainer.features.length });
      expect(inside / (answers.length * explainer.features.length)).toBeGreaterThanOrEqual(0.8);
      const again = await explainer.explain(instances.slice(2, 3), objects(explainer.features, background), { samples: 200 });
      expect(again[0]).toEqual(answers[2]);
    });
  }

  it('across all sampled models, at least 90% of the estimates lie within their 95% bound', () => {
    const inside = coverage.reduce((total, entry) => total + entry.inside, 0);
    const total = coverage.reduce((count, entry) => count + entry.total, 0);
    expect(total).toBeGreaterThan(150);
    expect(inside / total).toBeGreaterThanOrEqual(0.9);
  });

  it('the error bound shrinks as 1/sqrt(samples), and another seed draws other permutations', async () => {
    const { explainer } = await explainerOf(fixtureBytes('skl2onnx-random-forest'));
    const instances = instancesOf('skl2onnx-random-forest', explainer.features);
    const background = objects(explainer.features, backgroundOf(explainer.features, instances, 12, 5));
    const meanBound = (answers: Explanation[]) => answers.reduce((total, answer) => total + sum(answer.errorBound!), 0) / answers.length;
    const few = await explainer.explain(instances, background, { samples: 64 });
    const many = await explainer.explain(instances, background, { samples: 1000 });
    expect(meanBound(many) / meanBound(few)).toBeGreaterThan(0.6 * Math.sqrt(64 / 1000));
    expect(meanBound(many) / meanBound(few)).toBeLessThan(1.4 * Math.sqrt(64 / 1000));
    const otherSeed = await explainer.explain(instances, background, { samples: 64, seed: 7 });
    expect(otherSeed[0]!.attributions).not.toEqual(few[0]!.attributions);
  });

  it('a multiclass model explains the predicted class by default, or the class asked for', async () => {
    const { explainer } = await explainerOf(fixtureBytes('onnxmltools-lightgbm-classifier'));
    const instances = instancesOf('onnxmltools-lightgbm-classifier', explainer.features);
    const background = objects(explainer.features, backgroundOf(explainer.features, instances, 12, 5));
    const predicted = fixtures['onnxmltools-lightgbm-classifier']!.expected.map((row) => String(row.label));
    const answers = await explainer.explain(instances, background, { samples: 16 });
    expect(answers.map((answer) => answer.output)).toEqual(predicted.map((label) => `probabilities.${label}`));
    const asked = await explainer.explain(instances, background, { samples: 16, target: '2' });
    expect(asked.every((answer) => answer.output === 'probabilities.2' && answer.scale === 'probability')).toBe(true);
  });
});

describe('bad requests are refused, saying what was wrong', () => {
  it('no background, unreadable background, bad instances, targets and sample counts', async () => {
    const { explainer } = await explainerOf(fixtureBytes('skl2onnx-random-forest'));
    const row = { f0: 0.1, f1: 0.2, f2: 0.3, f3: 0.4 };
    await expect(explainer.explain([[1, 2, 3, 4]], [])).rejects.toMatchObject({ code: 'EXPLAIN.NO_BACKGROUND' });
    await expect(explainer.explain([[1, 2, 3, 4]], [{ f0: 'a', f1: 0, f2: 0, f3: 0 }])).rejects.toMatchObject({
      code: 'MODEL.INVALID_INPUT',
      message: expect.stringMatching(/None of the 1 background rows fits the model\. background\[0\]\.f0: expected a number/),
    });
    await expect(explainer.explain([[1, 2, 3]], [row])).rejects.toMatchObject({
      code: 'MODEL.INVALID_INPUT',
      message: expect.stringContaining('instances[0] has 3 values'),
    });
    await expect(explainer.explain([[1, 2, 3, 4]], [row], { target: 'yes' })).rejects.toMatchObject({
      code: 'REQUEST.INVALID',
      message: expect.stringContaining('"yes" is not a class of this model; its classes are "0", "1"'),
    });
    await expect(explainer.explain([[1, 2, 3, 4]], [row], { samples: 5000 })).rejects.toMatchObject({
      code: 'REQUEST.INVALID',
      message: expect.stringContaining('"samples"'),
    });
    const kept = await explainer.explain([[1, 2, 3, 4]], [row, { ...row, f0: null }], { samples: 8 });
    expect(kept[0]!.baseline).toBeCloseTo(
      (await scoreRows((await explainerOf(fixtureBytes('skl2onnx-random-forest'))).loaded, kept[0]!.output, [Object.values(row)]))[0]!,
      12,
    );
  });

  it('a model with no score to explain is refused when the explainer is made', async () => {
    await expect(explainerOf(fixtureBytes('skl2onnx-random-forest'), { 'output.probabilities': 'none' })).rejects.toMatchObject({
      code: 'EXPLAIN.UNSUPPORTED',
    });
  });
});
