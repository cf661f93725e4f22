import { type ProfileSummary, packageShare } from './profile.js';
import { count, latency, percent, times } from './report.js';
import { FASTAPI_REQUESTS_PER_SECOND, type InferenceLimit } from './serving-entries.js';
import { type Layer, type LayerId, perRequestMicros } from './serving-layers.js';

/** Express 5 and the middleware the Functions Framework puts in front of every function. */
const EXPRESS =
  /^(express|router|body-parser|raw-body|type-is|on-finished|finalhandler|content-type|media-typer|mime-types|iconv-lite|bytes|qs|statuses|http-errors|parseurl|encodeurl|send|vary|accepts|negotiator|fresh|proxy-addr|forwarded|cookie|@google-cloud\/functions-framework)$/;
/** What the domain module costs: its async hook runs for every async resource in the process. */
const DOMAIN = /^node: (domain|async_hooks)$/;
/** The full WHATWG Request that @hono/node-server builds when something reads `raw.body`. */
const FULL_REQUEST = /^(undici \(node: core\)|node: (webstreams|abort_controller|worker|event_target))$/;

/** What the measurements say, in prose with their numbers: recommendation, causes, fixes. */
export function servingFindings(layers: Layer[], profiles: { entry: string; summary: ProfileSummary }[], inference: InferenceLimit): string {
  const layer = (id: LayerId) => layers.find((candidate) => candidate.id === id)!;
  const rate = (id: LayerId) => layer(id).load.requestsPerSecond;
  const micros = (id: LayerId) => `${count(perRequestMicros(layer(id)))} µs`;
  const added = (id: LayerId, base: LayerId) => {
    const delta = perRequestMicros(layer(id)) - perRequestMicros(layer(base));
    return delta > 0 ? `${count(delta)} µs` : 'nothing measurable';
  };
  const framework = profiles.find((profile) => profile.entry === 'functions-framework')!.summary;
  const direct = profiles.find((profile) => profile.entry === 'node-server')!.summary;
  const withoutLimit = perRequestMicros(layer('node-server')) - (perRequestMicros(layer('hono-body-limit')) - perRequestMicros(layer('hono-hello')));
  const [winner, loser] =
    rate('node-server') >= rate('functions-framework') ? (['node-server', 'functions-framework'] as const) : (['functions-framework', 'node-server'] as const);
  const entryName = {
    'node-server': '`functions/serve/server.ts` (the app on @hono/node-server)',
    'functions-framework': '`functions/serve/index.ts` (the Functions Framework)',
  };
  return [
    '### Findings',
    '',
    `**Serving entry.** Serve with ${entryName[winner]}: at one row and 32 connections it answered ${count(rate(winner))} req/s (p99 ${latency(layer(winner).load.p99Ms)}) against ${count(rate(loser))} req/s (p99 ${latency(layer(loser).load.p99Ms)}) for ${entryName[loser]}, ${times(rate(winner) / rate(loser))}. Gen2 functions are Cloud Run services, so the serving container can start \`server.ts\` directly; the framework adds nothing the app needs on the hot path (the app routes, parses and maps errors itself).`,
    '',
    `**Where the Functions Framework's time goes.** Its floor, a function answering a fixed JSON, is ${count(rate('ff-hello'))} req/s, ${percent(rate('ff-hello') / rate('bare'))} of bare node:http, before any of our code runs. Profiled under load with the serving app: the \`domain\` module and async hooks take ${percent(packageShare(framework, DOMAIN))} of busy self time (the framework wraps every request in \`domain.create()\` / \`d.run()\` in function_wrappers.js; loading \`domain\` installs a process-wide async hook, so every promise and async resource, Hono's, onnxruntime's and the Pub/Sub client's included, pays init and destroy callbacks on top of the self time shown), Express 5 with its router and the five body parsers tried in turn ${percent(packageShare(framework, EXPRESS))} (body-parser already parses the JSON, which the app parses again from \`rawBody\`), garbage collection ${percent(framework.gcShare)}. The same app costs ${added('functions-framework', 'ff-hello')} per request inside the framework, against ${added('node-server', 'bare')} on @hono/node-server over bare node:http: the async hook's toll on every promise it makes.`,
    '',
    `**Why the @hono/node-server entry misses the throughput and latency targets.** Layer by layer (table above), per request: bare node:http ${micros('bare')}; Hono parsing and answering JSON on @hono/node-server ${micros('hono-hello')}; \`hono/body-limit\`, which guards /predict and /infer, adds ${added('hono-body-limit', 'hono-hello')}. That middleware reads \`c.req.raw.body\`, and the getter makes @hono/node-server give up its lightweight request and build a full WHATWG Request: an undici \`Request\`, an \`AbortController\` (made transferable, hence \`makeTransferable\`), and the body as a web stream, which \`c.req.text()\` then reads back. In the entry's profile, undici, web streams, AbortController and event-target code take ${percent(packageShare(direct, FULL_REQUEST))} of busy self time. The serving app's own work (decode, ONNX through the adapter, ids, metrics) adds ${added('app-no-log', 'hono-body-limit')}, and the prediction log ${added('node-server', 'app-no-log')}. The model is not the bottleneck: session.run takes ${count(1e6 / inference[1]!.sessionRun)} µs a call in a loop, ${count(1e6 / inference[1]!.modelRunner)} µs through the ModelRunner adapter.`,
    '',
    `At 32 connections latency follows from throughput (Little's law: mean latency ≈ 32 / req/s), so a p99 under 5 ms needs well over ${count(32 / 0.005)} req/s; the latency target falls or stands with the throughput one. The 7× FastAPI target is ${count(7 * FASTAPI_REQUESTS_PER_SECOND)} req/s, ${percent((7 * FASTAPI_REQUESTS_PER_SECOND) / rate('bare'))} of what bare node:http reached here with the load generator on the same two cores.`,
    '',
    '**What would fix it**, in order of what the layers say it is worth:',
    '',
    `1. Replace \`hono/body-limit\` in \`functions/serve/app.ts\` with a check of the \`Content-Length\` header before \`c.req.text()\` (and a byte count while reading when the body is chunked), so @hono/node-server keeps its fast path: worth about ${added('hono-body-limit', 'hono-hello')} a request (${count(rate('hono-body-limit'))} → ${count(rate('hono-hello'))} req/s for the bare Hono layer). By the layers' arithmetic /predict would then take ${count(withoutLimit)} µs a request, about ${count(1e6 / withoutLimit)} req/s: ${percent(1e6 / withoutLimit / rate('bare'))} of bare HTTP and ${times(1e6 / withoutLimit / FASTAPI_REQUESTS_PER_SECOND)} FastAPI.`,
    '2. Run the serving function from `functions/serve/server.ts`, not under the Functions Framework (above).',
    `3. The 50% target itself sets a budget: half the bare server's rate is twice its time per request, so everything beyond bare node:http must fit in ${micros('bare')} a request. Here Hono alone takes ${added('hono-hello', 'bare')}, session.run ${count(1e6 / inference[1]!.sessionRun)} µs (${count(1e6 / inference[1]!.modelRunner)} µs through the adapter), the rest of the app's work ${added('app-no-log', 'hono-body-limit')} and the prediction log ${added('node-server', 'app-no-log')}. So no path that runs the model once per request on the server's thread meets it on this machine; what would narrow the gap is micro-batching concurrent requests into one session.run (64 rows cost ${count(1e6 / inference[64]!.sessionRun)} µs a call against ${count(1e6 / inference[1]!.sessionRun)} µs for one) and trimming the app's own heaviest frames under load: ${ownFrames(direct)}. Socket writes (\`writev\`) and garbage collection are node:http's own and show in the bare server too.`,
  ].join('\n');
}

/** The project's own functions with the most self time, e.g. "`records` (functions/serve/app.ts, 2.1%)". */
function ownFrames(summary: ProfileSummary): string {
  const own = summary.allFrames.filter((frame) => /^(functions|shared)\//.test(frame.where)).slice(0, 3);
  return own.length === 0 ? 'none above the noise' : own.map((frame) => `\`${frame.name}\` (${frame.where}, ${percent(frame.share)})`).join(', ');
}
