import type { ModelSignature } from '../../shared/ports/model-runner.port.js';

const errorSchema = { type: 'object', properties: { error: { type: 'string' } }, required: ['error'] };
const json = (schema: object, example?: unknown) => ({ content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } } });
const ok = (description: string, schema: object = { type: 'object' }, example?: unknown) => ({ description, ...json(schema, example) });
const failures = {
  '400': ok('Invalid input: the message names the problem.', errorSchema),
  '401': ok('An API key is required.', errorSchema),
  '413': ok('The body is over the size limit.', errorSchema),
};

/** The OpenAPI 3.1 document of one serving revision, with examples built from its model's signature. */
export function servingOpenApi(model: string, version: number, signature: ModelSignature, featureNames: string[]): Record<string, unknown> {
  const exampleRow = featureNames.map(() => 0.5);
  const v2 = `/v2/models/${model}`;
  const inferExample = {
    inputs: signature.inputs.map((input) => ({ name: input.name, shape: [1, featureNames.length], datatype: 'FP32', data: [exampleRow] })),
  };
  const predictBody = {
    type: 'object',
    required: ['instances'],
    properties: { instances: { type: 'array', minItems: 1, items: { oneOf: [{ type: 'array' }, { type: 'object' }] } } },
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
          summary: 'Predict for a batch of instances (arrays in feature order, or objects by feature name).',
          security: [{ bearer: [] }, { apiKey: [] }],
          requestBody: json(predictBody, { instances: [exampleRow, Object.fromEntries(featureNames.map((name) => [name, 0.5]))] }),
          responses: {
            '200': ok('One prediction and one prediction id per instance.', {}, { predictions: ['...'], model, version, ids: ['...'] }),
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
