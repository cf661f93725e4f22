import { PlatformError } from '../errors.js';
import type { ModelTask } from '../model-task.js';

/** Permutations drawn per instance when a request names none, and the most one may ask for. */
export const DEFAULT_SAMPLES = 64;
export const MAX_SAMPLES = 1000;
/** Two antithetic pairs: the fewest that give a standard error. */
export const MIN_SAMPLES = 4;
/** The seed of a sampled estimate when a request names none, so the same request gets the same answer. */
export const DEFAULT_SEED = 19;

/** The model output an explanation scores: a class's column of a classifier's probabilities, or a value. */
export interface ExplainedOutput {
  /** The output tensor read. */
  tensor: string;
  /** A classifier's classes, in column order; absent for a value. */
  classes?: string[];
  /** The class explained when a request names none: a binary task's positive class; absent: the predicted class (or a value). */
  defaultClass?: string;
}

/** What a sampled or linear estimate needs of a request's options, checked. */
export interface ExplainSettings {
  /** An even number: the permutations are drawn in antithetic pairs. */
  samples: number;
  seed: number;
  target?: string;
}

/** The output explained for a task; throws EXPLAIN.UNSUPPORTED when no output holds a score to explain. */
export function explainedOutput(task: ModelTask): ExplainedOutput {
  if (task.kind === 'binary' || task.kind === 'multiclass') {
    const tensor = task.probabilities ?? (task.kind === 'binary' ? task.score : undefined);
    if (!tensor || !task.classes) {
      throw unsupported(
        `this ${task.kind} classifier has no output of class probabilities or scores; explanations need one (tag output.probabilities=<output>)`,
      );
    }
    return { tensor, classes: task.classes, defaultClass: task.kind === 'binary' ? task.classes[1] : undefined };
  }
  if (!task.score) throw unsupported('no output holds one number per instance to explain (tag output.score=<output> and task=regression)');
  return { tensor: task.score };
}

/** The name an explanation gives its output: `<output>` for a value, `<output>.<class>` for a class's score. */
export function outputName(output: ExplainedOutput, classIndex: number | undefined): string {
  return classIndex === undefined ? output.tensor : `${output.tensor}.${output.classes![classIndex]}`;
}

/**
 * The column of the class a request explains: the named target, else the default class; undefined
 * for a value, or when the predicted class is to be explained. A target the model does not have is a 400.
 */
export function targetIndex(output: ExplainedOutput, target: string | undefined): number | undefined {
  const wanted = target ?? output.defaultClass;
  if (wanted === undefined) return undefined;
  if (!output.classes) throw invalid(`"target" is ${JSON.stringify(target)}, but this model predicts a value and has no classes; leave "target" out.`);
  const index = output.classes.indexOf(wanted);
  if (index < 0)
    throw invalid(
      `"target" ${JSON.stringify(wanted)} is not a class of this model; its classes are ${output.classes.map((name) => JSON.stringify(name)).join(', ')}.`,
    );
  return index;
}

/** The index of the largest score (the first of equals): the predicted class. */
export function argmax(scores: readonly number[]): number {
  let best = 0;
  for (let index = 1; index < scores.length; index++) if (scores[index]! > scores[best]!) best = index;
  return best;
}

/** Checks a request's options and fills in the defaults; an odd sample count is rounded up to whole pairs. */
export function explainSettings({
  samples = DEFAULT_SAMPLES,
  seed = DEFAULT_SEED,
  target,
}: {
  samples?: unknown;
  seed?: unknown;
  target?: unknown;
}): ExplainSettings {
  if (typeof samples !== 'number' || !Number.isInteger(samples) || samples < MIN_SAMPLES || samples > MAX_SAMPLES) {
    throw invalid(
      `"samples" must be a whole number from ${MIN_SAMPLES} to ${MAX_SAMPLES} (permutations per instance; default ${DEFAULT_SAMPLES}), got ${JSON.stringify(samples)}.`,
    );
  }
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw invalid(`"seed" must be a whole number, got ${JSON.stringify(seed)}.`);
  if (target !== undefined && (typeof target !== 'string' || target === '')) {
    throw invalid(`"target" must name one of the model's classes as text, got ${JSON.stringify(target)}.`);
  }
  return { samples: samples + (samples % 2), seed, target };
}

function unsupported(reason: string): PlatformError {
  return new PlatformError('EXPLAIN.UNSUPPORTED', `This model cannot be explained: ${reason}.`);
}

function invalid(message: string): PlatformError {
  return new PlatformError('REQUEST.INVALID', message);
}
