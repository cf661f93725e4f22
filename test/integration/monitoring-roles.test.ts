import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import type { TensorSpec } from '../../shared/domain/model-signature.js';
import type { VersionMonitoring } from '../../shared/domain/monitoring-events.js';
import { outputLayout } from '../../shared/domain/monitoring/performance.js';
import { taskOf } from '../../shared/domain/registry.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { ModelRegistry } from '../../shared/ports/model-registry.port.js';
import type { Row } from '../../shared/ports/warehouse.port.js';
import { measurePerformance } from '../../shared/services/model-performance.js';
import { runMonitoring } from '../../shared/services/monitoring-run.js';
import { recordingBus, registryWith, seeded } from '../support/drift-scenario.js';

// Prediction rows in the form each converter's outputs take in the prediction log (a width-1 output
// is a scalar, [N, C] an array of C numbers, a ZipMap output an object keyed by class), with ground
// truth; every expected metric is computed here from the rows, not by the platform.

const DAY = 86_400_000;
const T0 = new Date('2026-05-01T00:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const CURRENT = { start: at(2 * DAY), end: at(3 * DAY) };
const clock = { now: () => new Date('2026-06-01T00:00:00Z') };
const IRIS = ['Iris setosa', 'Iris versicolor', 'Iris virginica'];
const round4 = (value: number) => Math.round(value * 1e4) / 1e4;

type Outputs = Record<string, unknown>;
/** One labelled prediction: its outputs, the probability of each class (in class order), and the actual label or value. */
interface Case {
  outputs: Outputs;
  probabilities: number[];
  actual: string | number;
}

/** A registry of one model whose version 1 holds `production` and has these signature outputs. */
const registryOf = (model: string, outputs: TensorSpec[]): ModelRegistry => registryWith(model, [{ version: 1, aliases: ['production'], outputs }]);

/** `count` cases per day on day 0 (the launch window) and day 2 (the current window); ground truth for day 2. */
function rowsOf(model: string, cases: (day: number) => Case): { predictions: Row[]; truth: Row[]; current: Case[] } {
  const predictions: Row[] = [];
  const truth: Row[] = [];
  const current: Case[] = [];
  for (const day of [0, 2]) {
    for (let index = 0; index < 300; index++) {
      const made = cases(day);
      const id = `${model}-${day}-${index}`;
      predictions.push({
        prediction_id: id,
        model,
        version: 1,
        request_time: at(day * DAY + index * 60_000).toISOString(),
        features: { x: index },
        outputs: made.outputs,
        latency_ms: 1,
        source: 'online',
      });
      if (day !== 2) continue;
      current.push(made);
      const observed = at(2 * DAY + DAY / 2).toISOString();
      truth.push(
        typeof made.actual === 'number'
          ? { prediction_id: id, label: null, value: made.actual, observed_time: observed }
          : { prediction_id: id, label: made.actual, value: null, observed_time: observed },
      );
    }
  }
  return { predictions, truth, current };
}

/** Binary probabilities [p0, p1] at 4 decimals, the label at 0.5, and an actual class drawn from p1. */
function binaryCase(random: () => number, shift: number): { probabilities: number[]; label: number; actual: string } {
  const positive = round4(Math.min(1, random() * 0.8 + shift));
  return { probabilities: [round4(1 - positive), positive], label: positive >= 0.5 ? 1 : 0, actual: random() < positive ? '1' : '0' };
}

/** Three class probabilities at 4 decimals, and an actual class drawn from them. */
function multiclassCase(random: () => number): { probabilities: number[]; actual: number } {
  const weights = [random() + 0.1, random() + 0.1, random() + 0.1];
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const probabilities = weights.map((weight) => round4(weight / total));
  const u = random();
  const actual = u < probabilities[0]! ? 0 : u < probabilities[0]! + probabilities[1]! ? 1 : 2;
  return { probabilities, actual };
}

const argmax = (values: number[]) => values.indexOf(Math.max(...values));
const share = (cases: Case[], test: (c: Case) => boolean) => cases.filter(test).length / cases.length;

/** Mann-Whitney AUC of `scores` with `positive` marking the positives; ties count half. */
function auc(scores: number[], positive: boolean[]): number {
  let concordant = 0;
  let pairs = 0;
  scores.forEach((p, i) => {
    if (!positive[i]) return;
    scores.forEach((n, j) => {
      if (positive[j]) return;
      pairs++;
      concordant += p > n ? 1 : p === n ? 0.5 : 0;
    });
  });
  return concordant / pairs;
}

/** Mean −ln of the actual class's probability (classes in order), clipped below at 1e-15 as the platform does. */
const logLoss = (cases: Case[], classes: string[]) =>
  cases.reduce((sum, c) => sum - Math.log(Math.max(c.probabilities[classes.indexOf(String(c.actual))]!, 1e-15)), 0) / cases.length;

describe('performance and output drift by output role, over DuckDB', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'monitoring-roles-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
  });

  afterAll(async () => {
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  async function monitor(model: string, outputs: TensorSpec[], cases: (day: number) => Case): Promise<{ version: VersionMonitoring; current: Case[] }> {
    const rows = rowsOf(model, cases);
    await warehouse.insert('predictions', rows.predictions);
    await warehouse.insert('ground_truth', rows.truth);
    const report = await runMonitoring(
      { registry: registryOf(model, outputs), warehouse, bus: recordingBus(), clock },
      { windowHours: 24, windowEnd: CURRENT.end },
    );
    return { version: report.versions[0]!, current: rows.current };
  }

  it('measures a skl2onnx classifier: output_label and output_probability keyed by class', async () => {
    const random = seeded(21);
    const { version, current } = await monitor(
      'skl-binary',
      [
        { name: 'output_label', type: 'int64', shape: [null] },
        { name: 'output_probability', type: 'float32', shape: [null, 2], keyedByClass: true, classes: ['0', '1'] },
      ],
      (day) => {
        const made = binaryCase(random, day === 2 ? 0.2 : 0);
        return { outputs: { output_label: made.label, output_probability: { 0: made.probabilities[0], 1: made.probabilities[1] } }, ...made };
      },
    );
    const predicted = (c: Case) => String(c.outputs.output_label);
    const tp = current.filter((c) => predicted(c) === '1' && c.actual === '1').length;
    const fp = current.filter((c) => predicted(c) === '1' && c.actual === '0').length;
    const fn = current.filter((c) => predicted(c) === '0' && c.actual === '1').length;
    const performance = version.performance;
    expect(performance.labelled).toBe(300);
    expect(performance.accuracy).toBeCloseTo(
      share(current, (c) => predicted(c) === c.actual),
      12,
    );
    expect(performance.precision).toBeCloseTo(tp / (tp + fp), 12);
    expect(performance.recall).toBeCloseTo(tp / (tp + fn), 12);
    expect(performance.log_loss).toBeCloseTo(logLoss(current, ['0', '1']), 9);
    expect(performance.roc_auc).toBeCloseTo(
      auc(
        current.map((c) => c.probabilities[1]!),
        current.map((c) => c.actual === '1'),
      ),
      12,
    );
    const features = Object.fromEntries(version.features.map((feature) => [feature.feature, feature.kind]));
    expect(features).toMatchObject({ 'outputs.output_label': 'categorical', 'outputs.output_probability.1': 'numeric' });
    expect(
      Object.keys(features)
        .filter((name) => name.startsWith('outputs.'))
        .sort(),
    ).toEqual(['outputs.output_label', 'outputs.output_probability.1']);
    expect(version.features.find((feature) => feature.feature === 'outputs.output_probability.1')?.drifted).toBe(true);
  });

  it('measures an onnxmltools classifier: label and a [N, 2] probabilities array', async () => {
    const random = seeded(22);
    const { version, current } = await monitor(
      'onnxml-binary',
      [
        { name: 'label', type: 'int64', shape: [null] },
        { name: 'probabilities', type: 'float32', shape: [null, 2] },
      ],
      () => {
        const made = binaryCase(random, 0);
        return { outputs: { label: made.label, probabilities: made.probabilities }, ...made };
      },
    );
    expect(version.performance.accuracy).toBeCloseTo(
      share(current, (c) => String(c.outputs.label) === c.actual),
      12,
    );
    expect(version.performance.log_loss).toBeCloseTo(logLoss(current, ['0', '1']), 9);
    expect(version.performance.roc_auc).toBeCloseTo(
      auc(
        current.map((c) => c.probabilities[1]!),
        current.map((c) => c.actual === '1'),
      ),
      12,
    );
    expect(version.features.map((feature) => feature.feature)).toEqual(expect.arrayContaining(['outputs.label', 'outputs.probabilities.1']));
    expect(version.skipped.map((skip) => skip.feature)).not.toContain('outputs.probabilities');
  });

  it('measures a multiclass model with text labels: accuracy, macro F1, log loss and one-vs-rest ROC AUC; drifts each class', async () => {
    const random = seeded(23);
    const { version, current } = await monitor(
      'iris',
      [
        { name: 'label', type: 'string', shape: [null] },
        { name: 'probabilities', type: 'float32', shape: [null, 3], classes: IRIS },
        { name: 'embedding', type: 'float32', shape: [null, 2] },
      ],
      () => {
        const made = multiclassCase(random);
        // The label disagrees with the most probable class now and then, so accuracy is read from the label.
        const label = random() < 0.1 ? (argmax(made.probabilities) + 1) % 3 : argmax(made.probabilities);
        return {
          outputs: { label: IRIS[label], probabilities: made.probabilities, embedding: [random(), random()] },
          probabilities: made.probabilities,
          actual: IRIS[made.actual]!,
        };
      },
    );
    const performance = version.performance;
    expect(performance.accuracy).toBeCloseTo(
      share(current, (c) => c.outputs.label === c.actual),
      12,
    );
    const f1s = IRIS.map((label) => {
      const tp = current.filter((c) => c.outputs.label === label && c.actual === label).length;
      const fp = current.filter((c) => c.outputs.label === label && c.actual !== label).length;
      const fn = current.filter((c) => c.outputs.label !== label && c.actual === label).length;
      return (2 * tp) / (2 * tp + fp + fn);
    });
    expect(performance.f1).toBeCloseTo(f1s.reduce((sum, f1) => sum + f1, 0) / 3, 12);
    expect(performance.log_loss).toBeCloseTo(logLoss(current, IRIS), 9);
    const perClass = IRIS.map((label, k) =>
      auc(
        current.map((c) => c.probabilities[k]!),
        current.map((c) => c.actual === label),
      ),
    );
    expect(performance.roc_auc).toBeCloseTo(perClass.reduce((sum, value) => sum + value, 0) / 3, 12);
    const outputs = version.features.filter((feature) => feature.feature.startsWith('outputs.'));
    expect(outputs.map((feature) => [feature.feature, feature.kind])).toEqual([
      ['outputs.label', 'categorical'],
      ['outputs.probabilities.Iris setosa', 'numeric'],
      ['outputs.probabilities.Iris versicolor', 'numeric'],
      ['outputs.probabilities.Iris virginica', 'numeric'],
    ]);
    expect(version.skipped).toContainEqual({ feature: 'outputs.embedding', reason: expect.stringMatching(/object or array output with no role/) });
  });

  it('measures a regressor whose output is skl2onnx’s [N, 1] variable: MAE, RMSE and R²', async () => {
    const random = seeded(24);
    const { version, current } = await monitor('skl-regressor', [{ name: 'variable', type: 'float32', shape: [null, 1] }], () => {
      const value = round4(random() * 10);
      return { outputs: { variable: value }, probabilities: [], actual: round4(value + random() - 0.5) };
    });
    const errors = current.map((c) => (c.outputs.variable as number) - (c.actual as number));
    const actual = current.map((c) => c.actual as number);
    const mean = actual.reduce((sum, value) => sum + value, 0) / actual.length;
    const squares = errors.reduce((sum, error) => sum + error * error, 0);
    expect(version.performance.mae).toBeCloseTo(errors.reduce((sum, error) => sum + Math.abs(error), 0) / errors.length, 12);
    expect(version.performance.rmse).toBeCloseTo(Math.sqrt(squares / errors.length), 12);
    expect(version.performance.r2).toBeCloseTo(1 - squares / actual.reduce((sum, value) => sum + (value - mean) ** 2, 0), 9);
    expect(version.performance.accuracy).toBeUndefined();
    expect(version.features.map((feature) => [feature.feature, feature.kind])).toContainEqual(['outputs.variable', 'numeric']);
  });

  it('takes a probabilities-only model’s label as its most probable class', async () => {
    const random = seeded(25);
    const { version, current } = await monitor('probabilities-only', [{ name: 'probabilities', type: 'float32', shape: [null, 3] }], () => {
      const made = multiclassCase(random);
      return { outputs: { probabilities: made.probabilities }, probabilities: made.probabilities, actual: String(made.actual) };
    });
    expect(version.performance.accuracy).toBeCloseTo(
      share(current, (c) => String(argmax(c.probabilities)) === c.actual),
      12,
    );
    expect(version.performance.log_loss).toBeCloseTo(logLoss(current, ['0', '1', '2']), 9);
  });

  it('skips what a keyed output with a class label a JSONPath cannot name would need, and says why', async () => {
    const random = seeded(26);
    const outputs: TensorSpec[] = [
      { name: 'output_label', type: 'string', shape: [null] },
      { name: 'output_probability', type: 'float32', shape: [null, 3], keyedByClass: true, classes: IRIS },
    ];
    const { version, current } = await monitor('iris-zipmap', outputs, () => {
      const made = multiclassCase(random);
      const keyed = Object.fromEntries(IRIS.map((label, k) => [label, made.probabilities[k]]));
      return {
        outputs: { output_label: IRIS[argmax(made.probabilities)], output_probability: keyed },
        probabilities: made.probabilities,
        actual: IRIS[made.actual]!,
      };
    });
    expect(version.performance.accuracy).toBeCloseTo(
      share(current, (c) => c.outputs.output_label === c.actual),
      12,
    );
    expect(version.performance.log_loss).toBeUndefined();
    expect(version.skipped).toContainEqual({ feature: 'outputs.output_probability.Iris setosa', reason: expect.stringMatching(/keyed by class.*JSONPath/) });
    const registered = await registryOf('iris-zipmap', outputs).getVersion('iris-zipmap', 1);
    const task = taskOf(registered!);
    const measured = await measurePerformance(warehouse, { model: 'iris-zipmap', version: 1, ...CURRENT }, task, outputLayout(outputs, task));
    expect(measured.skipped).toEqual([
      { metric: 'roc_auc, log_loss', reason: expect.stringMatching(/keyed by class and class label "Iris setosa" cannot be named/) },
    ]);
  });

  it('gives a model whose task is other the counts only', async () => {
    const { version } = await monitor('opaque', [{ name: 'dense_1', type: 'float32', shape: [null, 4] }], () => ({
      outputs: { dense_1: [0.1, 0.2, 0.3, 0.4] },
      probabilities: [],
      actual: '1',
    }));
    expect(version.performance).toEqual({ predictions: 300, labelled: 300, labelled_share: 1 });
    expect(version.skipped).toContainEqual({ feature: 'outputs.dense_1', reason: expect.stringMatching(/no role/) });
  });
});
