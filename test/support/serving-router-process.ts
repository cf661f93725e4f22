import { Agent } from 'node:http';
import { ServingRouter } from '../../shared/adapters/local-serving/serving-router.js';

// A model's stable URL in a process of its own, with the deployer's defaults, in front of the
// revision on ROUTER_UPSTREAM_PORT: a test can watch its memory and its sockets apart from its own.
const router = new ServingRouter({ model: 'churn' });
router.switchTo({ port: Number(process.env.ROUTER_UPSTREAM_PORT), agent: new Agent({ keepAlive: true, maxSockets: 256 }) });
const port = await router.listen(0);
process.stdout.write(`listening on ${port}\n`);
process.once('SIGTERM', () => void router.close().then(() => process.exit(0)));
