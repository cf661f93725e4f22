/** Element types a model input or output may carry, named as in the ONNX type system. */
export type TensorElementType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'string' | 'uint8' | 'int8' | 'float16';

/** One named input or output of a model: its element type and shape (null marks a dynamic dimension). */
export interface TensorSpec {
  name: string;
  type: TensorElementType;
  shape: (number | null)[];
}

/** What a model accepts and returns, read from the model file itself. */
export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** A dense tensor passed to or returned from a model: flat row-major data and its shape. */
export interface Tensor {
  type: TensorElementType;
  shape: number[];
  data: number[] | boolean[] | string[];
}

/** A model loaded once and ready to run many times. */
export interface LoadedModel {
  signature: ModelSignature;
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
