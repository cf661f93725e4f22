import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { PlatformError } from '../domain/errors.js';
import type { ServedGraph } from '../domain/model-signature.js';

const { onnx } = onnxProto;

/** What the graph says of one output beyond its tensor type. */
export interface OutputFacts {
  classes?: string[];
  keyedByClass?: boolean;
  activation?: 'softmax' | 'sigmoid';
}

/** An uploaded model made ready for onnxruntime: the bytes to run, what was changed, and what the graph says of its outputs. */
export interface ServableModel {
  bytes: Uint8Array;
  served: ServedGraph;
  metadata: Record<string, string>;
  outputs: Record<string, OutputFacts>;
}

const ML_DOMAIN = 'ai.onnx.ml';
// Classifier nodes: output 0 is the label, output 1 the per-class scores; class labels in these attributes.
const CLASSIFIERS: Record<string, readonly string[]> = {
  LinearClassifier: ['classlabels_ints', 'classlabels_strings'],
  TreeEnsembleClassifier: ['classlabels_int64s', 'classlabels_strings'],
  SVMClassifier: ['classlabels_ints', 'classlabels_strings'],
};
// Nodes that keep their input's columns: a classifier's scores stay its scores through them.
const COLUMN_PRESERVING = new Set(['Identity', 'Cast', 'Normalizer', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);
const ACTIVATIONS: Record<string, OutputFacts['activation']> = { Softmax: 'softmax', Sigmoid: 'sigmoid' };
const BATCH_DIMENSION = 'N';

/**
 * Reads an uploaded ONNX file and returns the graph onnxruntime can serve. The upload is never
 * changed; when an output is a ZipMap (seq(map(label, float)), how skl2onnx ends every classifier)
 * the served graph returns the probability tensor that feeds it instead, and `outputs` records the
 * class labels so /predict can answer per-class probabilities keyed by class. Refuses, saying what
 * to do, a model that keeps tensors outside the file or has an output no tensor stands behind.
 */
export function servableModel(bytes: Uint8Array): ServableModel {
  const model = decodeModel(bytes);
  const graph = model.graph;
  if (!graph) throw notAModel('it holds no graph (an empty file, or not an ONNX model)');
  refuseExternalData(graph);
  for (const input of graph.input ?? []) {
    if (!input.type?.tensorType) {
      throw notServable(`input '${input.name}' is ${typeText(input.type)}, not a tensor; /predict feeds tensors only, so export the model with tensor inputs`);
    }
  }
  const producers = producerIndex(graph);
  const outputs: Record<string, OutputFacts> = {};
  const changes: string[] = [];
  for (const output of graph.output ?? []) {
    const name = output.name ?? '';
    if (output.type?.tensorType) outputs[name] = factsOf(name, producers);
    else {
      outputs[name] = unwrapZipMap(model, graph, output, producers);
      changes.push(`${name}: ZipMap removed; serving its input tensor '${producers.get(name)?.input?.[0]}' (class labels kept for /predict)`);
    }
  }
  const metadata = Object.fromEntries((model.metadataProps ?? []).map(({ key, value }) => [key ?? '', value ?? '']));
  const served = changes.length > 0 ? new Uint8Array(onnx.ModelProto.encode(model).finish()) : bytes;
  return { bytes: served, served: { sha256: sha256(served), derived: changes.length > 0, changes }, metadata, outputs };
}

function decodeModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw notAModel(error instanceof Error ? error.message : String(error), error);
  }
}

function notAModel(reason: string, cause?: unknown): PlatformError {
  return new PlatformError('MODEL.LOAD_FAILED', `The file is not a valid ONNX model: ${reason}`, { permanent: true, cause });
}

/** onnxruntime would read external data from the machine's filesystem: such a model is refused before it gets there. */
function refuseExternalData(graph: OnnxTypes.IGraphProto): void {
  const external = findExternalTensor(graph);
  if (!external) return;
  const location = external.externalData?.find((entry) => entry.key === 'location')?.value;
  throw notServable(
    `tensor '${external.name}' is stored outside the file${location ? ` (external data '${location}')` : ''}, and the platform reads nothing but the uploaded file. ` +
      'Save the model with every tensor inside it: onnx.save_model(model, path, save_as_external_data=False) (the file must then stay under 2 GB)',
  );
}

function findExternalTensor(graph: OnnxTypes.IGraphProto): OnnxTypes.ITensorProto | undefined {
  const isExternal = (tensor: OnnxTypes.ITensorProto | null | undefined) =>
    !!tensor && (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (tensor.externalData?.length ?? 0) > 0);
  const sparse = (graph.sparseInitializer ?? []).flatMap((tensor) => [tensor.values, tensor.indices]);
  const direct = [...(graph.initializer ?? []), ...sparse].find(isExternal);
  if (direct) return direct;
  for (const node of graph.node ?? []) {
    for (const attribute of node.attribute ?? []) {
      const tensors = [attribute.t, ...(attribute.tensors ?? []), attribute.sparseTensor?.values, ...(attribute.sparseTensors ?? []).map((s) => s.values)];
      const found = tensors.find(isExternal);
      if (found) return found;
      for (const subgraph of [attribute.g, ...(attribute.graphs ?? [])]) {
        const inner = subgraph ? findExternalTensor(subgraph) : undefined;
        if (inner) return inner;
      }
    }
  }
  return undefined;
}

function producerIndex(graph: OnnxTypes.IGraphProto): Map<string, OnnxTypes.INodeProto> {
  const producers = new Map<string, OnnxTypes.INodeProto>();
  for (const node of graph.node ?? []) for (const output of node.output ?? []) producers.set(output, node);
  return producers;
}

/** Replaces the ZipMap behind `output` with an Identity of its input, typed as the [N, classes] float tensor it is. */
function unwrapZipMap(
  model: OnnxTypes.ModelProto,
  graph: OnnxTypes.IGraphProto,
  output: OnnxTypes.IValueInfoProto,
  producers: Map<string, OnnxTypes.INodeProto>,
): OutputFacts {
  const name = output.name ?? '';
  const zipMap = producers.get(name);
  if (zipMap?.opType !== 'ZipMap' || !isZipMapType(output.type)) {
    throw notServable(
      `output '${name}' is ${typeText(output.type)} with no tensor behind it; /predict answers tensors only. ` +
        'Export the model so every output is a tensor (torch.onnx: return tensors rather than lists or dicts)',
    );
  }
  const classes = classLabels(zipMap, ['classlabels_int64s', 'classlabels_strings']);
  if (!classes) throw notServable(`the ZipMap behind output '${name}' names no class labels`);
  if (!(model.opsetImport ?? []).some((opset) => !opset.domain || opset.domain === 'ai.onnx')) model.opsetImport?.push({ domain: '', version: 13 });
  const index = graph.node!.indexOf(zipMap);
  graph.node![index] = onnx.NodeProto.create({ name: `${zipMap.name || 'ZipMap'}_served`, opType: 'Identity', input: [zipMap.input![0]!], output: [name] });
  producers.set(name, graph.node![index]!);
  output.type = onnx.TypeProto.create({
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: BATCH_DIMENSION }, { dimValue: classes.length }] } },
  });
  return { classes, keyedByClass: true };
}

function isZipMapType(type: OnnxTypes.ITypeProto | null | undefined): boolean {
  const map = type?.sequenceType?.elemType?.mapType;
  return !!map && map.valueType?.tensorType?.elemType === onnx.TensorProto.DataType.FLOAT;
}

/** Follows an output back through column-preserving nodes to a classifier node or an activation. */
function factsOf(name: string, producers: Map<string, OnnxTypes.INodeProto>): OutputFacts {
  let tensor = name;
  for (let hops = 0; hops < 16; hops++) {
    const node = producers.get(tensor);
    if (!node?.opType) return {};
    const labels = CLASSIFIERS[node.opType];
    if (labels && (node.domain ?? '') === ML_DOMAIN) {
      const classes = classLabels(node, labels);
      return classes ? { classes } : {};
    }
    const activation = ACTIVATIONS[node.opType];
    if (activation && !node.domain) return { activation };
    if (!COLUMN_PRESERVING.has(node.opType) || !node.input?.[0]) return {};
    tensor = node.input[0];
  }
  return {};
}

function classLabels(node: OnnxTypes.INodeProto, names: readonly string[]): string[] | undefined {
  for (const name of names) {
    const attribute = node.attribute?.find((candidate) => candidate.name === name);
    if (!attribute) continue;
    const values = attribute.ints?.length
      ? attribute.ints.map((value) => String(value))
      : (attribute.strings ?? []).map((value) => new TextDecoder().decode(value));
    if (values.length > 0) return values;
  }
  return undefined;
}

function typeText(type: OnnxTypes.ITypeProto | null | undefined): string {
  if (!type) return 'of no declared type';
  if (type.tensorType) return 'a tensor';
  if (type.sequenceType) return `a sequence of ${typeText(type.sequenceType.elemType).replace(/^an? /, '')}s`;
  if (type.mapType) return 'a map';
  if (type.optionalType) return 'an optional value';
  if (type.sparseTensorType) return 'a sparse tensor';
  return 'of an unknown type';
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function notServable(reason: string): PlatformError {
  return new PlatformError('MODEL.LOAD_FAILED', `The model cannot be served: ${reason}.`, { permanent: true });
}
