import { PlatformError } from '../errors.js';
import { FEATURE_NAMES_METADATA_KEY, type ModelSignature, type TensorElementType, type TensorSpec } from '../model-signature.js';
import { NAN_LIKE_TEXTS } from '../quality/quality-settings.js';

/** How a JSON value is checked for one element type; precomputed so the hot loop does no lookups. */
export interface ValueRule {
  type: TensorElementType;
  kind: 'float' | 'integer' | 'boolean' | 'string';
  min: number;
  max: number;
  /** A float input of a model that takes missing values: null and NaN-like texts go in as NaN (see {@link MISSING_INPUTS_TAG}). */
  missing: boolean;
}

/** One value of a flat instance: its log name, its rule, and where it goes (planned tensor, column of that tensor's row). */
export interface InputSlot {
  name: string;
  rule: ValueRule;
  tensor: number;
  column: number;
  /** How an error message names it: `feature 'x1'` or `x_cat[1]`. */
  label: string;
}

/** One key of an object instance: a scalar for width 1, an array of `width` values otherwise, filling slots `first`..`first + width - 1`. */
export interface InputField {
  key: string;
  rule: ValueRule;
  tensor: number;
  width: number;
  first: number;
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
 * `matrix`: one [batch, F] input; `columns`: several inputs (or one [batch]), each [batch], [batch, 1] or [batch, k].
 */
export interface InputPlan {
  layout: 'matrix' | 'columns';
  /** One slot per value of a flat instance, in array order; their names are the instance's keys in the prediction log. */
  slots: readonly InputSlot[];
  /** The keys of an object instance: feature names of a matrix that has them, else input names. */
  fields: readonly InputField[];
  tensors: readonly PlannedTensor[];
  /** True when every field is one slot of the same name, so an object instance is logged as it was sent. */
  objectsLogAsSent: boolean;
  /** Set when the model's batch dimension is fixed: each request must then carry exactly that many instances. */
  fixedBatch: number | undefined;
  /** True when the model takes missing values in its float inputs as NaN (MISSING_INPUTS_TAG). */
  takesMissing: boolean;
}

const FLOAT_LIMITS: Partial<Record<TensorElementType, number>> = { float16: 65504, float32: 3.4028234663852886e38, float64: Number.MAX_VALUE };
// int64 travels as a JSON number, so only integers a double holds exactly are accepted.
const INTEGER_RANGES: Partial<Record<TensorElementType, readonly [number, number]>> = {
  int8: [-128, 127],
  uint8: [0, 255],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
/**
 * The tag (or ONNX metadata key) saying a model takes missing values in its float inputs as NaN, as tree
 * ensembles and many pipelines do: `inputs.missing=nan`. Without it a missing value is refused.
 */
export const MISSING_INPUTS_TAG = 'inputs.missing';
const NAN_LIKE = new Set(NAN_LIKE_TEXTS);

// Characters a log name may not carry: monitoring reads only keys of letters, digits, _ - : (isMonitorableKey in drift/sql-dialect.ts).
const UNMONITORABLE = /[^A-Za-z0-9_\-:]/g;

/**
 * Works out once how instances fill the model's inputs; throws MODEL.LOAD_FAILED for a model `/predict` cannot
 * feed. `tags` are the version's: `inputs.missing=nan` (or the same ONNX metadata) lets float inputs take missing values.
 */
export function planInputs(signature: ModelSignature, metadata: Record<string, string>, tags: Record<string, string> = {}): InputPlan {
  const [first, ...others] = signature.inputs;
  if (!first) throw notServable('the model declares no inputs');
  const fixedBatch = commonFixedBatch(signature.inputs);
  const missing = takesMissingValues(tags, metadata);
  const plan = others.length === 0 && first.shape.length === 2 ? matrixPlan(first, metadata, missing) : columnsPlan(signature.inputs, missing);
  const objectsLogAsSent = plan.fields.every((field) => field.width === 1 && plan.slots[field.first]!.name === field.key);
  return { ...plan, objectsLogAsSent, fixedBatch, takesMissing: missing };
}

/** The keys each instance's features are logged under: feature names (f0..fN-1 without them), input names, `<input>_<index>` for a wide input. */
export function featureNames(plan: InputPlan): string[] {
  return plan.slots.map((slot) => slot.name);
}

/** The rule that decides which JSON values an element of `type` accepts; `missing` lets a float element take missing values as NaN. */
export function valueRule(type: TensorElementType, missing = false): ValueRule {
  if (type === 'bool' || type === 'string') return { type, kind: type === 'bool' ? 'boolean' : 'string', min: 0, max: 0, missing: false };
  const limit = FLOAT_LIMITS[type];
  if (limit !== undefined) return { type, kind: 'float', min: -limit, max: limit, missing };
  const [min, max] = INTEGER_RANGES[type] ?? [0, 0];
  return { type, kind: 'integer', min, max, missing: false };
}

/**
 * True when `value`, refused by `coerce`, is a missing value `rule` takes as NaN: null or a NaN-like text
 * ('NaN', 'nan', '') for a float input of a model that takes them. Only refused values reach it, so the
 * values a model accepts pay nothing for it.
 */
export function isTakenAsMissing(rule: ValueRule, value: unknown): boolean {
  return rule.missing && (value === null || (typeof value === 'string' && NAN_LIKE.has(value)));
}

/**
 * The element `value` is stored as under `rule`, or undefined when it is refused. NaN fails the range comparison.
 * Category codes sent as numbers reach a string input as their JSON text; 0 and 1 reach a bool input as false and true.
 */
export function coerce(rule: ValueRule, value: unknown): number | boolean | string | undefined {
  switch (rule.kind) {
    case 'float':
      return typeof value === 'number' && value >= rule.min && value <= rule.max ? value : undefined;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= rule.min && value <= rule.max ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : value === 0 ? false : value === 1 ? true : undefined;
    default:
      return typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
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
  return kind === 'boolean' ? 'true, false, 0 or 1 (bool)' : 'a string, or a number or boolean taken as its text (string)';
}

function hint({ kind }: ValueRule, value: unknown): string {
  const tagIt = kind === 'float' ? `, or tag the version ${MISSING_INPUTS_TAG}=nan if the model takes NaN for a missing value` : '';
  if (value === null) return ` (missing values are not accepted: impute or drop them before sending${tagIt})`;
  if (typeof value === 'string' && kind !== 'string') {
    const missing = NAN_LIKE.has(value) && kind === 'float' ? `; a missing value must be imputed or dropped before sending${tagIt}` : '';
    return ` (send values as JSON numbers or booleans, not strings${missing})`;
  }
  if (typeof value === 'object') return ' (each position takes a single value)';
  return '';
}

type PlanShape = Pick<InputPlan, 'layout' | 'slots' | 'fields' | 'tensors'>;

// With feature names each feature is a key of its own; without them an object takes the whole row under the input's name.
function matrixPlan(input: TensorSpec, metadata: Record<string, string>, missing: boolean): PlanShape {
  const width = input.shape[1];
  if (width === null || width === undefined) {
    throw notServable(`input '${input.name}' has a dynamic feature dimension ${shapeText(input)}; it needs a fixed number of features`);
  }
  if (input.type === 'string')
    throw notServable(`input '${input.name}' is a string matrix; a model whose only input holds strings must take one per row ([batch] or [batch, 1])`);
  const names = readFeatureNames(metadata, width);
  const rule = valueRule(input.type, missing);
  const slots = Array.from({ length: width }, (_, column) => {
    const name = names?.[column] ?? `f${column}`;
    return { name, rule, tensor: 0, column, label: `feature '${name}'` };
  });
  const fields = names
    ? names.map((key, column) => ({ key, rule, tensor: 0, width: 1, first: column }))
    : [{ key: input.name, rule, tensor: 0, width, first: 0 }];
  return { layout: 'matrix', slots, fields, tensors: [{ name: input.name, type: input.type, rank: 2, width }] };
}

function columnsPlan(inputs: readonly TensorSpec[], missing: boolean): PlanShape {
  const slots: InputSlot[] = [];
  const fields: InputField[] = [];
  const tensors: PlannedTensor[] = [];
  inputs.forEach((input, tensor) => {
    const width = columnWidth(input, inputs.length);
    const rule = valueRule(input.type, missing);
    fields.push({ key: input.name, rule, tensor, width, first: slots.length });
    tensors.push({ name: input.name, type: input.type, rank: input.shape.length === 1 ? 1 : 2, width });
    if (width === 1) slots.push({ name: input.name, rule, tensor, column: 0, label: `feature '${input.name}'` });
    else
      for (let column = 0; column < width; column++)
        slots.push({ name: wideLogName(input.name, column), rule, tensor, column, label: `${input.name}[${column}]` });
  });
  checkLogNamesUnique(slots);
  return { layout: 'columns', slots, fields, tensors };
}

function columnWidth(input: TensorSpec, inputCount: number): number {
  const [, width = 1, ...rest] = input.shape;
  if (typeof width === 'number' && width >= 1 && rest.length === 0) return width;
  const why =
    inputCount > 1
      ? 'with several inputs, each must be [batch], [batch, 1] or [batch, k] with k fixed'
      : 'its only input must be [batch, features], [batch] or [batch, 1]';
  throw notServable(`input '${input.name}' has shape ${shapeText(input)}; ${why}`);
}

// The log is flat scalar keys: value `column` of a wide input is logged as `<input>_<column>`, in characters monitoring reads.
function wideLogName(input: string, column: number): string {
  return `${input.replace(UNMONITORABLE, '_')}_${column}`;
}

function checkLogNamesUnique(slots: readonly InputSlot[]): void {
  const seen = new Map<string, string>();
  for (const { name, label } of slots) {
    const earlier = seen.get(name);
    if (earlier) throw notServable(`${earlier} and ${label} would both be logged as '${name}'; rename one of the inputs when exporting the model`);
    seen.set(name, label);
  }
}

// The version's tag wins over the model's own metadata; any value but "nan" is a mistake worth stopping for.
function takesMissingValues(tags: Record<string, string>, metadata: Record<string, string>): boolean {
  const raw = tags[MISSING_INPUTS_TAG] ?? metadata[MISSING_INPUTS_TAG];
  if (raw === undefined) return false;
  if (raw.trim().toLowerCase() === 'nan') return true;
  throw notServable(`${MISSING_INPUTS_TAG}="${raw}" is not understood; the only value is "nan" (missing values go in as NaN), or leave it out to refuse them`);
}

function commonFixedBatch(inputs: readonly TensorSpec[]): number | undefined {
  const fixed = new Set(inputs.map((input) => input.shape[0]).filter((size) => typeof size === 'number'));
  if (fixed.size > 1) throw notServable(`its inputs disagree on the batch dimension (${[...fixed].join(' vs ')})`);
  return fixed.values().next().value;
}

// Metadata that is malformed or of the wrong length is ignored: objects are then refused with a hint to send arrays.
function readFeatureNames(metadata: Record<string, string>, width: number): string[] | undefined {
  const raw = metadata[FEATURE_NAMES_METADATA_KEY];
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
