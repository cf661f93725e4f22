import { ERROR_BODY_SCHEMA } from '../../shared/http/errors.js';

const errorSchema = ERROR_BODY_SCHEMA;
const json = (schema: object, example?: unknown) => ({ content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } } });
const ok = (description: string, example?: unknown) => ({ description, ...json({ type: 'object' }, example) });
const failure = (description: string) => ({ description, ...json(errorSchema) });
const secured = { security: [{ bearer: [] }, { apiKey: [] }] };
const runId = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'Run id.' };
const artifactPath = { name: 'path', in: 'query', required: true, schema: { type: 'string' }, description: 'Path inside the run, e.g. plots/roc.png.' };
const common = { '400': failure('Invalid input: the message names the problem.'), '401': failure('An API key is required.') };
const runNotFound = { ...common, '404': failure('No such run.') };

const runExample = {
  id: '0f3c9a…',
  experimentId: 'a1b2…',
  name: 'baseline',
  status: 'RUNNING',
  startTime: '2026-01-01T00:00:00.000Z',
  endTime: null,
  params: { lr: '0.1' },
  tags: { team: 'risk' },
  metrics: { auc: 0.91 },
  metricSummaries: { auc: { step: 9, timestamp: 1767225600000, min: 0.7, max: 0.91 } },
};

/** The OpenAPI 3.1 document of the tracking API. */
export function trackingOpenApi(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Experiment tracking API',
      version: '1',
      description:
        'Experiments and runs (params, metrics with full history, tags, artifacts), MLflow-like, stored in Firestore and the artifact bucket. ' +
        'Search filters: `metrics.auc > 0.8 and params.lr = 0.1 and tags.team = "risk" and attributes.status = "FINISHED"` (operators = != > >= < <=, `and` only).',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
    paths: {
      '/health': { get: { summary: 'Liveness.', responses: { '200': ok('Alive.', { status: 'ok' }) } } },
      '/openapi.json': { get: { summary: 'This document.', responses: { '200': ok('OpenAPI 3.1.') } } },
      '/experiments': {
        post: {
          summary: 'Create an experiment, or get the one of that name.',
          ...secured,
          requestBody: json({ type: 'object', required: ['name'] }, { name: 'churn', tags: { team: 'risk' } }),
          responses: { '201': ok('Created.'), '200': ok('It existed: returned as is.'), ...common },
        },
        get: { summary: 'Every experiment, by name.', ...secured, responses: { '200': ok('Experiments.'), ...common } },
      },
      '/experiments/{id}': {
        get: { summary: 'One experiment.', ...secured, responses: { '200': ok('The experiment.'), ...common, '404': failure('No such experiment.') } },
      },
      '/runs': {
        post: {
          summary: 'Start a run in an experiment given by id, or by name (created when missing).',
          ...secured,
          requestBody: json({ type: 'object' }, { experiment: 'churn', name: 'baseline', tags: { team: 'risk' } }),
          responses: { '201': ok('The new RUNNING run.', { run: runExample }), ...common, '404': failure('No such experiment id.') },
        },
      },
      '/runs/search': {
        post: {
          summary: 'Search runs by filter, in order; experiments by id or name (all when none).',
          ...secured,
          requestBody: json(
            { type: 'object' },
            { experiments: ['churn'], filter: 'metrics.auc > 0.8 and params.lr = 0.1', orderBy: ['metrics.auc desc'], maxResults: 100 },
          ),
          responses: { '200': ok('Matching runs.', { runs: [runExample] }), ...common },
        },
      },
      '/runs/{id}': {
        get: {
          summary: 'A run with its experiment, artifacts and the model versions registered from it.',
          ...secured,
          parameters: [runId],
          responses: { '200': ok('Run details.'), ...runNotFound },
        },
      },
      '/runs/{id}/log-batch': {
        post: {
          summary: 'Log params, tags and metric points in one call (at most 100 params, 100 tags, 1000 points). Params are immutable: 409 on a change.',
          ...secured,
          parameters: [runId],
          requestBody: json(
            { type: 'object' },
            {
              params: { lr: 0.1 },
              tags: { stage: 'tuning' },
              metrics: [{ key: 'auc', value: 0.91, step: 3, timestamp: 1767225600000 }],
              batchId: 'optional-retry-key',
            },
          ),
          responses: { '200': ok('Logged.', { logged: { params: 1, tags: 1, metrics: 1 } }), ...runNotFound, '409': failure('A param would change.') },
        },
      },
      '/runs/{id}/end': {
        post: {
          summary: 'End a run: FINISHED (default), FAILED or KILLED.',
          ...secured,
          parameters: [runId],
          requestBody: json({ type: 'object' }, { status: 'FINISHED' }),
          responses: { '200': ok('The ended run.'), ...runNotFound },
        },
      },
      '/runs/{id}/metrics': {
        get: {
          summary: 'Full history of one metric, by step.',
          ...secured,
          parameters: [runId, { name: 'key', in: 'query', required: true, schema: { type: 'string' } }],
          responses: { '200': ok('History.', { key: 'loss', history: [{ key: 'loss', value: 0.5, step: 0, timestamp: 1767225600000 }] }), ...runNotFound },
        },
      },
      '/runs/{id}/artifacts': {
        get: { summary: "The run's artifacts.", ...secured, parameters: [runId], responses: { '200': ok('Artifacts.'), ...runNotFound } },
      },
      '/runs/{id}/artifacts/content': {
        put: {
          summary: 'Store an artifact: the raw request body, at ?path= inside the run (runs/<id>/artifacts/<path> in the bucket).',
          ...secured,
          parameters: [runId, artifactPath],
          requestBody: { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          responses: { '201': ok('Stored.'), ...runNotFound },
        },
        get: {
          summary: 'Read an artifact.',
          ...secured,
          parameters: [runId, artifactPath],
          responses: { '200': { description: 'The bytes.' }, ...common, '404': failure('No such artifact.') },
        },
      },
    },
  };
}
