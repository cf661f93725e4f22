import type { ModelSignature, TensorSpec } from '../../shared/domain/model-signature.js';
import { type InputField, type InputPlan, type ValueRule, valueRule } from '../../shared/domain/serving/input-plan.js';
import { DATATYPE_OF } from '../../shared/domain/serving/open-inference.js';
import { MAX_ENTITY_ID_LENGTH, ONLINE_FEATURES_TAG } from '../../shared/domain/online-features.js';
import { ERROR_BODY_SCHEMA } from '../../shared/http/errors.js';
import { MAX_EXPLAIN_INSTANCES, MAX_SAMPLES, MAX_SENT_BACKGROUND } from './explain-route.js';

const errorSchema = ERROR_BODY_SCHEMA;
const json = (schema: object, example?: unknown) => ({ content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } } });
const ok = (description: string, schema: object = { type: 'object' }, example?: unknown) => ({ description, ...json(schema, example) });
const failures = {
  '400': ok('Invalid input: the message names the problem.', errorSchema),
  '401': ok('An API key is required.', errorSchema),
  '413': ok('The body is over the size limit.', errorSchema),
  '415': ok('The body is not sent as JSON.', errorSchema),
};

// What each element kind accepts in JSON, as /predict casts it (input-plan.ts `coerce`), and a value to show.
const VALUE_SCHEMA: Record<ValueRule['kind'], object> = {
  float: { type: 'number' },
  integer: { type: 'integer' },
  boolean: { oneOf: [{ type: 'boolean' }, { enum: [0, 1] }] },
  string: { type: ['string', 'number', 'boolean'] },
};
const EXAMPLE_VALUE: Record<ValueRule['kind'], unknown> = { float: 0.5, integer: 1, boolean: true, string: 'a' };

const numbersByFeature = { type: 'object', additionalProperties: { type: 'number' } };
// As shared/services/explainer.ts answers one instance.
const EXPLANATION_SCHEMA = {
  type: 'object',
  required: ['output', 'scale', 'prediction', 'baseline', 'attributions', 'method'],
  properties: {
    output: { type: 'string', description: '`<output>` for a value, `<output>.<class>` for a class score.' },
    scale: { enum: ['logit', 'probability', 'value'] },
    prediction: { type: 'number', description: "The model's score for the instance on that scale." },
    baseline: { type: 'number', description: "The score at the background mean (linear) or the background's mean score (sampled)." },
    attributions: { ...numbersByFeature, description: 'Per feature; they sum to prediction minus baseline.' },
    method: { enum: ['linear', 'sampled_shapley'], description: 'linear: exact, read from the graph; sampled_shapley: a permutation estimate.' },
    samples: { type: 'integer', description: 'Sampled only: permutations drawn.' },
    errorBound: { ...numbersByFeature, description: "Sampled only: each feature's 95% error bound (1.96 standard errors)." },
  },
};
const samplesSchema = { type: 'integer', minimum: 1, maximum: MAX_SAMPLES, default: 64, description: 'Permutations per instance (sampled method).' };
const targetSchema = { type: 'string', description: "The class whose score is explained (default: the binary task's positive class, or the predicted class)." };
const backgroundSchema = {
  type: 'array',
  minItems: 1,
  maxItems: MAX_SENT_BACKGROUND,
  items: { type: 'object' },
  description: 'Feature objects to explain against; by default the background stored from the version\'s reference by "mlops drift run".',
};
const noBackground = ok('No background: none sent and none stored yet (run "mlops drift run --model <name>", or send one).', errorSchema);

/**
 * The OpenAPI 3.1 document of one serving revision, with schemas and examples built from its model's signature and `/predict` plan;
 * `onlineDataset` is the dataset its `entity_ids` are looked up in (the version's features.online tag), when it has one.
 */
export function servingOpenApi(model: string, version: number, signature: ModelSignature, plan: InputPlan, onlineDataset?: string): Record<string, unknown> {
  const v2 = `/v2/models/${model}`;
  const inferExample = { inputs: signature.inputs.map(inferExampleInput) };
  const instances = { type: 'array', minItems: 1, items: { oneOf: [arrayInstanceSchema(plan), objectInstanceSchema(plan)] } };
  const predictBody = {
    type: 'object',
    anyOf: [{ required: ['instances'] }, { required: ['entity_ids'] }],
    properties: { instances, entity_ids: entityIdsSchema(onlineDataset) },
  };
  const predictExample = { instances: [plan.slots.map((slot) => EXAMPLE_VALUE[slot.rule.kind]), objectExample(plan.fields)] };
  const explainBody = {
    type: 'object',
    required: ['instances'],
    properties: {
      instances: { ...instances, maxItems: MAX_EXPLAIN_INSTANCES },
      samples: samplesSchema,
      target: targetSchema,
      background: backgroundSchema,
    },
  };
  const explainResponse = {
    type: 'object',
    properties: {
      model: { type: 'string' },
      version: { type: 'integer' },
      explanations: { type: 'array', items: EXPLANATION_SCHEMA },
      background: { type: 'object', properties: { source: { enum: ['request', 'reference'] }, rows: { type: 'integer' } } },
    },
  };
  const inferExplainBody = {
    type: 'object',
    required: ['inputs'],
    properties: {
      inputs: { type: 'array', description: 'As for infer.' },
      parameters: { type: 'object', properties: { samples: samplesSchema, target: targetSchema, background: backgroundSchema } },
    },
  };
  const inferExplainResponse = {
    type: 'object',
    properties: { model_name: { type: 'string' }, model_version: { type: 'string' }, explanations: { type: 'array', items: EXPLANATION_SCHEMA } },
  };
  const explainOperation = (summary: string, body: object, response: object, example?: unknown) => ({
    post: {
      summary,
      security: [{ bearer: [] }, { apiKey: [] }],
      requestBody: json(body, example),
      responses: { '200': ok('One explanation per instance.', response), ...failures, '409': noBackground },
    },
  });
  const predictResponse = {
    type: 'object',
    properties: {
      predictions: { type: 'array', items: predictionSchema(signature) },
      model: { type: 'string' },
      version: { type: 'integer' },
      ids: { type: 'array', items: { type: 'string' } },
    },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: `${model} v${version} serving API`,
      version: String(version),
      description: 'Predictions from one pinned model version, plus the Open Inference Protocol (KServe v2).',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
    paths: {
      '/health': { get: { summary: 'Liveness, with the loaded model and version.', responses: { '200': ok('Alive.', {}, { status: 'ok', model, version }) } } },
      '/predict': {
        post: {
          summary:
            'Predict for a batch of instances: arrays of every value in input order, or objects keyed by feature name (by input name, an array for an input of several values, when the model has no feature names or several inputs). ' +
            'Or name entities in `entity_ids`: their latest features are looked up in the online store, and objects sent in `instances` beside them (one per entity) override them.',
          security: [{ bearer: [] }, { apiKey: [] }],
          requestBody: json(predictBody, predictExample),
          responses: {
            '200': ok('One prediction and one prediction id per instance.', predictResponse, { predictions: ['...'], model, version, ids: ['...'] }),
            ...failures,
            '503': ok('The online feature store did not answer an entity lookup; retry.', errorSchema),
          },
        },
      },
      '/explain': explainOperation(
        `Per-feature attributions of each instance's prediction, summing to prediction minus baseline: exact for a linear model, else a sampled Shapley estimate with its error bound. At most ${MAX_EXPLAIN_INSTANCES} instances; not logged as predictions.`,
        explainBody,
        explainResponse,
        { instances: predictExample.instances.slice(0, 1), samples: 64 },
      ),
      '/v2/health/live': { get: { summary: 'Open Inference Protocol: server liveness.', responses: { '200': ok('Live.', {}, { live: true }) } } },
      '/v2/health/ready': { get: { summary: 'Open Inference Protocol: server readiness.', responses: { '200': ok('Ready.', {}, { ready: true }) } } },
      [v2]: { get: { summary: 'Open Inference Protocol: model metadata.', responses: { '200': ok('Metadata.'), '404': ok('Unknown model.', errorSchema) } } },
      [`${v2}/versions/${version}`]: {
        get: {
          summary: 'Open Inference Protocol: model version metadata.',
          responses: { '200': ok('Metadata.'), '404': ok('Unknown model or version.', errorSchema) },
        },
      },
      [`${v2}/ready`]: { get: { summary: 'Open Inference Protocol: model readiness.', responses: { '200': ok('Ready.', {}, { name: model, ready: true }) } } },
      [`${v2}/infer`]: {
        post: {
          summary: 'Open Inference Protocol: inference.',
          security: [{ bearer: [] }, { apiKey: [] }],
          requestBody: json({ type: 'object' }, inferExample),
          responses: { '200': ok('Output tensors.'), ...failures },
        },
      },
      [`${v2}/versions/${version}/infer`]: {
        post: {
          summary: 'Open Inference Protocol: inference on this version.',
          security: [{ bearer: [] }, { apiKey: [] }],
          responses: { '200': ok('Output tensors.'), ...failures },
        },
      },
      [`${v2}/explain`]: explainOperation(
        'Open Inference Protocol: attributions of each instance (inputs as for infer; parameters samples, target, background).',
        inferExplainBody,
        inferExplainResponse,
        inferExample,
      ),
      [`${v2}/versions/${version}/explain`]: explainOperation('Open Inference Protocol: attributions on this version.', inferExplainBody, inferExplainResponse),
      '/metrics': {
        get: {
          summary: 'Prometheus metrics: requests, latency, instances, model version, prediction-log health.',
          responses: { '200': { description: 'Prometheus text format.' } },
        },
      },
      '/openapi.json': { get: { summary: 'This document.', responses: { '200': ok('OpenAPI 3.1.') } } },
      '/docs': { get: { summary: 'Human-readable API documentation.', responses: { '200': { description: 'HTML.' } } } },
    },
  };
}

/** `entity_ids`: described as looked up in the version's dataset, or as refused until the version names one. */
function entityIdsSchema(onlineDataset: string | undefined): object {
  const description = onlineDataset
    ? `Entities whose latest features are looked up in the online store (dataset "${onlineDataset}"); an unknown one is a 400 FEATURES.UNKNOWN_ENTITY naming it.`
    : `Not taken by this version (400 FEATURES.NOT_ONLINE): a version tagged ${ONLINE_FEATURES_TAG}=<dataset id> looks entities' features up.`;
  return { type: 'array', minItems: 1, items: { type: 'string', minLength: 1, maxLength: MAX_ENTITY_ID_LENGTH }, description };
}

function arrayInstanceSchema({ slots }: InputPlan): object {
  return { type: 'array', minItems: slots.length, maxItems: slots.length, prefixItems: slots.map((slot) => VALUE_SCHEMA[slot.rule.kind]) };
}

// A key of width 1 takes a scalar (a one-element array too); a key of width k an array of k values.
function objectInstanceSchema({ fields }: InputPlan): object {
  const properties = Object.fromEntries(
    fields.map(({ key, rule, width }) => {
      const value = VALUE_SCHEMA[rule.kind];
      return [
        key,
        width === 1
          ? { oneOf: [value, { type: 'array', minItems: 1, maxItems: 1, items: value }] }
          : { type: 'array', minItems: width, maxItems: width, items: value },
      ];
    }),
  );
  return { type: 'object', properties, required: fields.map((field) => field.key), additionalProperties: false };
}

function objectExample(fields: readonly InputField[]): Record<string, unknown> {
  return Object.fromEntries(
    fields.map(({ key, rule, width }) => [key, width === 1 ? EXAMPLE_VALUE[rule.kind] : new Array(width).fill(EXAMPLE_VALUE[rule.kind])]),
  );
}

// As encodePredictions shapes them: one output's row, or an object by output name; an output keyed by class is an object by class.
function predictionSchema({ outputs }: ModelSignature): object {
  const [only, ...others] = outputs;
  if (only && others.length === 0) return outputRowSchema(only);
  return { type: 'object', properties: Object.fromEntries(outputs.map((output) => [output.name, outputRowSchema(output)])) };
}

function outputRowSchema({ keyedByClass, classes, shape }: TensorSpec): object {
  if (keyedByClass && classes && shape.length === 2 && shape[1] === classes.length) {
    return { type: 'object', description: 'Probability by class.', properties: Object.fromEntries(classes.map((label) => [label, { type: 'number' }])) };
  }
  return shape.length === 1 || (shape.length === 2 && shape[1] === 1) ? {} : { type: 'array' };
}

function inferExampleInput({ name, type, shape }: TensorSpec): object {
  const dimensions = shape.map((size) => size ?? 1);
  const size = dimensions.reduce((product, dimension) => product * dimension, 1);
  return { name, shape: dimensions, datatype: DATATYPE_OF[type], data: new Array(size).fill(EXAMPLE_VALUE[valueRule(type).kind]) };
}

/** A self-contained HTML page documenting the routes: no external scripts or fonts. */
export function docsPage(document: Record<string, unknown>): string {
  const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (char) => `&#${char.charCodeAt(0)};`);
  const info = document.info as { title: string; description: string };
  const paths = document.paths as Record<string, Record<string, { summary: string; requestBody?: { content: Record<string, { example?: unknown }> } }>>;
  const rows = Object.entries(paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const example = operation.requestBody?.content['application/json']?.example;
      const body = example === undefined ? '' : `<pre>${escapeHtml(JSON.stringify(example, null, 2))}</pre>`;
      return `<section><h2><code>${method.toUpperCase()} ${escapeHtml(path)}</code></h2><p>${escapeHtml(operation.summary)}</p>${body}</section>`;
    }),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title><style>body{font-family:system-ui,sans-serif;max-width:54rem;margin:2rem auto;padding:0 1rem;color:#222}h2{font-size:1rem;margin:1.5rem 0 .25rem}pre{background:#f4f4f4;padding:.75rem;overflow:auto}</style></head><body><h1>${escapeHtml(info.title)}</h1><p>${escapeHtml(info.description)} Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>${rows.join('')}</body></html>`;
}
