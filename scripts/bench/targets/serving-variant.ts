import { createServingApp } from '../../../functions/serve/app.js';
import { createServingServer } from '../../../functions/serve/http-server.js';
import { OnnxModelRunner } from '../../../shared/adapters/onnx/index.js';
import { benchVersion, smallModelOnnx } from '../models.js';

// Layers of the serving stack, one at a time: what each adds per request.
//   app-no-log   the real serving app (createServingApp) on the revision's server, with no prediction log
const variant = process.env.BENCH_VARIANT ?? 'app-no-log';
if (variant !== 'app-no-log') throw new Error(`Unknown BENCH_VARIANT ${variant}; the one variant is app-no-log`);

const bytes = smallModelOnnx();
const loaded = await new OnnxModelRunner().load(bytes);
const server = createServingServer(createServingApp({ version: benchVersion(bytes, loaded.signature), loaded }).listener);
server.listen(Number(process.env.PORT ?? 8080), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
