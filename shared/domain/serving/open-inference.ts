import { PlatformError } from '../errors.js';
import type { ModelSignature, Tensor, TensorElementType, TensorSpec } from '../model-signature.js';
import { coerce, describeValue, isTakenAsMissing, listNames, planInputs, refusal, valueRule } from './input-plan.js';
import type { InputPlan, ValueRule } from './input-plan.js';

/** Open Inference Protocol tensor datatypes, by the element type the port names them. */
export const DATATYPE_OF: Readonly<Record<TensorElementType, string>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  int8: 'INT8',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const ELEMENT_TYPE_OF: ReadonlyMap<string, TensorElementType> = new Map(
  Object.entries(DATATYPE_OF).map(([type, datatype]) => [datatype, type as TensorElementType]),
);
// Valid in the protocol but without a port element type: named so the error can say "unsupported" rather than "unknown".
const UNSUPPORTED_DATATYPES: ReadonlySet<string> = new Set(['UINT16', 'UINT32', 'UINT64', 'INT16', 'BF16']);

/** The port element type of a protocol datatype, or undefined when the port has none. */
export function elementTypeOf(datatype: string): TensorElementType | undefined {
  return ELEMENT_TYPE_OF.get(datatype);
}

/** A tensor as the metadata endpoint describes it: -1 marks a dimension of any size. */
export interface MetadataTensor {
  name: string;
  datatype: string;
  shape: number[];
}

/** The body of `GET /v2/models/<name>[/versions/<version>]`. */
export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: MetadataTensor[];
  outputs: MetadataTensor[];
}

/** A decoded `/infer` request: model inputs, requested outputs, the batch size, and each instance's inputs for the prediction log. */
export interface InferRequest {
  id?: string;
  inputs: Record<string, Tensor>;
  /** Absent (or empty in the request) means every output. */
  requestedOutputs?: string[];
  count: number;
  features: Record<string, unknown>[];
}

/** Options for decoding an `/infer` body. */
export interface DecodeInferRequestOptions {
  /** Most rows (shape[0]) one request may carry. */
  maxBatch: number;
  /**
   * The model's `/predict` plan: each instance is logged under its flat names (`featureNames(plan)`), as /predict logs it.
   * Without it the plan is worked out per request, and a model /predict cannot feed logs each input's row under the input's name.
   */
  plan?: InputPlan;
}

/** What `encodeInferResponse` assembles a response from. */
export interface InferResponseParts {
  modelName: string;
  modelVersion?: string | number;
  id?: string;
  outputs: Record<string, Tensor>;
  signature: ModelSignature;
  requestedOutputs?: readonly string[];
}

/** One output tensor of an `/infer` response, data flat in row-major order. */
export interface ResponseOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: Tensor['data'];
}

/** The body of a successful `/infer` response. */
export interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: ResponseOutput[];
}

/** Describes a model for the metadata endpoint. */
export function modelMetadataResponse(name: string, version: string | number, signature: ModelSignature): ModelMetadataResponse {
  return {
    name,
    versions: [String(version)],
    platform: 'onnxruntime_onnx',
    inputs: signature.inputs.map(metadataTensor),
    outputs: signature.outputs.map(metadataTensor),
  };
}

/** Checks an inference request against the model and turns it into input tensors; throws MODEL.INVALID_INPUT naming the problem. */
export function decodeInferRequest(signature: ModelSignature, body: unknown, { maxBatch, plan }: DecodeInferRequestOptions): InferRequest {
  const request = objectOrThrow(body, 'The request body must be a JSON object like {"inputs": [{"name", "shape", "datatype", "data"}]}');
  const { id, parameters, inputs: entries, outputs } = request;
  if (id !== undefined && typeof id !== 'string') throw invalid(`"id" must be a string, got ${describeValue(id)}.`);
  if (parameters !== undefined) objectOrThrow(parameters, '"parameters" must be an object');
  const { inputs, count } = decodeInputs(signature, entries, maxBatch, plan?.takesMissing ?? false);
  const requestedOutputs = readRequestedOutputs(signature, outputs);
  const logPlan = plan ?? planOrUndefined(signature);
  const features = logPlan ? planRecords(logPlan, inputs, count) : inputRecords(signature, inputs, count);
  return { ...(id === undefined ? {} : { id }), inputs, ...(requestedOutputs ? { requestedOutputs } : {}), count, features };
}

/** Builds the `/infer` response: requested outputs (all by default) with flat row-major data. */
export function encodeInferResponse({ modelName, modelVersion, id, outputs, signature, requestedOutputs }: InferResponseParts): InferResponse {
  const names = requestedOutputs ?? signature.outputs.map(({ name }) => name);
  const response: InferResponse = { model_name: modelName, outputs: [] };
  if (modelVersion !== undefined) response.model_version = String(modelVersion);
  if (id !== undefined) response.id = id;
  for (const name of names) {
    const tensor = outputs[name];
    if (!tensor) throw new Error(`The model returned no output '${name}'.`);
    response.outputs.push({ name, datatype: DATATYPE_OF[tensor.type], shape: tensor.shape, data: tensor.data });
  }
  return response;
}

function decodeInputs(signature: ModelSignature, entries: unknown, maxBatch: number, takesMissing: boolean): { inputs: Record<string, Tensor>; count: number } {
  if (!Array.isArray(entries) || entries.length === 0) throw invalid(`"inputs" must be a non-empty array of input tensors, got ${describeValue(entries)}.`);
  const inputs: Record<string, Tensor> = {};
  let count = -1;
  for (let index = 0; index < entries.length; index++) {
    const { spec, tensor } = decodeInput(signature, entries[index], index, inputs, maxBatch, takesMissing);
    const batch = tensor.shape[0]!;
    if (count >= 0 && batch !== count) {
      throw invalid(`Input '${spec.name}' has batch size ${batch} but the inputs before it have ${count}; every input must share its first dimension.`);
    }
    count = batch;
    inputs[spec.name] = tensor;
  }
  const missing = signature.inputs.filter(({ name }) => !inputs[name]).map(({ name }) => name);
  if (missing.length > 0) {
    throw invalid(`The request lacks input(s) ${listNames(missing)}; this model needs ${listNames(signature.inputs.map(({ name }) => name))}.`);
  }
  return { inputs, count };
}

function metadataTensor({ name, type, shape }: TensorSpec): MetadataTensor {
  return { name, datatype: DATATYPE_OF[type], shape: shape.map((size) => size ?? -1) };
}

function decodeInput(
  signature: ModelSignature,
  entry: unknown,
  index: number,
  seen: Record<string, Tensor>,
  maxBatch: number,
  takesMissing: boolean,
): { spec: TensorSpec; tensor: Tensor } {
  const { name, shape, datatype, parameters, data } = objectOrThrow(entry, `inputs[${index}] must be an object with "name", "shape", "datatype" and "data"`);
  if (typeof name !== 'string') throw invalid(`inputs[${index}].name must be a string, got ${describeValue(name)}.`);
  const spec = signature.inputs.find((input) => input.name === name);
  if (!spec) {
    throw invalid(
      `inputs[${index}] is named '${name}', which is not an input of this model; its inputs are ${listNames(signature.inputs.map((input) => input.name))}.`,
    );
  }
  if (seen[name]) throw invalid(`Input '${name}' is given more than once; give each input exactly once.`);
  checkDatatype(spec, datatype);
  if (parameters !== undefined && objectOrThrow(parameters, `Input '${name}' "parameters" must be an object`)['binary_data_size'] !== undefined) {
    throw invalid(`Input '${name}' uses the binary tensor data extension, which is not supported; send "data" as a JSON array.`);
  }
  const dimensions = checkShape(spec, shape, maxBatch);
  return { spec, tensor: { type: spec.type, shape: dimensions, data: flatten(spec, dimensions, data, takesMissing) } };
}

function checkDatatype(spec: TensorSpec, datatype: unknown): void {
  const expected = DATATYPE_OF[spec.type];
  if (datatype === expected) return;
  if (typeof datatype !== 'string') throw invalid(`Input '${spec.name}' needs "datatype": "${expected}", got ${describeValue(datatype)}.`);
  const known = ELEMENT_TYPE_OF.has(datatype) || UNSUPPORTED_DATATYPES.has(datatype) ? 'datatype' : 'unknown datatype';
  throw invalid(`Input '${spec.name}' has ${known} ${datatype} but the model expects ${expected}; send its data as ${expected}.`);
}

function checkShape(spec: TensorSpec, shape: unknown, maxBatch: number): number[] {
  const expected = `[${spec.shape.map((size) => size ?? -1).join(', ')}] (-1 is any size)`;
  if (!Array.isArray(shape) || !shape.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    throw invalid(`Input '${spec.name}' needs "shape" as an array of non-negative integers such as ${expected}, got ${JSON.stringify(shape) ?? 'nothing'}.`);
  }
  const fits = shape.length === spec.shape.length && spec.shape.every((size, axis) => size === null || size === shape[axis]);
  if (!fits) throw invalid(`Input '${spec.name}' has shape [${shape.join(', ')}] but the model expects ${expected}.`);
  const [batch] = shape as number[];
  if (batch === undefined) throw new PlatformError('MODEL.LOAD_FAILED', `Input '${spec.name}' is a scalar; the inference protocol needs a batch dimension.`);
  if (batch === 0) throw invalid(`Input '${spec.name}' has an empty batch (shape[0] is 0); send at least one row.`);
  if (batch > maxBatch) {
    throw invalid(`Input '${spec.name}' has a batch of ${batch} (shape[0]) but at most ${maxBatch} are accepted per request; split it across requests.`);
  }
  return shape as number[];
}

// Flat data is checked in place and used as is, copied only when a value is converted (a number for BYTES, 0 or 1 for
// BOOL, as /predict takes them); nested data must follow the shape level by level.
// A missing value a model takes (null or a NaN-like text) goes in as NaN, as /predict takes it.
function flatten(spec: TensorSpec, shape: number[], data: unknown, takesMissing: boolean): Tensor['data'] {
  if (!Array.isArray(data)) throw invalid(`Input '${spec.name}' needs "data" as an array, got ${describeValue(data)}.`);
  const rule = valueRule(spec.type, takesMissing);
  if (shape.length > 1 && Array.isArray(data[0])) return collect(spec.name, rule, data, shape, 0, 'data', []) as Tensor['data'];
  const size = shape.reduce((product, dimension) => product * dimension, 1);
  if (data.length !== size) throw invalid(`Input '${spec.name}' has ${data.length} values in "data" but shape [${shape.join(', ')}] needs ${size}.`);
  let stored: unknown[] = data;
  for (let index = 0; index < data.length; index++) {
    const value = coerceOrMissing(rule, data[index]);
    if (value === undefined) throw invalid(`Input '${spec.name}' data[${index}]: ${refusal(rule, data[index])}.`);
    if (value === data[index]) continue;
    if (stored === data) stored = data.slice();
    stored[index] = value;
  }
  return stored as Tensor['data'];
}

function collect(name: string, rule: ValueRule, level: unknown, shape: number[], axis: number, path: string, out: unknown[]): unknown[] {
  if (!Array.isArray(level) || level.length !== shape[axis]) {
    throw invalid(`Input '${name}' ${path} should be an array of ${shape[axis]} (axis ${axis} of shape [${shape.join(', ')}]), got ${describeValue(level)}.`);
  }
  const leaf = axis === shape.length - 1;
  for (let index = 0; index < level.length; index++) {
    if (!leaf) {
      collect(name, rule, level[index], shape, axis + 1, `${path}[${index}]`, out);
      continue;
    }
    const value = coerceOrMissing(rule, level[index]);
    if (value === undefined) throw invalid(`Input '${name}' ${path}[${index}]: ${refusal(rule, level[index])}.`);
    out.push(value);
  }
  return out;
}

const coerceOrMissing = (rule: ValueRule, value: unknown) => coerce(rule, value) ?? (isTakenAsMissing(rule, value) ? Number.NaN : undefined);

function readRequestedOutputs(signature: ModelSignature, outputs: unknown): string[] | undefined {
  if (outputs === undefined) return undefined;
  if (!Array.isArray(outputs)) throw invalid(`"outputs" must be an array like [{"name": "..."}], got ${describeValue(outputs)}.`);
  const names = outputs.map((output, index) => objectOrThrow(output, `outputs[${index}] must be an object with a "name"`)['name']);
  const known = signature.outputs.map(({ name }) => name);
  names.forEach((name, index) => {
    if (typeof name !== 'string' || !known.includes(name)) {
      throw invalid(
        `outputs[${index}] requests ${typeof name === 'string' ? `'${name}'` : describeValue(name)}, which is not an output of this model; its outputs are ${listNames(known)}.`,
      );
    }
  });
  return names.length > 0 ? [...new Set(names as string[])] : undefined;
}

function planOrUndefined(signature: ModelSignature): InputPlan | undefined {
  try {
    return planInputs(signature, {});
  } catch {
    return undefined;
  }
}

// The same flat keys /predict logs: slot `s` of row `r` is element `r * width + column` of its tensor.
function planRecords({ slots, tensors }: InputPlan, inputs: Record<string, Tensor>, count: number): Record<string, unknown>[] {
  const data = tensors.map(({ name }) => inputs[name]!.data);
  const records: Record<string, unknown>[] = new Array(count);
  for (let row = 0; row < count; row++) {
    const record: Record<string, unknown> = {};
    for (let position = 0; position < slots.length; position++) {
      const { name, tensor, column } = slots[position]!;
      record[name] = data[tensor]![row * tensors[tensor]!.width + column];
    }
    records[row] = record;
  }
  return records;
}

function inputRecords(signature: ModelSignature, inputs: Record<string, Tensor>, count: number): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = new Array(count);
  for (let index = 0; index < count; index++) {
    const record: Record<string, unknown> = {};
    for (const { name } of signature.inputs) record[name] = rowOf(inputs[name]!, index, count);
    records[index] = record;
  }
  return records;
}

function rowOf({ data }: Tensor, index: number, count: number): unknown {
  const width = data.length / count;
  return width === 1 ? data[index] : data.slice(index * width, (index + 1) * width);
}

function objectOrThrow(value: unknown, what: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw invalid(`${what}, got ${describeValue(value)}.`);
}

function invalid(message: string): PlatformError {
  return new PlatformError('MODEL.INVALID_INPUT', message);
}
