import { PlatformError, isPlatformError } from '../domain/errors.js';
import {
  type ExplainSettings,
  type ExplainedOutput,
  argmax,
  explainSettings,
  explainedOutput,
  outputName,
  targetIndex,
} from '../domain/explain/explained-output.js';
import { type LinearScore, columnMeans, linearAttribution } from '../domain/explain/linear-attribution.js';
import { type ShapleyPlan, planSampledShapley } from '../domain/explain/permutation-shapley.js';
import { seededRandom } from '../domain/random.js';
import type { Tensor } from '../domain/model-signature.js';
import { type ModelVersion, taskOf } from '../domain/registry.js';
import { type InputPlan, featureNames, planInputs } from '../domain/serving/input-plan.js';
import { decodeInstances } from '../domain/serving/predict-codec.js';
import { type LinearModel, linearModelOf } from '../model-export/linear-model.js';
import type { LoadedModel } from '../ports/model-runner.port.js';

/** How an explanation was computed. */
export type ExplainMethod = 'linear' | 'sampled_shapley';

/** One instance's per-feature attributions of one model output. */
export interface Explanation {
  /** The output explained: `<output>` for a value, `<output>.<class>` for a class's score. */
  output: string;
  /** logit (a linear classifier's decision function), probability, or value. */
  scale: 'logit' | 'probability' | 'value';
  /** The model's score for the instance on that scale. */
  prediction: number;
  /** The score the attributions start from: at the background mean (linear) or the background's mean score (sampled). */
  baseline: number;
  /** Per feature name; they sum to prediction − baseline (to float rounding). */
  attributions: Record<string, number>;
  method: ExplainMethod;
  /** Sampled only: permutations drawn, and each feature's 95% error bound (1.96 standard errors). */
  samples?: number;
  errorBound?: Record<string, number>;
}

/** What to explain and how precisely. */
export interface ExplainOptions {
  /** Permutations per instance (sampled method); default 64, at most 1000. */
  samples?: number;
  /** The class whose score is explained; default the binary task's positive class, or the predicted class. */
  target?: string;
  /** Seed of the sampled estimate, so an answer can be reproduced; default fixed. */
  seed?: number;
}

/** Explains one loaded model version's predictions. */
export interface Explainer {
  readonly method: ExplainMethod;
  /** The feature names, as /predict takes them by name. */
  readonly features: string[];
  /**
   * instances as /predict's `instances` items (arrays or objects; validated like /predict, a 400
   * naming the fault); background = feature objects (the `features` JSON of predictions or
   * offline_features rows), at least one, else PlatformError EXPLAIN.NO_BACKGROUND.
   * Batches model runs (all of one instance's permutations in one or a few session runs).
   */
  explain(instances: unknown[], background: Record<string, unknown>[], options?: ExplainOptions): Promise<Explanation[]>;
}

/** Most instances one call explains, as /predict caps a batch. */
export const MAX_EXPLAINED_INSTANCES = 1000;
// Rows per session run: large enough to batch many instances' permutations, small enough to bound memory.
const ROWS_PER_RUN = 4096;

/**
 * An explainer for a loaded version: exact attributions of the logit (or value) when the graph
 * is linear in its one input ({@link linearModelOf}), else sampled Shapley values of the explained
 * output. Throws EXPLAIN.UNSUPPORTED when no output holds a score to explain.
 */
export function createExplainer(loaded: LoadedModel, version: ModelVersion, modelBytes: Uint8Array): Explainer {
  const plan = planInputs(loaded.signature, loaded.metadata, version.tags);
  const output = explainedOutput(taskOf(version));
  const linear = linearModelOf(modelBytes);
  if (linear && fitsLinear(linear, plan, output)) return new LinearExplainer(plan, output, linear);
  return new SampledExplainer(plan, output, loaded);
}

// The graph's scores must be the explained output's: a classifier's class logits, or the value.
function fitsLinear(linear: LinearModel, plan: InputPlan, output: ExplainedOutput): boolean {
  if (plan.layout !== 'matrix' || plan.tensors[0]!.name !== linear.input || plan.slots.length !== linear.width) return false;
  if (!output.classes) return linear.kind === 'regressor' && linear.scores.length === 1;
  const binary = output.classes.length === 2 && linear.scores.length === 1;
  return linear.kind === 'classifier' && (binary || linear.scores.length === output.classes.length);
}

/** What both methods share: reading instances and background rows into values in feature order. */
abstract class BaseExplainer implements Explainer {
  abstract readonly method: ExplainMethod;
  readonly features: string[];
  private readonly readable: InputPlan;

  constructor(
    protected readonly plan: InputPlan,
    protected readonly output: ExplainedOutput,
  ) {
    this.features = featureNames(plan);
    // A model's fixed batch size applies to its runs (padded), not to how many instances one call explains.
    this.readable = { ...plan, fixedBatch: undefined };
  }

  async explain(instances: unknown[], background: Record<string, unknown>[], options: ExplainOptions = {}): Promise<Explanation[]> {
    const settings = explainSettings(options);
    if (options.target !== undefined) targetIndex(this.output, options.target);
    const rows = this.rowsOf(decodeInstances(this.readable, { instances }, { maxBatch: MAX_EXPLAINED_INSTANCES }).features);
    return this.explainRows(rows, this.backgroundRows(background), settings);
  }

  protected abstract explainRows(rows: unknown[][], background: unknown[][], settings: ExplainSettings): Promise<Explanation[]>;

  private rowsOf(records: Record<string, unknown>[]): unknown[][] {
    return records.map((record) => this.features.map((name) => record[name]));
  }

  /** The background rows the model can take; rows it cannot (a logged null, a stray type) are left out. */
  private backgroundRows(background: Record<string, unknown>[]): unknown[][] {
    if (!Array.isArray(background) || background.length === 0) {
      throw new PlatformError(
        'EXPLAIN.NO_BACKGROUND',
        'Explanations need background rows (feature objects from the reference) to start from, and none were given.',
      );
    }
    const rows: unknown[][] = [];
    let firstFault: PlatformError | undefined;
    background.forEach((row, index) => {
      try {
        rows.push(...this.rowsOf(decodeInstances(this.readable, { instances: [this.projected(row)] }, { maxBatch: 1 }).features));
      } catch (error) {
        if (!isPlatformError(error, 'MODEL.INVALID_INPUT')) throw error;
        firstFault ??= new PlatformError('MODEL.INVALID_INPUT', error.message.replace(/^instances\[0\]/, `background[${index}]`));
      }
    });
    if (rows.length > 0) return rows;
    throw new PlatformError('MODEL.INVALID_INPUT', `None of the ${background.length} background rows fits the model. ${firstFault!.message}`);
  }

  // A features record may carry more keys than the model takes (an offline_features row): keep the model's.
  private projected(row: Record<string, unknown>): Record<string, unknown> {
    if (typeof row !== 'object' || row === null || !this.features.every((name) => Object.hasOwn(row, name))) return row;
    return Object.fromEntries(this.features.map((name) => [name, row[name]]));
  }

  protected keyed(values: readonly number[]): Record<string, number> {
    return Object.fromEntries(this.features.map((name, column) => [name, values[column]!]));
  }
}

/** Exact attributions of a linear model's logit or value against the background's mean: no model run at all. */
class LinearExplainer extends BaseExplainer {
  readonly method = 'linear';

  constructor(
    plan: InputPlan,
    output: ExplainedOutput,
    private readonly linear: LinearModel,
  ) {
    super(plan, output);
  }

  protected async explainRows(rows: unknown[][], background: unknown[][], { target }: ExplainSettings): Promise<Explanation[]> {
    const mean = columnMeans(background as number[][]);
    return (rows as number[][]).map((row) => {
      const index = targetIndex(this.output, target) ?? (this.output.classes ? argmax(this.linear.scores.map((score) => logit(score, row))) : undefined);
      const { prediction, baseline, attributions } = linearAttribution(this.scoreOf(index), row, mean);
      const scale = this.output.classes ? 'logit' : 'value';
      return { output: outputName(this.output, index), scale, prediction, baseline, attributions: this.keyed(attributions), method: this.method };
    });
  }

  // A binary model with one score scores the positive class; the other class's logit is its negation.
  private scoreOf(index: number | undefined): LinearScore {
    const { scores } = this.linear;
    if (index === undefined || scores.length > 1) return scores[index ?? 0]!;
    const [only] = scores;
    return index === 1 ? only! : { weights: only!.weights.map((weight) => -weight), intercept: -only!.intercept };
  }
}

function logit({ weights, intercept }: LinearScore, row: readonly number[]): number {
  return weights.reduce((total, weight, column) => total + weight * row[column]!, intercept);
}

type Planned = { plan: ShapleyPlan<unknown>; first: number };

/** Sampled Shapley values: each instance's coalition rows are scored by the model in a few large runs. */
class SampledExplainer extends BaseExplainer {
  readonly method = 'sampled_shapley';

  constructor(
    plan: InputPlan,
    output: ExplainedOutput,
    private readonly loaded: LoadedModel,
  ) {
    super(plan, output);
  }

  protected async explainRows(rows: unknown[][], background: unknown[][], settings: ExplainSettings): Promise<Explanation[]> {
    const explanations: Explanation[] = [];
    let pending: Planned[] = [];
    let pendingRows = 0;
    for (let index = 0; index < rows.length; index++) {
      // Each instance draws from a stream of its own values, so its answer does not depend on what else was sent with it.
      const random = seededRandom(streamSeed(settings.seed, rows[index]!));
      const plan = planSampledShapley(rows[index]!, background, settings.samples / 2, random);
      pending.push({ plan, first: pendingRows });
      pendingRows += plan.rows.length;
      if (pendingRows >= ROWS_PER_RUN || index === rows.length - 1) {
        explanations.push(...(await this.score(pending, settings)));
        pending = [];
        pendingRows = 0;
      }
    }
    return explanations;
  }

  private async score(pending: Planned[], settings: ExplainSettings): Promise<Explanation[]> {
    const { data, width } = await this.run(pending.flatMap(({ plan }) => plan.rows));
    return pending.map(({ plan, first }) => {
      const scoresOf = (column: number) => columnScores(data, width, first, plan.rows.length, column);
      const index = targetIndex(this.output, settings.target) ?? this.predictedClass(data, width, first);
      const estimate = plan.estimate(this.output.classes && width === 1 ? complemented(scoresOf(0), index!) : scoresOf(index ?? 0));
      return {
        output: outputName(this.output, index),
        scale: this.output.classes ? 'probability' : 'value',
        prediction: estimate.prediction,
        baseline: estimate.baseline,
        attributions: this.keyed(estimate.attributions),
        method: this.method,
        samples: settings.samples,
        errorBound: this.keyed(estimate.errorBound),
      };
    });
  }

  // A multiclass model's predicted class is the instance's largest probability (the plan's first row).
  private predictedClass(data: ArrayLike<number>, width: number, first: number): number | undefined {
    if (!this.output.classes) return undefined;
    return argmax(Array.from({ length: width }, (_, column) => data[first * width + column]!));
  }

  /** The explained output for every row, in runs of at most ROWS_PER_RUN (or the model's fixed batch, padded). */
  private async run(rows: unknown[][]): Promise<{ data: number[]; width: number }> {
    const size = this.plan.fixedBatch ?? ROWS_PER_RUN;
    const data: number[] = [];
    let width = 1;
    for (let start = 0; start < rows.length; start += size) {
      const chunk = rows.slice(start, start + size);
      const padded = this.plan.fixedBatch ? [...chunk, ...new Array(size - chunk.length).fill(chunk.at(-1))] : chunk;
      const outputs = await this.loaded.run(this.tensorsOf(padded));
      const tensor = outputs[this.output.tensor];
      if (!tensor) throw new Error(`The model returned no output '${this.output.tensor}'.`);
      width = tensor.data.length / padded.length;
      for (let index = 0; index < chunk.length * width; index++) data.push(Number(tensor.data[index]));
    }
    return { data, width };
  }

  private tensorsOf(rows: unknown[][]): Record<string, Tensor> {
    const columns: unknown[][] = this.plan.tensors.map(() => []);
    const { slots } = this.plan;
    for (const row of rows) for (let position = 0; position < slots.length; position++) columns[slots[position]!.tensor]!.push(row[position]);
    const inputs: Record<string, Tensor> = {};
    this.plan.tensors.forEach(({ name, type, rank, width }, tensor) => {
      inputs[name] = { type, shape: rank === 1 ? [rows.length] : [rows.length, width], data: columns[tensor] as Tensor['data'] };
    });
    return inputs;
  }
}

function columnScores(data: readonly number[], width: number, first: number, count: number, column: number): number[] {
  return Array.from({ length: count }, (_, row) => data[(first + row) * width + column]!);
}

// A binary model with one probability output gives the positive class's; the negative class's is its complement.
function complemented(scores: number[], index: number): number[] {
  return index === 1 ? scores : scores.map((score) => 1 - score);
}

// FNV-1a over the instance's JSON, mixed with the request's seed.
function streamSeed(seed: number, row: readonly unknown[]): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0) ^ Math.floor(seed / 2 ** 32);
  for (const character of JSON.stringify(row)) hash = Math.imul(hash ^ character.charCodeAt(0), 0x01000193);
  return hash >>> 0;
}
