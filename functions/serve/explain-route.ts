import { PlatformError } from '../../shared/domain/errors.js';
import type { Tensor } from '../../shared/domain/model-signature.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { decodeInferRequest } from '../../shared/domain/serving/open-inference.js';
import { describeValue, type InputPlan } from '../../shared/domain/serving/input-plan.js';
import type { ArtifactStore } from '../../shared/ports/artifact-store.port.js';
import type { LoadedModel } from '../../shared/ports/model-runner.port.js';
import { createExplainer, type ExplainOptions, type Explainer, type Explanation } from '../../shared/services/explainer.js';
import { type FeatureRow, readBackground } from '../../shared/services/explanation-background.js';

/** Instances one explain request may carry: each costs `samples` model runs over its background, not one. */
export const MAX_EXPLAIN_INSTANCES = 100;
/** Background rows a request may send (the stored background holds at most 100). */
export const MAX_SENT_BACKGROUND = 1000;
/** The most permutations an instance may be explained with (the sampled method). */
export const MAX_SAMPLES = 1000;
/** How long a revision reuses the background it read from the bucket. */
export const BACKGROUND_TTL_MS = 60_000;

/** What the explain routes of a serving app are built from. */
export interface ExplainRouteOptions {
  version: ModelVersion;
  loaded: LoadedModel;
  plan: InputPlan;
  /** The verified model file, which the explainer reads a linear model's weights from; without it the routes answer 500 CONFIG.INVALID. */
  modelBytes?: Uint8Array;
  /** Where the version's stored background is read (explanation-background.ts); without it only a background sent with the request is used. */
  artifacts?: ArtifactStore;
  maxBatch: number;
  /** Milliseconds now, for the background cache; the system clock by default. */
  now?: () => number;
}

/** Where the background of an answer came from, and how many rows it had. */
export interface BackgroundUsed {
  source: 'request' | 'reference';
  rows: number;
}

/** The answer to `POST /explain`. */
export interface ExplainAnswer {
  model: string;
  version: number;
  explanations: Explanation[];
  background: BackgroundUsed;
}

/** One explain request, whichever route it came by: /predict-style instances, the options, and a background if it sent one. */
interface ExplainRequest {
  instances: unknown[];
  options: ExplainOptions;
  background?: FeatureRow[];
}

const EXPLAIN_FIELDS = ['instances', 'samples', 'target', 'background'];

/**
 * The work of `POST /explain` and the Open Inference `/explain` routes: read the request (a 4xx
 * naming the fault), find the background (the request's, else the version's stored one, cached for
 * a minute), and explain each instance. The explainer is built on the first request, so a revision's
 * cold start does not pay for it. Explanations are not logged as predictions.
 */
export class ExplainRoute {
  private explainer?: Explainer;
  private cached?: { rows: Promise<FeatureRow[] | undefined>; until: number };

  constructor(private readonly options: ExplainRouteOptions) {}

  /** `{"instances", "samples"?, "target"?, "background"?}` to `{model, version, explanations, background}`. */
  async explain(body: unknown): Promise<ExplainAnswer> {
    const { version } = this.options;
    return { model: version.model, version: version.version, ...(await this.answer(readExplainBody(body, this.maxInstances))) };
  }

  /** An Open Inference request (`inputs` as for infer, `parameters: {samples, target, background}`) to `{model_name, model_version, explanations}`. */
  async infer(body: unknown): Promise<Record<string, unknown>> {
    const { loaded, plan, version } = this.options;
    const decoded = decodeInferRequest(loaded.signature, body, { maxBatch: this.maxInstances, plan });
    const parameters = ((body as { parameters?: Record<string, unknown> }).parameters ?? {}) as Record<string, unknown>;
    const request: ExplainRequest = {
      instances: flatInstances(plan, decoded.inputs, decoded.count),
      options: readOptions(parameters, 'parameters.'),
      background: readSentBackground(parameters.background, '"parameters.background"'),
    };
    const { explanations, background } = await this.answer(request);
    return {
      model_name: version.model,
      model_version: String(version.version),
      ...(decoded.id === undefined ? {} : { id: decoded.id }),
      explanations,
      parameters: { background },
    };
  }

  private get maxInstances(): number {
    return Math.min(MAX_EXPLAIN_INSTANCES, this.options.maxBatch);
  }

  private async answer({ instances, options, background }: ExplainRequest): Promise<{ explanations: Explanation[]; background: BackgroundUsed }> {
    const explainer = this.explainerOf();
    const rows = background ?? (await this.storedBackground());
    const explanations = await explainer.explain(instances, rows, options);
    return { explanations, background: { source: background ? 'request' : 'reference', rows: rows.length } };
  }

  private explainerOf(): Explainer {
    const { loaded, version, modelBytes } = this.options;
    if (!modelBytes) throw new PlatformError('CONFIG.INVALID', 'This serving app was built without its model file (modelBytes), so it cannot explain.');
    this.explainer ??= createExplainer(loaded, version, modelBytes);
    return this.explainer;
  }

  /** The version's stored background; a found one is reused for a minute, a missing one is looked for again on the next request. */
  private async storedBackground(): Promise<FeatureRow[]> {
    const { artifacts, version, now = Date.now } = this.options;
    if (!this.cached || this.cached.until <= now()) {
      const rows = artifacts ? readBackground(artifacts, version.model, version.version) : Promise.resolve(undefined);
      this.cached = { rows, until: now() + BACKGROUND_TTL_MS };
    }
    const entry = this.cached;
    const rows = await entry.rows.catch((error: unknown) => {
      if (this.cached === entry) this.cached = undefined;
      throw error;
    });
    if (rows && rows.length > 0) return rows;
    if (this.cached === entry) this.cached = undefined;
    throw new PlatformError(
      'EXPLAIN.NO_BACKGROUND',
      `No background to explain ${version.model} v${version.version} against: run "mlops drift run --model ${version.model}", which stores one ` +
        `drawn from the version's reference data, or send "background": [feature objects, as /predict takes them by name] with the request.`,
    );
  }
}

const invalid = (message: string) => new PlatformError('REQUEST.INVALID', message);

function readExplainBody(body: unknown, maxInstances: number): ExplainRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid(`The request body must be a JSON object like {"instances": [...]}, got ${describeValue(body)}.`);
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !EXPLAIN_FIELDS.includes(key));
  if (unknown.length > 0)
    throw invalid(`Unknown field(s) ${unknown.map((key) => `"${key}"`).join(', ')}; an explain request takes ${EXPLAIN_FIELDS.join(', ')}.`);
  const { instances } = fields;
  if (!Array.isArray(instances) || instances.length === 0)
    throw invalid(`"instances" must be a non-empty array of instances as /predict takes them, got ${describeValue(instances)}.`);
  if (instances.length > maxInstances)
    throw invalid(`"instances" has ${instances.length} entries but at most ${maxInstances} are explained per request; split them across several requests.`);
  return { instances, options: readOptions(fields, ''), background: readSentBackground(fields.background, '"background"') };
}

/** `samples` and `target` of a request body (prefix `''`) or of Open Inference parameters (prefix `parameters.`). */
function readOptions(fields: Record<string, unknown>, prefix: string): ExplainOptions {
  const { samples, target } = fields;
  if (samples !== undefined && !(Number.isInteger(samples) && (samples as number) >= 1 && (samples as number) <= MAX_SAMPLES))
    throw invalid(`"${prefix}samples" must be an integer from 1 to ${MAX_SAMPLES} (permutations per instance), got ${describeValue(samples)}.`);
  if (target !== undefined && (typeof target !== 'string' || target === ''))
    throw invalid(`"${prefix}target" must be the name of a class, as a string, got ${describeValue(target)}.`);
  return { ...(samples === undefined ? {} : { samples: samples as number }), ...(target === undefined ? {} : { target }) };
}

function readSentBackground(background: unknown, name: string): FeatureRow[] | undefined {
  if (background === undefined) return undefined;
  if (!Array.isArray(background) || background.length === 0 || background.length > MAX_SENT_BACKGROUND)
    throw invalid(`${name} must be an array of 1 to ${MAX_SENT_BACKGROUND} feature objects, got ${describeValue(background)}.`);
  const index = background.findIndex((row) => typeof row !== 'object' || row === null || Array.isArray(row));
  if (index >= 0) throw invalid(`${name}[${index}] must be an object of feature values by name, got ${describeValue(background[index])}.`);
  return background as FeatureRow[];
}

/** Decoded Open Inference tensors as /predict's array instances: each instance's values of every planned tensor, in plan order. */
function flatInstances(plan: InputPlan, inputs: Record<string, Tensor>, count: number): unknown[][] {
  return Array.from({ length: count }, (_, index) =>
    plan.tensors.flatMap(({ name, width }) => (inputs[name]!.data as unknown[]).slice(index * width, (index + 1) * width)),
  );
}
