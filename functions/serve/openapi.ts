import type { ModelSignature, TensorSpec } from '../../shared/domain/model-signature.js';
import { type InputField, type InputPlan, type ValueRule, valueRule } from '../../shared/domain/serving/input-plan.js';
import { DATATYPE_OF } from '../../shared/domain/serving/open-inference.js';
import { ERROR_BODY_SCHEMA } from '../../shared/http/errors.js';

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

/** The OpenAPI 3.1 document of one serving revision, with schemas and examples built from its model's signature and `/predict` plan. */
export function servingOpenApi(model: string, version: number, signature: ModelSignature, plan: InputPlan): Record<string, unknown> {
  const v2 = `/v2/models/${model}`;
  const inferExample = { inputs: signature.inputs.map(inferExampleInput) };
  const predictBody = {
    type: 'object',
    required: ['instances'],
    properties: { instances: { type: 'array', minItems: 1, items: { oneOf: [arrayInstanceSchema(plan), objectInstanceSchema(plan)] } } },
  };
  const predictExample = { instances: [plan.slots.map((slot) => EXAMPLE_VALUE[slot.rule.kind]), objectExample(plan.fields)] };
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
            'Predict for a batch of instances: arrays of every value in input order, or objects keyed by feature name (by input name, an array for an input of several values, when the model has no feature names or several inputs).',
          security: [{ bearer: [] }, { apiKey: [] }],
          requestBody: json(predictBody, predictExample),
          responses: {
            '200': ok('One prediction and one prediction id per instance.', predictResponse, { predictions: ['...'], model, version, ids: ['...'] }),
            ...failures,
          },
        },
      },
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
