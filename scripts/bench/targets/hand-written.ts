import { createServer } from 'node:http';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { CLASSIFIER, smallModelOnnx } from '../models.js';

// The hand-written minimum for the serving job: node:http, read the body, JSON.parse, the rows into
// one Float32Array, one session.run on the benchmark model, JSON.stringify the predictions. No
// framework, no ids, no metrics, no prediction log: the limit the serving revision is measured against.
const session = await InferenceSession.create(smallModelOnnx());
const [input] = session.inputNames as [string];
const features = CLASSIFIER.featureNames.length;

async function predict(body: string): Promise<string> {
  const { instances } = JSON.parse(body) as { instances: number[][] };
  const data = new Float32Array(instances.length * features);
  for (const [index, row] of instances.entries()) data.set(row, index * features);
  const outputs = await session.run({ [input]: new Tensor('float32', data, [instances.length, features]) });
  const probability = outputs.probability!.data as Float32Array;
  const label = outputs.label!.data as BigInt64Array;
  return JSON.stringify({ predictions: instances.map((_, index) => ({ probability: probability[index], label: Number(label[index]) })) });
}

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    if (request.method !== 'POST') return void response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    predict(Buffer.concat(chunks).toString()).then(
      (answer) => response.writeHead(200, { 'content-type': 'application/json' }).end(answer),
      (error: Error) => response.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.message })),
    );
  });
});
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
