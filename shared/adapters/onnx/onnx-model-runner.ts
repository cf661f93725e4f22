import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { PlatformError } from '../../domain/errors.js';
import type { ModelSignature, ServedGraph, Tensor, TensorElementType, TensorSpec } from '../../domain/model-signature.js';
import { type OutputFacts, servableModel } from '../../model-export/servable-graph.js';
import type { LoadedModel, ModelRunner } from '../../ports/model-runner.port.js';

type TensorData = Tensor['data'];

const SUPPORTED_TYPES: ReadonlySet<string> = new Set<TensorElementType>(['float32', 'float64', 'int32', 'int64', 'bool', 'string', 'uint8', 'int8', 'float16']);

const JS_KIND_OF: Record<TensorElementType, 'number' | 'boolean' | 'string'> = {
  float32: 'number',
  float64: 'number',
  int32: 'number',
  int64: 'number',
  uint8: 'number',
  int8: 'number',
  float16: 'number',
  bool: 'boolean',
  string: 'string',
};

// Port data is checked against JS_KIND_OF before these run, so the casts hold.
const TO_ORT_DATA: { [T in TensorElementType]: (data: TensorData) => OrtTensor.DataTypeMap[T] } = {
  float32: (data) => Float32Array.from(data as number[]),
  float64: (data) => Float64Array.from(data as number[]),
  int32: (data) => Int32Array.from(data as number[]),
  int64: (data) => BigInt64Array.from(data as number[], BigInt),
  uint8: (data) => Uint8Array.from(data as number[]),
  int8: (data) => Int8Array.from(data as number[]),
  float16: (data) => Uint16Array.from(data as number[], float16Bits),
  bool: (data) => Uint8Array.from(data as boolean[], Number),
  string: (data) => data as string[],
};

/**
 * Loads ONNX model bytes into onnxruntime sessions and runs them on CPU. The session runs the
 * servable form of the upload (a ZipMap output served as its probability tensor); a model with
 * tensors stored outside the file is refused before onnxruntime could read any other file.
 */
export class OnnxModelRunner implements ModelRunner {
  async load(bytes: Uint8Array): Promise<LoadedModel> {
    const servable = servableModel(bytes);
    const session = await createSession(servable.bytes);
    try {
      return new OnnxLoadedModel(session, readSignature(session, servable.outputs), servable.metadata, servable.served);
    } catch (error) {
      await session.release();
      throw error;
    }
  }
}

class OnnxLoadedModel implements LoadedModel {
  constructor(
    private readonly session: InferenceSession,
    readonly signature: ModelSignature,
    readonly metadata: Record<string, string>,
    readonly served: ServedGraph,
  ) {}

  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const feeds: Record<string, OrtTensor> = {};
    for (const spec of this.signature.inputs) feeds[spec.name] = toOrtTensor(spec, inputs[spec.name]);
    const results = await runSession(this.session, feeds);
    const outputs: Record<string, Tensor> = {};
    for (const { name, type } of this.signature.outputs) outputs[name] = fromOrtTensor(type, results[name]!);
    return outputs;
  }

  close(): Promise<void> {
    return this.session.release();
  }
}

// Bytes that onnxruntime cannot parse never will, so the failure is permanent.
async function createSession(bytes: Uint8Array): Promise<InferenceSession> {
  try {
    return await InferenceSession.create(bytes);
  } catch (error) {
    throw new PlatformError('MODEL.LOAD_FAILED', `The file is not a valid ONNX model: ${reasonOf(error)}`, { cause: error });
  }
}

// onnxruntime reports failures on the CPU backend deterministically for given inputs: retrying cannot help.
async function runSession(session: InferenceSession, feeds: Record<string, OrtTensor>): Promise<InferenceSession.ReturnType> {
  try {
    return await session.run(feeds);
  } catch (error) {
    throw invalidInput(`The model rejected its inputs: ${reasonOf(error)}`, error);
  }
}

function readSignature(session: InferenceSession, facts: Record<string, OutputFacts>): ModelSignature {
  return {
    inputs: session.inputMetadata.map(toTensorSpec),
    outputs: session.outputMetadata.map((metadata) => ({ ...toTensorSpec(metadata), ...facts[metadata.name] })),
  };
}

function toTensorSpec(metadata: InferenceSession.ValueMetadata): TensorSpec {
  if (!metadata.isTensor || !SUPPORTED_TYPES.has(metadata.type)) {
    const kind = metadata.isTensor ? `a ${metadata.type} tensor` : 'not a tensor';
    throw new PlatformError('MODEL.LOAD_FAILED', `The model cannot be served: '${metadata.name}' is ${kind}`);
  }
  // Symbolic dimensions ('batch') and unnamed dynamic ones both mean "any size".
  const shape = metadata.shape.map((size) => (typeof size === 'number' && size >= 0 ? size : null));
  return { name: metadata.name, type: metadata.type as TensorElementType, shape };
}

function toOrtTensor(spec: TensorSpec, tensor: Tensor | undefined): OrtTensor {
  if (!tensor) throw invalidInput(`Missing input '${spec.name}'`);
  assertMatchesSpec(spec, tensor);
  try {
    return new OrtTensor(spec.type, TO_ORT_DATA[spec.type](tensor.data), tensor.shape);
  } catch (error) {
    throw invalidInput(`Input '${spec.name}' cannot be converted to ${spec.type}: ${reasonOf(error)}`, error);
  }
}

function assertMatchesSpec(spec: TensorSpec, { type, shape, data }: Tensor): void {
  const expected = `[${spec.shape.map((size) => size ?? '?').join(', ')}]`;
  if (type !== spec.type) throw invalidInput(`Input '${spec.name}' must be ${spec.type}, got ${type}`);
  const fits = shape.length === spec.shape.length && spec.shape.every((size, axis) => size === null || size === shape[axis]);
  if (!fits) throw invalidInput(`Input '${spec.name}' must have shape ${expected}, got [${shape.join(', ')}]`);
  const size = shape.reduce((product, dimension) => product * dimension, 1);
  if (data.length !== size) throw invalidInput(`Input '${spec.name}' has ${data.length} values but shape [${shape.join(', ')}] needs ${size}`);
  const kind = JS_KIND_OF[type];
  if (!(data as unknown[]).every((value) => typeof value === kind)) throw invalidInput(`Input '${spec.name}' must hold only ${kind} values`);
}

function fromOrtTensor(type: TensorElementType, tensor: OrtTensor): Tensor {
  return { type, shape: [...tensor.dims], data: fromOrtData(type, tensor.data) };
}

function fromOrtData(type: TensorElementType, data: OrtTensor.DataType): TensorData {
  switch (type) {
    case 'int64':
      return Array.from(data as BigInt64Array, Number);
    case 'bool':
      return Array.from(data as Uint8Array, Boolean);
    case 'string':
      return data as string[];
    // Without a native Float16Array, onnxruntime hands float16 data over as raw bits.
    case 'float16':
      return data instanceof Uint16Array ? Array.from(data, numberFromFloat16Bits) : Array.from(data as ArrayLike<number>);
    default:
      return Array.from(data as ArrayLike<number>);
  }
}

function invalidInput(message: string, cause?: unknown): PlatformError {
  return new PlatformError('MODEL.INVALID_INPUT', message, { permanent: true, cause });
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const float32View = new Float32Array(1);
const float32Bits = new Uint32Array(float32View.buffer);

/** IEEE half-precision bits of `value`, rounded to nearest even (via float32). */
function float16Bits(value: number): number {
  float32View[0] = value;
  const bits = float32Bits[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent === 128 + 15) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Infinity or NaN
  if (exponent >= 0x1f) return sign | 0x7c00;
  if (exponent < -10) return sign;
  const subnormal = exponent <= 0;
  const shift = subnormal ? 14 - exponent : 13;
  const significand = subnormal ? mantissa | 0x800000 : mantissa;
  const truncated = (subnormal ? 0 : exponent << 10) | (significand >>> shift);
  const remainder = significand & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  const roundUp = remainder > halfway || (remainder === halfway && (truncated & 1) === 1);
  return sign | (truncated + (roundUp ? 1 : 0));
}

function numberFromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
