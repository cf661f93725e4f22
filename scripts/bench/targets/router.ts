import { Agent } from 'node:http';
import { ServingRouter } from '../../../shared/adapters/local-serving/index.js';

// The local router (a model's stable URL) in a process of its own, forwarding to one revision,
// with the agent settings the local deployer gives it.
const router = new ServingRouter();
router.switchTo({ port: Number(process.env.BENCH_UPSTREAM_PORT), agent: new Agent({ keepAlive: true, maxSockets: 256 }) });
await router.listen(Number(process.env.PORT ?? 8080));
process.once('SIGTERM', () => void router.close().then(() => process.exit(0)));
