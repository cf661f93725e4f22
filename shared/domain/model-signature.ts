/** Element types a model input or output may carry, named as in the ONNX type system. */
export type TensorElementType = 'float32' | 'float64' | 'int32' | 'int64' | 'bool' | 'string' | 'uint8' | 'int8' | 'float16';

/** One named input or output of a model: its element type and shape (null marks a dynamic dimension). */
export interface TensorSpec {
  name: string;
  type: TensorElementType;
  shape: (number | null)[];
  /**
   * Class labels the model itself names for this output, as text: for probabilities, one per column
   * in column order; for a predicted label, the labels it can take. Read from a ZipMap or a classifier node.
   */
  classes?: string[];
  /** /predict answers each row of this output as an object keyed by class: the exported graph ended in a ZipMap. */
  keyedByClass?: boolean;
  /** The activation that produces this output, when it is one that makes probabilities. */
  activation?: 'softmax' | 'sigmoid';
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

/** The graph a model is served from, when it differs from the uploaded file. */
export interface ServedGraph {
  /** sha256 of the bytes onnxruntime runs: the upload's own when nothing was derived. */
  sha256: string;
  /** True when the served graph was derived from the upload (the upload itself is never changed). */
  derived: boolean;
  /** What was changed, in words: e.g. "output_probability: ZipMap removed, serving its input probabilities". */
  changes: string[];
}

/** The ONNX metadata key that names a [batch, k] input's k columns, as a JSON array of strings. */
export const FEATURE_NAMES_METADATA_KEY = 'feature_names';
