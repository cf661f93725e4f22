import { PlatformError } from '../errors.js';
import type { ModelSignature, Tensor, TensorSpec } from '../model-signature.js';
import type { InputField, InputPlan } from './input-plan.js';
import { coerce, describeValue, isTakenAsMissing, listNames, refusal } from './input-plan.js';

/** Options for decoding a `/predict` body. */
export interface DecodeInstancesOptions {
  /** Most instances one request may carry. */
  maxBatch: number;
}

/** A decoded `/predict` body: model inputs, the number of instances, and each instance's values by feature name for the prediction log. */
export interface DecodedInstances {
  inputs: Record<string, Tensor>;
  count: number;
  features: Record<string, unknown>[];
}

type Instance = unknown[] | Record<string, unknown>;

/**
 * Turns `{"instances": [...]}` into input tensors; throws MODEL.INVALID_INPUT naming the first bad value and how to fix it.
 * A missing value a float input takes (inputs.missing=nan) goes into the tensor as NaN and into the log as null.
 */
export function decodeInstances(plan: InputPlan, body: unknown, { maxBatch }: DecodeInstancesOptions): DecodedInstances {
  const instances = readInstances(plan, body, maxBatch);
  const count = instances.length;
  const columns: unknown[][] = plan.tensors.map(() => []);
  const features: Record<string, unknown>[] = new Array(count);
  const arrays = Array.isArray(instances[0]);
  for (let index = 0; index < count; index++) {
    const instance = instanceAt(instances, index, arrays);
    features[index] = Array.isArray(instance) ? readArray(plan, instance, index, columns) : readObject(plan, instance, index, columns);
  }
  const inputs: Record<string, Tensor> = {};
  plan.tensors.forEach(({ name, type, rank, width }, tensor) => {
    // Every value was checked against its element type, so the column holds the kind `type` calls for.
    inputs[name] = { type, shape: rank === 1 ? [count] : [count, width], data: columns[tensor] as Tensor['data'] };
  });
  return { inputs, count, features };
}

/**
 * One prediction per instance: a scalar for a single output of width 1, an array for width k, an object by class for an
 * output keyed by class (a ZipMap's probabilities), an object by output name for several outputs.
 */
export function encodePredictions(signature: ModelSignature, outputs: Record<string, Tensor>, count: number): unknown[] {
  const [only, ...others] = signature.outputs;
  if (only && others.length === 0) return rowsOf(only, outputs, count);
  return outputsPerInstance(signature, outputs, count);
}

/**
 * The answer's predictions ({@link encodePredictions}) and the prediction log's outputs
 * ({@link outputsPerInstance}) together, each output's rows built once for both.
 */
export function predictionsAndLogged(
  signature: ModelSignature,
  outputs: Record<string, Tensor>,
  count: number,
): { predictions: unknown[]; logged: Record<string, unknown>[] } {
  const [only, ...others] = signature.outputs;
  if (!only || others.length > 0) {
    const logged = outputsPerInstance(signature, outputs, count);
    return { predictions: logged, logged };
  }
  const predictions = rowsOf(only, outputs, count);
  const logged: Record<string, unknown>[] = new Array(count);
  for (let index = 0; index < count; index++) logged[index] = { [only.name]: predictions[index] };
  return { predictions, logged };
}

/** Each instance's outputs keyed by output name, each shaped as `encodePredictions` shapes it, for the prediction log. */
export function outputsPerInstance(signature: ModelSignature, outputs: Record<string, Tensor>, count: number): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = new Array(count);
  for (let index = 0; index < count; index++) records[index] = {};
  for (const spec of signature.outputs) {
    const rows = rowsOf(spec, outputs, count);
    for (let index = 0; index < count; index++) records[index]![spec.name] = rows[index];
  }
  return records;
}

function readInstances(plan: InputPlan, body: unknown, maxBatch: number): unknown[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid(`The request body must be a JSON object like {"instances": [...]}, got ${describeValue(body)}.`);
  }
  const { instances } = body as { instances?: unknown };
  if (instances === undefined) {
    const elsewhere = 'inputs' in body ? ' For the Open Inference Protocol, POST to /v2/models/<name>/infer instead.' : '';
    throw invalid(`The request body has no "instances" field; send {"instances": [...]} with one entry per prediction.${elsewhere}`);
  }
  if (!Array.isArray(instances)) throw invalid(`"instances" must be an array with one entry per prediction, got ${describeValue(instances)}.`);
  if (instances.length === 0) throw invalid('"instances" is empty; send at least one instance.');
  if (instances.length > maxBatch) {
    throw invalid(`"instances" has ${instances.length} entries but at most ${maxBatch} are accepted per request; split the batch across several requests.`);
  }
  if (plan.fixedBatch !== undefined && instances.length !== plan.fixedBatch) {
    throw invalid(`This model has a fixed batch size: send exactly ${plan.fixedBatch} instance(s) per request, not ${instances.length}.`);
  }
  return instances;
}

function instanceAt(instances: unknown[], index: number, arrays: boolean): Instance {
  const instance = instances[index];
  const isArray = Array.isArray(instance);
  if (!isArray && (typeof instance !== 'object' || instance === null)) {
    throw invalid(`instances[${index}] is ${describeValue(instance)}; each instance must be an array of values or an object keyed by feature or input name.`);
  }
  if (isArray !== arrays) {
    const [kind, firstKind] = arrays ? ['an object', 'an array'] : ['an array', 'an object'];
    throw invalid(`instances[${index}] is ${kind} but instances[0] is ${firstKind}; send every instance in the same form.`);
  }
  return instance as Instance;
}

function readArray({ layout, slots, fields }: InputPlan, instance: unknown[], index: number, columns: unknown[][]): Record<string, unknown> {
  if (instance.length !== slots.length) {
    const names = layout === 'matrix' ? listNames(slots.map((slot) => slot.name)) : describeFields(fields);
    throw invalid(
      `instances[${index}] has ${instance.length} values but the model takes ${slots.length} (${names}); send arrays of exactly ${slots.length} values in that order.`,
    );
  }
  const record: Record<string, unknown> = {};
  for (let position = 0; position < slots.length; position++) {
    const slot = slots[position]!;
    const value = coerce(slot.rule, instance[position]);
    if (value === undefined) {
      if (!isTakenAsMissing(slot.rule, instance[position]))
        throw invalid(`instances[${index}][${position}] (${slot.label}): ${refusal(slot.rule, instance[position])}.`);
      record[slot.name] = missingInto(columns[slot.tensor]!);
      continue;
    }
    columns[slot.tensor]!.push(value);
    record[slot.name] = value;
  }
  return record;
}

function readObject(plan: InputPlan, instance: Record<string, unknown>, index: number, columns: unknown[][]): Record<string, unknown> {
  if (!plan.objectsLogAsSent && !Object.hasOwn(instance, plan.fields[0]!.key) && Object.hasOwn(instance, plan.slots[0]!.name)) {
    return readLogged(plan, instance, index, columns);
  }
  const record = plan.objectsLogAsSent ? readAsSent(plan, instance, index, columns) : readIntoRecord(plan, instance, index, columns);
  if (countKeys(instance) !== plan.fields.length) throw keyMismatch(plan, instance, index);
  return record;
}

// Every key is its own log name, so the instance itself becomes the log record (it is checked to hold exactly the
// model's keys), copied only when a value had to be converted.
function readAsSent(plan: InputPlan, instance: Record<string, unknown>, index: number, columns: unknown[][]): Record<string, unknown> {
  let record = instance;
  for (let position = 0; position < plan.fields.length; position++) {
    const field = plan.fields[position]!;
    const value = readScalar(plan, instance, index, field, columns);
    if (value === instance[field.key]) continue;
    if (record === instance) record = { ...instance };
    record[field.key] = value;
  }
  return record;
}

// Keyed by the flat names the prediction log uses (`x_num_0`, …, or f0..fN-1): a logged row, or an
// offline_features row loaded from a CSV, can be scored again as it is.
function readLogged(plan: InputPlan, instance: Record<string, unknown>, index: number, columns: unknown[][]): Record<string, unknown> {
  const { slots } = plan;
  const record: Record<string, unknown> = {};
  for (let position = 0; position < slots.length; position++) {
    const slot = slots[position]!;
    const value = coerce(slot.rule, instance[slot.name]);
    if (value === undefined) {
      if (!Object.hasOwn(instance, slot.name)) throw keyMismatch(plan, instance, index);
      if (!isTakenAsMissing(slot.rule, instance[slot.name])) throw invalid(`instances[${index}].${slot.name}: ${refusal(slot.rule, instance[slot.name])}.`);
      record[slot.name] = missingInto(columns[slot.tensor]!);
      continue;
    }
    columns[slot.tensor]!.push(value);
    record[slot.name] = value;
  }
  if (countKeys(instance) !== slots.length) throw keyMismatch(plan, instance, index);
  return record;
}

function readIntoRecord(plan: InputPlan, instance: Record<string, unknown>, index: number, columns: unknown[][]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let position = 0; position < plan.fields.length; position++) {
    const field = plan.fields[position]!;
    if (field.width === 1) record[plan.slots[field.first]!.name] = readScalar(plan, instance, index, field, columns);
    else readWide(plan, instance, index, field, columns, record);
  }
  return record;
}

// A key of width 1 takes a scalar, or a one-element array.
function readScalar(plan: InputPlan, instance: Record<string, unknown>, index: number, field: InputField, columns: unknown[][]): unknown {
  const sent = instance[field.key];
  const value = coerce(field.rule, sent) ?? (Array.isArray(sent) && sent.length === 1 ? coerce(field.rule, sent[0]) : undefined);
  if (value === undefined) {
    if (!isTakenAsMissing(field.rule, sent)) throw objectRefusal(plan, instance, index, field, sent);
    return missingInto(columns[field.tensor]!);
  }
  columns[field.tensor]!.push(value);
  return value;
}

function readWide(
  plan: InputPlan,
  instance: Record<string, unknown>,
  index: number,
  field: InputField,
  columns: unknown[][],
  record: Record<string, unknown>,
): void {
  const { key, rule, width, first, tensor } = field;
  const sent = instance[key];
  if (!Array.isArray(sent) || sent.length !== width) {
    if (!Object.hasOwn(instance, key)) throw keyMismatch(plan, instance, index);
    throw invalid(
      `instances[${index}].${key} is ${describeValue(sent)} but input '${key}' takes ${width} values; send "${key}" as an array of ${width} values.`,
    );
  }
  const column = columns[tensor]!;
  for (let position = 0; position < width; position++) {
    const value = coerce(rule, sent[position]);
    if (value === undefined) {
      if (!isTakenAsMissing(rule, sent[position])) throw invalid(`instances[${index}].${key}[${position}]: ${refusal(rule, sent[position])}.`);
      record[plan.slots[first + position]!.name] = missingInto(column);
      continue;
    }
    column.push(value);
    record[plan.slots[first + position]!.name] = value;
  }
}

// A missing value the model takes: NaN for the model, null for the log (JSON has no NaN).
function missingInto(column: unknown[]): null {
  column.push(Number.NaN);
  return null;
}

function objectRefusal(plan: InputPlan, instance: Record<string, unknown>, index: number, { key, rule }: InputField, value: unknown): PlatformError {
  return Object.hasOwn(instance, key) ? invalid(`instances[${index}].${key}: ${refusal(rule, value)}.`) : keyMismatch(plan, instance, index);
}

function keyMismatch(plan: InputPlan, instance: Record<string, unknown>, index: number): PlatformError {
  const names = plan.fields.map((field) => field.key);
  const missing = names.filter((name) => !Object.hasOwn(instance, name));
  const unknown = Object.keys(instance).filter((key) => !names.includes(key));
  const problems = [missing.length > 0 ? `is missing ${listNames(missing)}` : '', unknown.length > 0 ? `has unknown key(s) ${listNames(unknown)}` : ''];
  const unnamed = plan.layout === 'matrix' && plan.fields.length === 1 && plan.slots.length > 1;
  const why = unnamed
    ? ` (this model carries no feature names, so an object takes the whole row under the input's name; or send the instance as an array of ${plan.slots.length} values in training column order)`
    : '';
  return invalid(`instances[${index}] ${problems.filter(Boolean).join(' and ')}; each object needs exactly the keys ${describeFields(plan.fields)}${why}.`);
}

// Names each key of an instance, with its width when it takes several values: 'x_num' (3 values), 'x_cat' (2 values).
function describeFields(fields: readonly InputField[]): string {
  if (fields.every((field) => field.width === 1)) return listNames(fields.map((field) => field.key));
  return fields.map(({ key, width }) => (width === 1 ? `'${key}'` : `'${key}' (${width} values)`)).join(', ');
}

function countKeys(object: Record<string, unknown>): number {
  let count = 0;
  for (const _key in object) count++;
  return count;
}

function rowsOf(spec: TensorSpec, outputs: Record<string, Tensor>, count: number): unknown[] {
  const { name } = spec;
  const tensor = outputs[name];
  if (!tensor) throw new Error(`The model returned no output '${name}'.`);
  const [batch, ...inner] = tensor.shape;
  if (batch !== count) throw new Error(`Output '${name}' has shape [${tensor.shape.join(', ')}] but ${count} instance(s) were sent.`);
  const width = inner.reduce((product, size) => product * size, 1);
  const { data } = tensor;
  const classes = inner.length === 1 ? keyingClasses(spec, width) : undefined;
  if (classes) return keyedRows(data, classes, count);
  const rows: unknown[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const start = index * width;
    rows[index] = inner.length === 0 || (inner.length === 1 && width === 1) ? data[start] : nest(data, start, inner);
  }
  return rows;
}

// Labels that cannot all be distinct keys of a plain object leave the rows as arrays rather than lose a column.
function keyingClasses({ keyedByClass, classes }: TensorSpec, width: number): readonly string[] | undefined {
  if (!keyedByClass || classes?.length !== width || classes.includes('__proto__')) return undefined;
  return new Set(classes).size === width ? classes : undefined;
}

// What predict_proba gives through a ZipMap: one object per row, `{ "<class>": probability }` in column order.
function keyedRows(data: Tensor['data'], classes: readonly string[], count: number): Record<string, unknown>[] {
  const width = classes.length;
  const rows: Record<string, unknown>[] = new Array(count);
  for (let index = 0, start = 0; index < count; index++, start += width) {
    const row: Record<string, unknown> = {};
    for (let column = 0; column < width; column++) row[classes[column]!] = data[start + column];
    rows[index] = row;
  }
  return rows;
}

// A row of a rank-3+ output keeps its inner dimensions as nested arrays.
function nest(data: Tensor['data'], start: number, shape: number[]): unknown[] {
  const [size = 0, ...inner] = shape;
  if (inner.length === 0) return data.slice(start, start + size);
  const stride = inner.reduce((product, dimension) => product * dimension, 1);
  return Array.from({ length: size }, (_, index) => nest(data, start + index * stride, inner));
}

function invalid(message: string): PlatformError {
  return new PlatformError('MODEL.INVALID_INPUT', message);
}
