import type { ModelSignature, ServedGraph, Tensor } from '../domain/model-signature.js';

/** A model loaded once and ready to run many times. */
export interface LoadedModel {
  signature: ModelSignature;
  /** What onnxruntime runs: the uploaded graph, or one derived from it so every output is a tensor. */
  served: ServedGraph;
  /** The model file's own key/value metadata (ONNX metadata_props), e.g. `feature_names`. */
  metadata: Record<string, string>;
  /** Runs the model on named input tensors and returns every output tensor by name. */
  run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  close(): Promise<void>;
}

/** Loads model bytes into a runnable model; fails with ModelLoadError when the bytes are not a valid model. */
export interface ModelRunner {
  load(bytes: Uint8Array): Promise<LoadedModel>;
}
