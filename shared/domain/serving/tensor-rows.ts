import type { Tensor } from '../model-signature.js';

/**
 * Row-wise tensor operations for coalescing requests into one model run: the first dimension of
 * every tensor is the batch, and the rest of the shape must agree for tensors to be stacked.
 */

/** True when the tensors can be stacked along their first dimension: same type and the same shape past it. */
export function stackable(tensors: Tensor[]): boolean {
  const [first, ...others] = tensors;
  if (!first || first.shape.length === 0) return false;
  for (const tensor of others) {
    if (tensor.type !== first.type || tensor.shape.length !== first.shape.length) return false;
    for (let axis = 1; axis < first.shape.length; axis++) if (tensor.shape[axis] !== first.shape[axis]) return false;
  }
  return true;
}

/** The tensors stacked along their first dimension (call {@link stackable} first). */
export function stackRows(tensors: Tensor[]): Tensor {
  const [first] = tensors;
  if (tensors.length === 1) return first!;
  let rows = 0;
  let length = 0;
  for (const tensor of tensors) {
    rows += tensor.shape[0]!;
    length += tensor.data.length;
  }
  const data = new Array(length);
  let offset = 0;
  for (const tensor of tensors) {
    const values = tensor.data;
    for (let index = 0; index < values.length; index++) data[offset + index] = values[index];
    offset += values.length;
  }
  return { type: first!.type, shape: [rows, ...first!.shape.slice(1)], data: data as Tensor['data'] };
}

/** Rows `start` to `end` (exclusive) of a tensor whose first dimension is the batch. */
export function sliceRows(tensor: Tensor, start: number, end: number): Tensor {
  const rows = tensor.shape[0]!;
  if (start === 0 && end === rows) return tensor;
  const width = rows === 0 ? 0 : tensor.data.length / rows;
  return { type: tensor.type, shape: [end - start, ...tensor.shape.slice(1)], data: tensor.data.slice(start * width, end * width) as Tensor['data'] };
}
