import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { LinearScore } from '../domain/explain/linear-attribution.js';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

/**
 * A model whose scores are linear in its one [N, k] input, as read from its graph: a classifier's
 * scores are the logits of its classes (its decision function), a regressor's score its value.
 */
export interface LinearModel {
  /** The graph input, an [N, k] numeric tensor. */
  input: string;
  /** k, the input's columns. */
  width: number;
  /** One score per output column, over the input's raw values (a Scaler before the linear node folded in). */
  scores: LinearScore[];
  /** classifier: the scores become probabilities (or the node is a LinearClassifier); regressor: the score is the value. */
  kind: 'classifier' | 'regressor';
}

const ML_DOMAIN = 'ai.onnx.ml';
const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE]);
const NUMERIC_INPUTS = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.INT32, DataType.INT64, DataType.INT16, DataType.INT8, DataType.UINT8]);
// What may follow the linear node: label and probability plumbing that leaves its scores as they are.
const DOWNSTREAM = new Set([
  'Identity',
  'Cast',
  'ZipMap',
  'Normalizer',
  'Reshape',
  'Flatten',
  'Squeeze',
  'Unsqueeze',
  'ArgMax',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
]);
const ACTIVATIONS = new Set(['Sigmoid', 'Softmax']);
// LinearClassifier post-transforms under which each score is the class's logit (PROBIT and SOFTMAX_ZERO are not).
const LOGIT_TRANSFORMS = new Set(['NONE', 'LOGISTIC', 'SOFTMAX']);

type Node = OnnxTypes.INodeProto;

/** A Scaler's offset and scale on the input's path to the linear node (none: 0 and 1). */
interface Scaling {
  offset: number[];
  scale: number[];
  read: boolean;
}

/**
 * Reads a linear model from ONNX bytes: LinearClassifier or LinearRegressor (ai.onnx.ml), or
 * MatMul (+ Add) or Gemm with constant weights, optionally after Cast and/or Scaler on the one
 * [N, k] input, followed by nothing but label and probability plumbing (one Sigmoid or Softmax).
 * Anything else, or bytes that are not a model, gives undefined: the model is then explained by sampling.
 */
export function linearModelOf(bytes: Uint8Array): LinearModel | undefined {
  let model: OnnxTypes.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch {
    return undefined;
  }
  const graph = model.graph;
  if (!graph) return undefined;
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const inputs = (graph.input ?? []).filter((input) => !initializers.has(input.name ?? ''));
  const width = inputs.length === 1 ? matrixWidth(inputs[0]!) : undefined;
  if (width === undefined) return undefined;
  return readChain(graph, inputs[0]!.name ?? '', width, initializers);
}

function matrixWidth(input: OnnxTypes.IValueInfoProto): number | undefined {
  const tensor = input.type?.tensorType;
  const dims = tensor?.shape?.dim ?? [];
  if (!tensor || !NUMERIC_INPUTS.has(tensor.elemType ?? 0) || dims.length !== 2) return undefined;
  const width = integer(dims[1]!.dimValue) ?? 0;
  return width >= 1 ? width : undefined;
}

function readChain(graph: OnnxTypes.IGraphProto, input: string, width: number, initializers: Map<string, OnnxTypes.ITensorProto>): LinearModel | undefined {
  const nodes = graph.node ?? [];
  const chain: Node[] = [];
  const scaling: Scaling = { offset: new Array(width).fill(0), scale: new Array(width).fill(1), read: false };
  let tensor = input;
  for (let node = soleConsumer(nodes, tensor); node; node = soleConsumer(nodes, tensor)) {
    chain.push(node);
    if (node.opType === 'Cast' && !node.domain && FLOAT_TYPES.has(integer(attribute(node, 'to')?.i) ?? 0)) tensor = node.output?.[0] ?? '';
    else if (node.opType === 'Scaler' && node.domain === ML_DOMAIN && readScaler(node, scaling)) tensor = node.output?.[0] ?? '';
    else {
      const linear = readLinear(nodes, node, width, initializers, chain);
      if (!linear || !onlyPlumbingAfter(nodes, chain, linear.kind === 'classifier' && !isLinearClassifier(node))) return undefined;
      return { input, width, scores: linear.scores.map((score) => folded(score, scaling)), kind: linear.kind };
    }
  }
  return undefined;
}

function soleConsumer(nodes: readonly Node[], tensor: string): Node | undefined {
  const consumers = nodes.filter((node) => node.input?.includes(tensor));
  return consumers.length === 1 ? consumers[0] : undefined;
}

function readScaler(node: Node, scaling: Scaling): boolean {
  const width = scaling.offset.length;
  const offset = attribute(node, 'offset')?.floats ?? [];
  const scale = attribute(node, 'scale')?.floats ?? [];
  const fits = (values: readonly number[]) => values.length === 0 || values.length === 1 || values.length === width;
  // Two Scalers in a row compose, but exporters never write them: one is all that is read.
  if (!fits(offset) || !fits(scale) || scaling.read) return false;
  scaling.read = true;
  for (let column = 0; column < width; column++) {
    scaling.offset[column] = offset.length === 0 ? 0 : offset[offset.length === 1 ? 0 : column]!;
    scaling.scale[column] = scale.length === 0 ? 1 : scale[scale.length === 1 ? 0 : column]!;
  }
  return true;
}

// score = Σ w·(x − offset)·scale + b = Σ (w·scale)·x + (b − Σ w·scale·offset)
function folded({ weights, intercept }: LinearScore, { offset, scale }: Scaling): LinearScore {
  const scaled = weights.map((weight, column) => weight * scale[column]!);
  return { weights: scaled, intercept: scaled.reduce((total, weight, column) => total - weight * offset[column]!, intercept) };
}

function isLinearClassifier(node: Node): boolean {
  return node.opType === 'LinearClassifier' && node.domain === ML_DOMAIN;
}

type Linear = { scores: LinearScore[]; kind: LinearModel['kind'] };

/** The linear node's scores; a MatMul's Add joins `chain`. */
function readLinear(nodes: readonly Node[], node: Node, width: number, initializers: Map<string, OnnxTypes.ITensorProto>, chain: Node[]): Linear | undefined {
  if (node.domain === ML_DOMAIN && (node.opType === 'LinearClassifier' || node.opType === 'LinearRegressor')) return readLinearNode(node, width);
  if (node.domain) return undefined;
  const linear =
    node.opType === 'MatMul' ? readMatMul(nodes, node, width, initializers, chain) : node.opType === 'Gemm' ? readGemm(node, width, initializers) : undefined;
  if (!linear) return undefined;
  const activation = soleConsumer(nodes, chain.at(-1)!.output?.[0] ?? '');
  return { scores: linear, kind: activation && ACTIVATIONS.has(activation.opType ?? '') && !activation.domain ? 'classifier' : 'regressor' };
}

function readLinearNode(node: Node, width: number): Linear | undefined {
  const classifier = node.opType === 'LinearClassifier';
  const transform = text(attribute(node, 'post_transform')) || 'NONE';
  if (classifier ? !LOGIT_TRANSFORMS.has(transform) : transform !== 'NONE') return undefined;
  const coefficients = attribute(node, 'coefficients')?.floats ?? [];
  const intercepts = attribute(node, 'intercepts')?.floats ?? [];
  const count = coefficients.length / width;
  if (!Number.isInteger(count) || count < 1 || (intercepts.length !== 0 && intercepts.length !== count)) return undefined;
  if (!classifier && (integer(attribute(node, 'targets')?.i) ?? 1) !== count) return undefined;
  const scores = Array.from({ length: count }, (_, row) => ({
    weights: coefficients.slice(row * width, (row + 1) * width),
    intercept: intercepts[row] ?? 0,
  }));
  return { scores, kind: classifier ? 'classifier' : 'regressor' };
}

function readMatMul(
  nodes: readonly Node[],
  node: Node,
  width: number,
  initializers: Map<string, OnnxTypes.ITensorProto>,
  chain: Node[],
): LinearScore[] | undefined {
  const weights = matrixOf(initializers.get(node.input?.[1] ?? ''));
  if (!weights || weights.rows !== width) return undefined;
  const add = soleConsumer(nodes, node.output?.[0] ?? '');
  const bias = add?.opType === 'Add' && !add.domain ? biasOf(add, node.output?.[0] ?? '', initializers, weights.columns) : undefined;
  if (bias) chain.push(add!);
  return columnsOf(weights, 1, bias ?? new Array(weights.columns).fill(0));
}

function readGemm(node: Node, width: number, initializers: Map<string, OnnxTypes.ITensorProto>): LinearScore[] | undefined {
  if ((integer(attribute(node, 'transA')?.i) ?? 0) !== 0) return undefined;
  const stored = matrixOf(initializers.get(node.input?.[1] ?? ''));
  const weights = stored && (integer(attribute(node, 'transB')?.i) ?? 0) !== 0 ? transposed(stored) : stored;
  if (!weights || weights.rows !== width) return undefined;
  const alpha = attribute(node, 'alpha')?.f ?? 1;
  const beta = attribute(node, 'beta')?.f ?? 1;
  const bias = node.input?.[2] ? broadcast(floatsOf(initializers.get(node.input[2])), weights.columns) : new Array(weights.columns).fill(0);
  return bias
    ? columnsOf(
        weights,
        alpha,
        bias.map((value) => beta * value),
      )
    : undefined;
}

function biasOf(add: Node, operand: string, initializers: Map<string, OnnxTypes.ITensorProto>, columns: number): number[] | undefined {
  const other = add.input?.find((name) => name !== operand);
  return other ? broadcast(floatsOf(initializers.get(other)), columns) : undefined;
}

function broadcast(values: number[] | undefined, columns: number): number[] | undefined {
  if (values?.length === columns) return values;
  return values?.length === 1 ? new Array(columns).fill(values[0]) : undefined;
}

interface Matrix {
  rows: number;
  columns: number;
  values: number[];
}

function matrixOf(tensor: OnnxTypes.ITensorProto | undefined): Matrix | undefined {
  const values = floatsOf(tensor);
  const dims = (tensor?.dims ?? []).map((dim) => integer(dim) ?? 0);
  if (!values || dims.length !== 2 || dims[0]! * dims[1]! !== values.length) return undefined;
  return { rows: dims[0]!, columns: dims[1]!, values };
}

function transposed({ rows, columns, values }: Matrix): Matrix {
  return {
    rows: columns,
    columns: rows,
    values: Array.from({ length: values.length }, (_, index) => values[(index % rows) * columns + Math.floor(index / rows)]!),
  };
}

function columnsOf({ rows, columns, values }: Matrix, alpha: number, bias: number[]): LinearScore[] {
  return Array.from({ length: columns }, (_, column) => ({
    weights: Array.from({ length: rows }, (_, row) => alpha * values[row * columns + column]!),
    intercept: bias[column]!,
  }));
}

/** A constant float tensor's values, from its typed fields or its raw little-endian bytes. */
function floatsOf(tensor: OnnxTypes.ITensorProto | undefined): number[] | undefined {
  if (!tensor) return undefined;
  const raw = tensor.rawData && tensor.rawData.length > 0 ? tensor.rawData : undefined;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  if (tensor.dataType === DataType.FLOAT) {
    return view ? Array.from({ length: view.byteLength / 4 }, (_, index) => view.getFloat32(index * 4, true)) : [...(tensor.floatData ?? [])];
  }
  if (tensor.dataType === DataType.DOUBLE) {
    return view ? Array.from({ length: view.byteLength / 8 }, (_, index) => view.getFloat64(index * 8, true)) : [...(tensor.doubleData ?? [])];
  }
  return undefined;
}

/** True when every node past the chain works on the linear node's outputs alone and leaves its scores as they are. */
function onlyPlumbingAfter(nodes: readonly Node[], chain: readonly Node[], activationAllowed: boolean): boolean {
  const produced = new Set(chain.at(-1)!.output ?? []);
  let activations = 0;
  for (const node of nodes) {
    if (chain.includes(node)) continue;
    const isActivation = ACTIVATIONS.has(node.opType ?? '') && !node.domain;
    if (!(DOWNSTREAM.has(node.opType ?? '') || isActivation)) return false;
    if (isActivation && (++activations > 1 || !activationAllowed)) return false;
    if (!(node.input ?? []).some((name) => produced.has(name))) return false;
    for (const output of node.output ?? []) produced.add(output);
  }
  return true;
}

function attribute(node: Node, name: string): OnnxTypes.IAttributeProto | undefined {
  return node.attribute?.find((candidate) => candidate.name === name);
}

function text(attribute: OnnxTypes.IAttributeProto | undefined): string {
  return attribute?.s ? new TextDecoder().decode(attribute.s) : '';
}

// protobufjs reads int64 fields as Long objects (or numbers without long.js).
function integer(value: number | { toString(): string } | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Number(value.toString());
}
