import type { ModelSignature, TensorElementType, TensorSpec } from '../../ports/model-runner.port.js';
import { PlatformError } from '../errors.js';

// Same key as shared/model-export/onnx-writer.ts, which the domain may not import (it pulls in onnx-proto).
const FEATURE_NAMES_KEY = 'feature_names';

/** How a JSON value is checked for one element type; precomputed so the hot loop does no lookups. */
export interface ValueRule {
  type: TensorElementType;
  kind: 'float' | 'integer' | 'boolean' | 'string';
  min: number;
  max: number;
}

/** One value of an instance: the name it is keyed by, its rule, and which planned tensor receives it. */
export interface InputSlot {
  name: string;
  rule: ValueRule;
  tensor: number;
}

/** A tensor assembled from instances: rank 1 is [count], rank 2 is [count, width]. */
export interface PlannedTensor {
  name: string;
  type: TensorElementType;
  rank: 1 | 2;
  width: number;
}

/**
 * How `/predict` instances map onto a model's inputs, computed once per model.
 * `matrix`: one [batch, F] input, one slot per feature; `columns`: one [batch] or [batch, 1] input per slot.
 */
export interface InputPlan {
  layout: 'matrix' | 'columns';
  /** One slot per value of an instance, in array order. */
  slots: readonly InputSlot[];
  tensors: readonly PlannedTensor[];
  /** False for a matrix model without usable `feature_names`: its instances must be arrays. */
  acceptsObjects: boolean;
  /** Set when the model's batch dimension is fixed: each request must then carry exactly that many instances. */
  fixedBatch: number | undefined;
}

const FLOAT_LIMITS: Partial<Record<TensorElementType, number>> = { float16: 65504, float32: 3.4028234663852886e38, float64: Number.MAX_VALUE };
// int64 travels as a JSON number, so only integers a double holds exactly are accepted.
const INTEGER_RANGES: Partial<Record<TensorElementType, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Works out once how instances fill the model's inputs; throws MODEL.LOAD_FAILED for a model `/predict` cannot feed. */
export function planInputs(signature: ModelSignature, metadata: Record<string, string>): InputPlan {
  const [first, ...others] = signature.inputs;
  if (!first) throw notServable('the model declares no inputs');
  const fixedBatch = commonFixedBatch(signature.inputs);
  if (others.length === 0 && first.shape.length === 2) return { ...matrixPlan(first, metadata), fixedBatch };
  return { ...columnsPlan(signature.inputs), fixedBatch };
}

/** The names instances are keyed by, for logging: feature names, input names, or f0..fN-1. */
export function featureNames(plan: InputPlan): string[] {
  return plan.slots.map((slot) => slot.name);
}

/** The rule that decides which JSON values an element of `type` accepts. */
export function valueRule(type: TensorElementType): ValueRule {
  if (type === 'bool' || type === 'string') return { type, kind: type === 'bool' ? 'boolean' : 'string', min: 0, max: 0 };
  const limit = FLOAT_LIMITS[type];
  if (limit !== undefined) return { type, kind: 'float', min: -limit, max: limit };
  const [min, max] = INTEGER_RANGES[type] ?? [0, 0];
  return { type, kind: 'integer', min, max };
}

/** True when `value` may be stored as an element under `rule`. NaN fails the range comparison. */
export function accepts(rule: ValueRule, value: unknown): boolean {
  switch (rule.kind) {
    case 'float':
      return typeof value === 'number' && value >= rule.min && value <= rule.max;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= rule.min && value <= rule.max;
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return typeof value === 'string';
  }
}

/** Says what `rule` expected and what came instead, with a hint on how to fix it. */
export function refusal(rule: ValueRule, value: unknown): string {
  return `expected ${expectation(rule)}, got ${describeValue(value)}${hint(rule, value)}`;
}

/** Names a JSON value the way an error message should show it. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'boolean') return `the boolean ${value}`;
  return String(value);
}

/** Lists names for a message, eliding the middle of long lists. */
export function listNames(names: readonly string[]): string {
  const shown = names.length > 12 ? [...names.slice(0, 10), `… ${names.length - 11} more …`, names.at(-1)] : names;
  return shown.map((name) => `'${name}'`).join(', ');
}

function expectation({ type, kind, min, max }: ValueRule): string {
  if (kind === 'float') return `a number within ${type} range (±${max})`;
  if (kind === 'integer') return `an integer from ${min} to ${max} (${type})`;
  return kind === 'boolean' ? 'true or false (bool)' : 'a string';
}

function hint({ kind }: ValueRule, value: unknown): string {
  if (value === null) return ' (missing values are not accepted: impute or drop them before sending)';
  if (typeof value === 'string' && kind !== 'string') return ' (send values as JSON numbers or booleans, not strings)';
  if (typeof value === 'object') return ' (each position takes a single value)';
  return '';
}

function matrixPlan(input: TensorSpec, metadata: Record<string, string>): Omit<InputPlan, 'fixedBatch'> {
  const width = input.shape[1];
  if (width === null || width === undefined) {
    throw notServable(`input '${input.name}' has a dynamic feature dimension ${shapeText(input)}; it needs a fixed number of features`);
  }
  if (input.type === 'string') throw notServable(`input '${input.name}' is a string matrix; string features are supported only as one input per feature`);
  const names = readFeatureNames(metadata, width);
  const rule = valueRule(input.type);
  const slots = Array.from({ length: width }, (_, index) => ({ name: names?.[index] ?? `f${index}`, rule, tensor: 0 }));
  return { layout: 'matrix', slots, tensors: [{ name: input.name, type: input.type, rank: 2, width }], acceptsObjects: names !== undefined };
}

function columnsPlan(inputs: readonly TensorSpec[]): Omit<InputPlan, 'fixedBatch'> {
  for (const input of inputs) {
    const { length: rank } = input.shape;
    if (rank !== 1 && !(rank === 2 && input.shape[1] === 1)) {
      const why =
        inputs.length > 1 ? 'with several inputs, each must be [batch] or [batch, 1]' : 'its only input must be [batch, features], [batch] or [batch, 1]';
      throw notServable(`input '${input.name}' has shape ${shapeText(input)}; ${why}`);
    }
  }
  const slots = inputs.map((input, tensor) => ({ name: input.name, rule: valueRule(input.type), tensor }));
  const tensors = inputs.map(({ name, type, shape }) => ({ name, type, rank: shape.length === 1 ? (1 as const) : (2 as const), width: 1 }));
  return { layout: 'columns', slots, tensors, acceptsObjects: true };
}

function commonFixedBatch(inputs: readonly TensorSpec[]): number | undefined {
  const fixed = new Set(inputs.map((input) => input.shape[0]).filter((size) => typeof size === 'number'));
  if (fixed.size > 1) throw notServable(`its inputs disagree on the batch dimension (${[...fixed].join(' vs ')})`);
  return fixed.values().next().value;
}

// Metadata that is malformed or of the wrong length is ignored: objects are then refused with a hint to send arrays.
function readFeatureNames(metadata: Record<string, string>, width: number): string[] | undefined {
  const raw = metadata[FEATURE_NAMES_KEY];
  if (raw === undefined) return undefined;
  let names: unknown;
  try {
    names = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(names) || names.length !== width || !names.every((name) => typeof name === 'string')) return undefined;
  return new Set(names).size === width ? names : undefined;
}

function shapeText({ shape }: TensorSpec): string {
  return `[${shape.map((size) => size ?? '?').join(', ')}]`;
}

function notServable(reason: string): PlatformError {
  return new PlatformError('MODEL.LOAD_FAILED', `This model cannot be served by /predict: ${reason}.`);
}
