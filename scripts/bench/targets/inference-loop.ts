import { InferenceSession, Tensor } from 'onnxruntime-node';
import { OnnxModelRunner } from '../../../shared/adapters/onnx/index.js';
import { featureRows, smallModelOnnx } from '../models.js';

// The inference limit: session.run in a loop, one call at a time, on the benchmark model and the
// rows /predict is sent; then the same through the platform's ModelRunner adapter. Prints JSON.
const seconds = Number(process.env.BENCH_LOOP_SECONDS ?? 2);
const bytes = smallModelOnnx();
const session = await InferenceSession.create(bytes);
const loaded = await new OnnxModelRunner().load(bytes);

async function callsPerSecond(call: () => Promise<unknown>): Promise<number> {
  for (let index = 0; index < 2000; index++) await call();
  let calls = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (let index = 0; index < 100; index++) await call();
    calls += 100;
  }
  return calls / ((performance.now() - started) / 1000);
}

const results: Record<string, { sessionRun: number; modelRunner: number }> = {};
for (const rows of [1, 64]) {
  const data = featureRows(rows).flat();
  const feeds = { features: new Tensor('float32', Float32Array.from(data), [rows, 4]) };
  const inputs = { features: { type: 'float32' as const, shape: [rows, 4], data } };
  results[rows] = { sessionRun: await callsPerSecond(() => session.run(feeds)), modelRunner: await callsPerSecond(() => loaded.run(inputs)) };
}
process.stdout.write(`${JSON.stringify(results)}\n`);
await session.release();
await loaded.close();
