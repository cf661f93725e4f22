import type { ModelSignature, Tensor } from '../../ports/model-runner.port.js';
import { PlatformError } from '../errors.js';
import type { InputPlan } from './input-plan.js';
import { accepts, describeValue, listNames, refusal } from './input-plan.js';

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

/** Turns `{"instances": [...]}` into input tensors; throws MODEL.INVALID_INPUT naming the first bad value and how to fix it. */
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

/** One prediction per instance: a scalar for a single output of width 1, an array for width k, an object by output name for several outputs. */
export function encodePredictions(signature: ModelSignature, outputs: Record<string, Tensor>, count: number): unknown[] {
  const [only, ...others] = signature.outputs;
  if (only && others.length === 0) return rowsOf(only.name, outputs, count);
  return outputsPerInstance(signature, outputs, count);
}

/** Each instance's outputs keyed by output name, for the prediction log. */
export function outputsPerInstance(signature: ModelSignature, outputs: Record<string, Tensor>, count: number): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = new Array(count);
  for (let index = 0; index < count; index++) records[index] = {};
  for (const { name } of signature.outputs) {
    const rows = rowsOf(name, outputs, count);
    for (let index = 0; index < count; index++) records[index]![name] = rows[index];
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
    throw invalid(`instances[${index}] is ${describeValue(instance)}; each instance must be an array of values or an object keyed by feature name.`);
  }
  if (isArray !== arrays) {
    const [kind, firstKind] = arrays ? ['an object', 'an array'] : ['an array', 'an object'];
    throw invalid(`instances[${index}] is ${kind} but instances[0] is ${firstKind}; send every instance in the same form.`);
  }
  return instance as Instance;
}

function readArray({ slots }: InputPlan, instance: unknown[], index: number, columns: unknown[][]): Record<string, unknown> {
  if (instance.length !== slots.length) {
    const names = listNames(slots.map((slot) => slot.name));
    throw invalid(
      `instances[${index}] has ${instance.length} values but the model takes ${slots.length} (${names}); send arrays of exactly ${slots.length} values in that order.`,
    );
  }
  const record: Record<string, unknown> = {};
  for (let position = 0; position < slots.length; position++) {
    const slot = slots[position]!;
    const value = instance[position];
    if (!accepts(slot.rule, value)) throw invalid(`instances[${index}][${position}] (feature '${slot.name}'): ${refusal(slot.rule, value)}.`);
    columns[slot.tensor]!.push(value);
    record[slot.name] = value;
  }
  return record;
}

// The instance itself becomes the log record: it has been checked to hold exactly the model's features.
function readObject(plan: InputPlan, instance: Record<string, unknown>, index: number, columns: unknown[][]): Record<string, unknown> {
  const { slots } = plan;
  if (!plan.acceptsObjects) {
    throw invalid(
      `instances[${index}] is an object, but this model carries no feature names to match its keys against; send each instance as an array of ${slots.length} values in training column order.`,
    );
  }
  for (const slot of slots) {
    const value = instance[slot.name];
    if (!accepts(slot.rule, value)) throw objectRefusal(plan, instance, index, slot.name, slot.rule, value);
    columns[slot.tensor]!.push(value);
  }
  if (countKeys(instance) !== slots.length) throw keyMismatch(plan, instance, index);
  return instance;
}

function objectRefusal(
  plan: InputPlan,
  instance: Record<string, unknown>,
  index: number,
  name: string,
  ...[rule, value]: Parameters<typeof refusal>
): PlatformError {
  return Object.hasOwn(instance, name) ? invalid(`instances[${index}].${name}: ${refusal(rule, value)}.`) : keyMismatch(plan, instance, index);
}

function keyMismatch({ slots }: InputPlan, instance: Record<string, unknown>, index: number): PlatformError {
  const names = slots.map((slot) => slot.name);
  const missing = names.filter((name) => !Object.hasOwn(instance, name));
  const unknown = Object.keys(instance).filter((key) => !names.includes(key));
  const problems = [missing.length > 0 ? `is missing ${listNames(missing)}` : '', unknown.length > 0 ? `has unknown key(s) ${listNames(unknown)}` : ''];
  return invalid(`instances[${index}] ${problems.filter(Boolean).join(' and ')}; each object needs exactly the keys ${listNames(names)}.`);
}

function countKeys(object: Record<string, unknown>): number {
  let count = 0;
  for (const _key in object) count++;
  return count;
}

function rowsOf(name: string, outputs: Record<string, Tensor>, count: number): unknown[] {
  const tensor = outputs[name];
  if (!tensor) throw new Error(`The model returned no output '${name}'.`);
  const [batch, ...inner] = tensor.shape;
  if (batch !== count) throw new Error(`Output '${name}' has shape [${tensor.shape.join(', ')}] but ${count} instance(s) were sent.`);
  const width = inner.reduce((product, size) => product * size, 1);
  const { data } = tensor;
  const rows: unknown[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const start = index * width;
    rows[index] = inner.length === 0 || (inner.length === 1 && width === 1) ? data[start] : nest(data, start, inner);
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
