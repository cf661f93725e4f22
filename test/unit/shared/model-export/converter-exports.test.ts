import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxModelRunner } from '../../../../shared/adapters/onnx/index.js';
import { modelTask } from '../../../../shared/domain/model-task.js';
import { planInputs } from '../../../../shared/domain/serving/input-plan.js';
import { decodeInstances, encodePredictions, outputsPerInstance } from '../../../../shared/domain/serving/predict-codec.js';
import type { LoadedModel } from '../../../../shared/ports/model-runner.port.js';
import { FIXTURES } from '../../../support/paths.js';

// Models in the exact shapes skl2onnx, onnxmltools, torch.onnx and tf2onnx write, with every
// output computed by numpy: scripts/fixtures/converter_models.py writes both.
const MODELS = pathToFileURL(`${FIXTURES}/models/`);

interface Fixture {
  file: string;
  converter: string;
  task: string;
  classes?: string[];
  outputs: { label?: string; probabilities?: string; score?: string };
  inputs: Record<string, { type: string; shape: (number | null)[] }>;
  rows: Record<string, unknown>[];
  expected: Record<string, unknown>[];
}

const fixtures = JSON.parse(readFileSync(new URL('expected.json', MODELS), 'utf8')) as Record<string, Fixture>;
const bytesOf = (file: string) => new Uint8Array(readFileSync(new URL(file, MODELS)));
const runner = new OnnxModelRunner();
const loaded: LoadedModel[] = [];
const load = async (file: string) => {
  const model = await runner.load(bytesOf(file));
  loaded.push(model);
  return model;
};

afterAll(async () => {
  await Promise.all(loaded.map((model) => model.close()));
});

/**
 * Equal up to a relative tolerance of 1e-5 on every number, same keys and lengths everywhere else.
 * numpy gives a [N, 1] output's row as [x]; /predict answers one value per instance as the value.
 */
function expectClose(actual: unknown, expected: unknown, path: string): void {
  if (Array.isArray(expected) && expected.length === 1 && !Array.isArray(actual)) expectClose(actual, expected[0], path);
  else if (typeof expected === 'number') {
    expect(typeof actual, path).toBe('number');
    expect(Math.abs((actual as number) - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(expected)));
  } else if (Array.isArray(expected)) {
    expect(Array.isArray(actual) && actual.length, path).toBe(expected.length);
    for (const [index, item] of expected.entries()) expectClose((actual as unknown[])[index], item, `${path}[${index}]`);
  } else if (expected !== null && typeof expected === 'object') {
    expect(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${path} is an object`).toBe(true);
    expect(Object.keys(actual as object).sort(), path).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) expectClose((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
  } else expect(actual, path).toEqual(expected);
}

const servable = Object.entries(fixtures);

describe('models as the converters export them', () => {
  it('covers every converter and opsets 7 to 21', () => {
    expect(new Set(servable.map(([, fixture]) => fixture.converter))).toEqual(new Set(['skl2onnx', 'onnxmltools', 'torch.onnx', 'tf2onnx', 'onnx']));
    expect(servable.filter(([name]) => name.startsWith('opset-')).map(([name]) => Number(name.slice(6)))).toEqual([7, 9, 11, 13, 15, 17, 19, 21]);
  });

  it.each(servable)('%s answers /predict with what numpy computed', async (_name, fixture) => {
    const model = await load(fixture.file);
    const plan = planInputs(model.signature, model.metadata);
    const { inputs, count } = decodeInstances(plan, { instances: fixture.rows }, { maxBatch: 100 });
    const outputs = await model.run(inputs);
    expectClose(outputsPerInstance(model.signature, outputs, count), fixture.expected, 'predictions');
    const answer = encodePredictions(model.signature, outputs, count);
    expect(answer).toHaveLength(fixture.rows.length);
  });

  it.each(servable)('%s is read as the task it is, each output in its role', async (_name, fixture) => {
    const model = await load(fixture.file);
    const task = modelTask(model.signature);
    expect(task.kind).toBe(fixture.task);
    if (fixture.classes) expect(task.classes).toEqual(fixture.classes);
    expect({ label: task.label, probabilities: task.probabilities, score: task.score }).toEqual({
      label: fixture.outputs.label,
      probabilities: fixture.outputs.probabilities,
      score: fixture.outputs.score,
    });
  });

  it('serves a ZipMap classifier through the probability tensor behind it, keyed by class, and records the derivation', async () => {
    const fixture = fixtures['skl2onnx-logreg-multiclass-strings']!;
    const upload = bytesOf(fixture.file);
    const model = await load(fixture.file);
    const probabilities = model.signature.outputs.find((output) => output.name === 'output_probability');
    expect(probabilities).toMatchObject({ type: 'float32', shape: [null, 3], classes: ['setosa', 'versicolor', 'virginica'], keyedByClass: true });
    expect(model.served.derived).toBe(true);
    expect(model.served.sha256).not.toBe(createHash('sha256').update(upload).digest('hex'));
    expect(model.served.changes.join(' ')).toMatch(/output_probability: ZipMap removed/);
    const { inputs, count } = decodeInstances(planInputs(model.signature, model.metadata), { instances: fixture.rows.slice(0, 1) }, { maxBatch: 1 });
    const [row] = encodePredictions(model.signature, await model.run(inputs), count) as Record<string, Record<string, number>>[];
    expect(Object.keys(row!.output_probability!)).toEqual(['setosa', 'versicolor', 'virginica']);
    // The upload is read, never changed.
    expect(bytesOf(fixture.file)).toEqual(upload);
  });

  it('serves a model that is all tensors as uploaded', async () => {
    const fixture = fixtures['onnxmltools-xgboost-classifier']!;
    const model = await load(fixture.file);
    expect(model.served).toEqual({ sha256: createHash('sha256').update(bytesOf(fixture.file)).digest('hex'), derived: false, changes: [] });
    expect(model.signature.outputs.find((output) => output.name === 'probabilities')).toMatchObject({ classes: ['0', '1'] });
    expect(model.signature.outputs.find((output) => output.name === 'probabilities')?.keyedByClass).toBeUndefined();
  });

  it('refuses a model whose tensors live outside the file, without reading any other file', async () => {
    await expect(runner.load(bytesOf('external-data.onnx'))).rejects.toMatchObject({
      code: 'MODEL.LOAD_FAILED',
      permanent: true,
      message: expect.stringMatching(/stored outside the file \(external data 'weights\.bin'\).*save_as_external_data=False/),
    });
  });

  it('refuses a sequence output with no tensor behind it, saying what to do', async () => {
    await expect(runner.load(bytesOf('sequence-output.onnx'))).rejects.toMatchObject({
      code: 'MODEL.LOAD_FAILED',
      message: expect.stringMatching(/output '.+' is a sequence of tensors with no tensor behind it.*Export the model so every output is a tensor/),
    });
  });
});

describe('tags declare what inference cannot know', () => {
  it('takes task, classes and output roles from tags', async () => {
    const model = await load(fixtures['torch-two-inputs']!.file);
    const task = modelTask(model.signature, { task: 'binary', classes: 'stay,churn', 'output.score': 'logits' });
    expect(task).toMatchObject({ kind: 'binary', classes: ['stay', 'churn'], score: 'logits', fromTags: ['classes', 'output.score', 'task'] });
  });

  it('refuses a tag naming an output the model does not have, listing the outputs it has', async () => {
    const model = await load(fixtures['skl2onnx-logreg-binary']!.file);
    expect(() => modelTask(model.signature, { 'output.label': 'predicted' })).toThrow(
      /tag output\.label=predicted names no output of the model; its outputs are 'output_label', 'output_probability'/,
    );
  });

  it('refuses classes that do not fit the probability columns', async () => {
    const model = await load(fixtures['onnxmltools-lightgbm-classifier']!.file);
    expect(() => modelTask(model.signature, { classes: 'a,b' })).toThrow(/'probabilities' has 3 columns but 2 classes are named/);
    expect(() => modelTask(model.signature, { task: 'ranking' })).toThrow(/task=ranking is not a task; use one of binary, multiclass, regression, other/);
  });
});
