import { type ProfileSummary, packageShare } from './profile.js';
import { count, latency, percent, times } from './report.js';
import { FASTAPI_REQUESTS_PER_SECOND, type InferenceLimit } from './serving-entries.js';
import { APP_USES_BODY_LIMIT, type Layer, type LayerId, perRequestMicros } from './serving-layers.js';

/** Express 5 and the middleware the Functions Framework puts in front of every function. */
const EXPRESS =
  /^(express|router|body-parser|raw-body|type-is|on-finished|finalhandler|content-type|media-typer|mime-types|iconv-lite|bytes|qs|statuses|http-errors|parseurl|encodeurl|send|vary|accepts|negotiator|fresh|proxy-addr|forwarded|cookie|@google-cloud\/functions-framework)$/;
/** What the domain module costs: its async hook runs for every async resource in the process. */
const DOMAIN = /^node: (domain|async_hooks)$/;
/** The full WHATWG Request that @hono/node-server builds when something reads `raw.body`. */
const FULL_REQUEST = /^(undici \(node: core\)|node: (webstreams|abort_controller|worker|event_target))$/;

/** The two entries' profiles under the one-row load. */
export interface EntryProfiles {
  framework: ProfileSummary;
  direct: ProfileSummary;
}

/** What the measurements say, in prose with their numbers: the entry to serve with, where time goes, what would fix it. */
export function servingFindings(layers: Layer[], { framework, direct }: EntryProfiles, inference: InferenceLimit): string {
  const layer = (id: LayerId) => layers.find((candidate) => candidate.id === id)!;
  const rate = (id: LayerId) => layer(id).load.requestsPerSecond;
  const micros = (id: LayerId) => `${count(perRequestMicros(layer(id)))} µs`;
  const delta = (id: LayerId, base: LayerId) => perRequestMicros(layer(id)) - perRequestMicros(layer(base));
  const added = (id: LayerId, base: LayerId) => (delta(id, base) > 0 ? `${count(delta(id, base))} µs` : 'nothing measurable');
  const run = (rows: number) => `${count(1e6 / inference[rows]!.sessionRun)} µs`;
  // The least any Hono server running the model per request adds to bare HTTP: Hono itself plus one session.run.
  const floor = delta('hono-hello', 'bare') + 1e6 / inference[1]!.sessionRun;
  const floorVerdict =
    floor > perRequestMicros(layer('bare'))
      ? `Hono (${added('hono-hello', 'bare')}) and one session.run (${run(1)}) already take ${count(floor)} µs, so no Hono server that runs the model once per request on its one thread can reach 50% here`
      : `Hono (${added('hono-hello', 'bare')}) and one session.run (${run(1)}) take ${count(floor)} µs, leaving ${count(perRequestMicros(layer('bare')) - floor)} µs for decoding, ids, metrics and the log`;
  const appBase: LayerId = APP_USES_BODY_LIMIT ? 'hono-body-limit' : 'hono-hello';
  const [winner, loser] =
    rate('node-server') >= rate('functions-framework') ? (['node-server', 'functions-framework'] as const) : (['functions-framework', 'node-server'] as const);
  const entryName = {
    'node-server': '`functions/serve/server.ts` (the app on @hono/node-server)',
    'functions-framework': '`functions/serve/index.ts` (the Functions Framework)',
  };
  const bodyLimit = APP_USES_BODY_LIMIT
    ? `\`hono/body-limit\`, which guards /predict and /infer, adds ${added('hono-body-limit', 'hono-hello')}: it reads \`c.req.raw.body\`, and that getter makes @hono/node-server give up its lightweight request and build a full WHATWG Request (an undici \`Request\`, an \`AbortController\` made transferable, the body as a web stream); in the entry's profile undici, web streams, AbortController and event-target code take ${percent(packageShare(direct, FULL_REQUEST))} of busy self time.`
    : `The routes' former guard, \`hono/body-limit\`, costs ${added('hono-body-limit', 'hono-hello')} on its own (last row of the Hono block): it reads \`c.req.raw.body\`, which makes @hono/node-server build a full WHATWG Request (undici \`Request\`, a transferable \`AbortController\`, a web stream). The routes now check \`Content-Length\` and read the body directly instead, and that machinery is down to ${percent(packageShare(direct, FULL_REQUEST))} of the entry's busy time.`;
  return [
    '### Findings',
    '',
    `**Serving entry.** Serve with ${entryName[winner]}: at one row and 32 connections it answered ${count(rate(winner))} req/s (p99 ${latency(layer(winner).load.p99Ms)}) against ${count(rate(loser))} req/s (p99 ${latency(layer(loser).load.p99Ms)}) for ${entryName[loser]}, ${times(rate(winner) / rate(loser))}. Gen2 functions are Cloud Run services, so the serving container can start \`server.ts\` directly; the framework adds nothing the app needs on the hot path (the app routes, parses and maps errors itself).`,
    '',
    `**Where the Functions Framework's time goes.** Its floor, a function answering a fixed JSON, is ${count(rate('ff-hello'))} req/s, ${percent(rate('ff-hello') / rate('bare'))} of bare node:http, before any of our code runs. Profiled under load with the serving app: the \`domain\` module and async hooks take ${percent(packageShare(framework, DOMAIN))} of busy self time (the framework wraps every request in \`domain.create()\` / \`d.run()\` in function_wrappers.js; loading \`domain\` installs a process-wide async hook, so every promise and async resource, Hono's, onnxruntime's and the Pub/Sub client's included, pays init and destroy callbacks on top of the self time shown), Express 5 with its router and the five body parsers tried in turn ${percent(packageShare(framework, EXPRESS))} (body-parser already parses the JSON, which the app parses again from \`rawBody\`), garbage collection ${percent(framework.gcShare)}. The same app and log cost ${added('functions-framework', 'ff-hello')} a request inside the framework, against ${added('node-server', 'bare')} on @hono/node-server over bare node:http.`,
    '',
    `**Where the @hono/node-server entry's time goes.** Layer by layer (table above), per request: bare node:http ${micros('bare')}; Hono parsing and answering JSON adds ${added('hono-hello', 'bare')}; the serving app's own work (decode, session.run through the adapter, ids, metrics) ${added('app-no-log', appBase)}; the prediction log ${added('node-server', 'app-no-log')}. ${bodyLimit} The heaviest single frame in the entry's profile is onnxruntime's run wrapper (${percent(packageShare(direct, /^onnxruntime-node$/))} of busy time: session.run is a synchronous native call on the JavaScript thread, ${run(1)} a call in a loop, ${count(1e6 / inference[1]!.modelRunner)} µs through the ModelRunner adapter), then socket writes and garbage collection (${percent(direct.gcShare)}), which bare node:http pays too.`,
    '',
    `**Against the targets.** 50% of bare HTTP means at most twice bare's time per request, so everything beyond bare node:http must fit in ${micros('bare')}: ${floorVerdict}. At 32 connections latency follows from throughput (Little's law: mean latency ≈ 32 / req/s), so a p99 under 5 ms needs well over ${count(32 / 0.005)} req/s. 7× FastAPI is ${count(7 * FASTAPI_REQUESTS_PER_SECOND)} req/s, ${count(1e6 / (7 * FASTAPI_REQUESTS_PER_SECOND))} µs a request, against ${micros('node-server')} now.`,
    '',
    '**What would fix it**, by what the layers say each part is worth:',
    '',
    APP_USES_BODY_LIMIT
      ? `1. Replace \`hono/body-limit\` in \`functions/serve/app.ts\` with a check of \`Content-Length\` before \`c.req.text()\`, so @hono/node-server keeps its fast path: ${added('hono-body-limit', 'hono-hello')} a request.`
      : `1. Done while this benchmark was written: the routes no longer use \`hono/body-limit\` (${added('hono-body-limit', 'hono-hello')} a request).`,
    '2. Serve from `functions/serve/server.ts`, not under the Functions Framework (above).',
    `3. Micro-batch concurrent requests into one session.run: 64 rows cost ${run(64)} a call against ${run(1)} for one, so the model's share of each request shrinks with the batch; the same applies to the prediction log (${added('node-server', 'app-no-log')}), whose record building and publish calls show in the profile (${ownFrames(direct)}).`,
    `4. Even then, ${floorVerdict}. 7× FastAPI leaves ${count(1e6 / (7 * FASTAPI_REQUESTS_PER_SECOND) - perRequestMicros(layer('hono-hello')))} µs above Hono for the app and the log, which take ${added('node-server', 'hono-hello')} now: reachable only if micro-batching (3) takes most of that away.`,
  ].join('\n');
}

/** The project's own functions with the most self time, e.g. "`records` (functions/serve/app.ts, 2.1%)". */
function ownFrames(summary: ProfileSummary): string {
  const own = summary.allFrames.filter((frame) => /^(functions|shared)\//.test(frame.where)).slice(0, 3);
  return own.length === 0 ? 'none above the noise' : own.map((frame) => `\`${frame.name}\` (${frame.where}, ${percent(frame.share)})`).join(', ');
}
