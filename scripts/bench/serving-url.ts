import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Model, ModelVersion } from '../../shared/domain/registry.js';
import { platform } from '../../shared/runtime/index.js';
import { MODELS } from './context.js';
import type { BenchContext } from './context.js';
import { type LoadResult, runLoad, runSteadyLoad } from './load.js';
import { CLASSIFIER, smallModelOnnx } from './models.js';
import { environmentValue, pinServingProcesses } from './processes.js';
import { type Case, type CaseResult, responseBytes } from './serving-entries.js';

/** The function that takes the predictions topic into the warehouse: paused while the stable URL is loaded. */
const INGEST = 'ingest-predictions';
/** Load before the promotion starts, and after the old version's processes have exited. */
export const PROMOTE_AFTER_MS = 2000;
export const LOAD_AFTER_MS = 1000;
/** Longest the promotion run may take. */
const PROMOTION_MAX_SECONDS = 60;
/** How long deliveries under way when ingest resumes are given to land before the warehouse is counted. */
const SETTLE_MS = 2000;

/** A promotion made while the stable URL was under load. */
export interface PromotionUnderLoad {
  load: LoadResult;
  from: number;
  to: number;
  /** Promote to the registry recording the new version serving; undefined if that never happened within the run. */
  promotedMs: number | undefined;
  /** Promote to the exit of the processes that served the old version. */
  retiredMs: number | undefined;
}

/** What was measured through the stable URL. */
export interface StableUrlMeasurement {
  url: string;
  /** Processes serving the model that were found and pinned to the server's core (0: the URL's figure ran unpinned). */
  pinned: number;
  throughput: CaseResult;
  /**
   * The same revision process on its own port, loaded just before the URL: the URL's cost is the
   * difference, with the process, its emulator and the platform around it unchanged.
   */
  direct: CaseResult | undefined;
  promotion: PromotionUnderLoad;
  /**
   * The model's predictions in the warehouse after ingest resumed, against the requests answered in the
   * measured runs: the rest were not ingested (the local subscription gives a message up to its
   * dead-letter topic after MAX_DELIVERY_ATTEMPTS failed deliveries).
   */
  ingest: { rows: number; answered: number };
  commands: [string, string][];
}

/**
 * The small model served by the local platform's serving deployer, loaded through its stable URL (what
 * `mlops models show` prints): its throughput, then a promotion to a second version during a load.
 * Ingest is paused meanwhile, so nothing downstream competes for the CPU (as for the revision, whose log
 * goes to an emulator with nothing subscribed): those runs' predictions are not ingested. The revision
 * serving the URL is pinned to the server's core.
 */
export async function measureStableUrl(context: BenchContext, item: Case): Promise<StableUrlMeasurement> {
  const first = await context.registered('small');
  const url = await promoteAndWait(context, first);
  const local = await context.platform();
  await local.pauseFunction(INGEST);
  let resumed = false;
  try {
    const revisions = pinServingProcesses(first.model);
    const bytes = await responseBytes(url, item);
    const { connections, seconds, warmupSeconds } = context.settings;
    const underTest = { groups: [], platform: true };
    const measure = async (base: string, entry: CaseResult['entry']): Promise<CaseResult> => {
      const load = await runSteadyLoad({
        url: `${base}${item.path}`,
        bodyFile: item.bodyFile,
        connections,
        seconds,
        warmupSeconds,
        underTest,
        metricsUrl: `${base}/metrics`,
      });
      return { ...load, entry, rows: item.rows, responseBytes: bytes, serverCommand: '' };
    };
    // The revision's own port (the router listens on the URL's): the first process serving the model that has one.
    const port = revisions.map((pid) => environmentValue(pid, 'PORT')).find((value) => value !== undefined && !url.endsWith(`:${value}`));
    if (!port) console.error(`[bench]   no port found for the revision behind the stable URL among processes ${revisions.join(', ') || '(none)'}`);
    const direct = port ? await measure(`http://127.0.0.1:${port}`, 'platform-revision') : undefined;
    const throughput = await measure(url, 'stable-url');
    const second = await context.upload(first.model, secondModelFile(context));
    const promotion = await promoteUnderLoad(context, `${url}${item.path}`, item, { from: first, to: second, revisions });
    await local.resumeFunction(INGEST);
    resumed = true;
    const ingest = { rows: await ingestedRows(first.model), answered: throughput.requests + promotion.load.requests };
    return { url, pinned: revisions.length, throughput, direct, promotion, ingest, commands: shownCommands(first, second) };
  } finally {
    if (!resumed) await local.resumeFunction(INGEST);
  }
}

/** Promotes `version` with the CLI and waits until `mlops models show` names it serving; returns the URL. */
async function promoteAndWait(context: BenchContext, version: ModelVersion, timeoutMs = 60_000): Promise<string> {
  const promoted = await context.mlops('promote', version.model, String(version.version), '--to', 'production', '--json');
  if (promoted.code !== 0) throw new Error(`mlops promote ${version.model} ${version.version} failed: ${promoted.stderr}`);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const serving = (await shownModel(context))?.serving;
    if (serving?.version === version.version) return serving.url;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${version.model} version ${version.version} was not serving within ${timeoutMs / 1000} s of its promotion`);
}

/** `mlops models show <model> --json`, as a user reads the serving URL and version. */
async function shownModel(context: BenchContext): Promise<Model | undefined> {
  const run = await context.mlops('models', 'show', MODELS.small.name, '--json');
  return run.code === 0 ? (JSON.parse(run.stdout) as { model: Model }).model : undefined;
}

/** What a promotion under load moves between: two versions, and the processes serving the first. */
interface Promotion {
  from: ModelVersion;
  to: ModelVersion;
  revisions: number[];
}

/**
 * Loads the URL reading every answer, promotes `to` after a moment, and keeps the load on until the
 * registry records it serving and the processes that served `from` have exited (or the run's limit).
 */
async function promoteUnderLoad(context: BenchContext, target: string, item: Case, { from, to, revisions }: Promotion): Promise<PromotionUnderLoad> {
  let promotedMs: number | undefined;
  let retiredMs: number | undefined;
  const during = async () => {
    await new Promise((resolve) => setTimeout(resolve, PROMOTE_AFTER_MS));
    const started = performance.now();
    await promoteAndWait(context, to, (PROMOTION_MAX_SECONDS - 5) * 1000);
    promotedMs = performance.now() - started;
    while (revisions.some((pid) => existsSync(`/proc/${pid}`)) && performance.now() - started < (PROMOTION_MAX_SECONDS - 5) * 1000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    retiredMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, LOAD_AFTER_MS));
  };
  const load = await runLoad({
    url: target,
    bodyFile: item.bodyFile,
    connections: context.settings.connections,
    seconds: PROMOTION_MAX_SECONDS,
    warmupSeconds: 0,
    underTest: { groups: [], platform: true },
    countResponses: true,
    during,
  });
  return { load, from: from.version, to: to.version, promotedMs, retiredMs };
}

/** The small model again with another intercept: a second version of it, for the promotion. */
function secondModelFile(context: BenchContext): string {
  const file = join(context.workDir, `${MODELS.small.name}-second.onnx`);
  writeFileSync(file, smallModelOnnx(CLASSIFIER.intercept + 0.1));
  return file;
}

/** The model's predictions in the warehouse once what was still being delivered has landed. */
async function ingestedRows(model: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const warehouse = await platform().warehouse();
  const [row] = await warehouse.query<{ n: number }>('SELECT COUNT(*) AS n FROM {{predictions}} WHERE model = @model', { model });
  return Number(row?.n ?? 0);
}

function shownCommands(first: ModelVersion, second: ModelVersion): [string, string][] {
  const name = first.model;
  return [
    [
      'stable URL',
      `mlops promote ${name} ${first.version} --to production; mlops models show ${name} (its “serving:” URL; the revision behind it pinned with taskset -a -p -c 0)`,
    ],
    ['the revision behind it, on its own port', 'the `PORT` in that process’s environment (/proc/<pid>/environ), loaded just before the URL'],
    [
      'promotion under load',
      `mlops upload <${name} with another intercept> --name ${name}; ${PROMOTE_AFTER_MS / 1000} s into the load, mlops promote ${name} ${second.version} --to production`,
    ],
  ];
}
