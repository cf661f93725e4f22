/** ModelRunner backend that runs ONNX models in-process on CPU with onnxruntime-node. */
export { OnnxModelRunner } from './onnx-model-runner.js';
