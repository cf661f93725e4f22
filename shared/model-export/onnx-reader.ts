import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { PlatformError } from '../domain/errors.js';
import { FEATURE_NAMES_METADATA_KEY } from './onnx-writer.js';

const { onnx } = onnxProto;

/** Reads an ONNX model's metadata_props as a plain record; onnxruntime does not expose them. */
export function readModelMetadata(bytes: Uint8Array): Record<string, string> {
  const model = decodeModel(bytes);
  return Object.fromEntries(model.metadataProps.map(({ key, value }) => [key ?? '', value ?? '']));
}

/** The feature names an exporter stored in the model, or undefined when it stored none. */
export function readFeatureNames(bytes: Uint8Array): string[] | undefined {
  const stored = readModelMetadata(bytes)[FEATURE_NAMES_METADATA_KEY];
  if (stored === undefined) return undefined;
  const names: unknown = parseJson(stored);
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
    throw notAValidModel(`metadata '${FEATURE_NAMES_METADATA_KEY}' is not a JSON array of strings`);
  }
  return names;
}

// Bytes that do not decode never will, so the failure is permanent.
function decodeModel(bytes: Uint8Array): OnnxTypes.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw notAValidModel(error instanceof Error ? error.message : String(error), error);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw notAValidModel(`metadata '${FEATURE_NAMES_METADATA_KEY}' is not valid JSON`, error);
  }
}

function notAValidModel(reason: string, cause?: unknown): PlatformError {
  return new PlatformError('MODEL.LOAD_FAILED', `The file is not a valid ONNX model: ${reason}`, { permanent: true, cause });
}
