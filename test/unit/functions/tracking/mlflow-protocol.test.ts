import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  Int64,
  keyValues,
  MlflowError,
  mlflowErrorResponse,
  pageOf,
  Repeated,
  readMlflowRequest,
  recordOf,
} from '../../../../functions/tracking/mlflow/protocol.js';
import { PlatformError } from '../../../../shared/domain/errors.js';
import { compileExperimentSearch, parseRunFilter } from '../../../../shared/domain/tracking-filter.js';
import type { Experiment } from '../../../../shared/domain/tracking.js';

describe('MLflow errors', () => {
  it.each([
    ['TRACKING.RUN_NOT_FOUND', 404, 'RESOURCE_DOES_NOT_EXIST'],
    ['REGISTRY.VERSION_NOT_FOUND', 404, 'RESOURCE_DOES_NOT_EXIST'],
    ['ROLLOUT.NOT_FOUND', 404, 'RESOURCE_DOES_NOT_EXIST'],
    ['AUTH.REQUIRED', 401, 'UNAUTHENTICATED'],
    ['REQUEST.INVALID', 400, 'INVALID_PARAMETER_VALUE'],
    ['TRACKING.PARAM_CONFLICT', 400, 'INVALID_PARAMETER_VALUE'],
    ['MODEL.INVALID_METADATA', 400, 'INVALID_PARAMETER_VALUE'],
    ['REGISTRY.PROMOTION_REFUSED', 400, 'INVALID_STATE'],
    ['TRACKING.RUN_ENDED', 400, 'INVALID_STATE'],
    ['REGISTRY.REGISTRATION_TIMEOUT', 503, 'TEMPORARILY_UNAVAILABLE'],
  ] as const)('answers %s with %i %s and our message', (code, status, errorCode) => {
    expect(mlflowErrorResponse(new PlatformError(code, 'what went wrong, and how to fix it'))).toEqual({
      status,
      body: { error_code: errorCode, message: 'what went wrong, and how to fix it' },
    });
  });

  it('keeps an MlflowError as it is and hides anything else behind INTERNAL_ERROR', () => {
    expect(mlflowErrorResponse(new MlflowError('NOT_IMPLEMENTED', 'no multipart'))).toEqual({
      status: 501,
      body: { error_code: 'NOT_IMPLEMENTED', message: 'no multipart' },
    });
    expect(mlflowErrorResponse(new MlflowError('RESOURCE_ALREADY_EXISTS', 'taken')).status).toBe(400);
    for (const error of [new Error('secret detail'), new PlatformError('CONFIG.INVALID', 'bad config'), 'a string']) {
      expect(mlflowErrorResponse(error)).toEqual({ status: 500, body: { error_code: 'INTERNAL_ERROR', message: 'Internal error; see the function logs.' } });
    }
  });
});

describe('MLflow request fields', () => {
  it('reads int64 as a JSON number or a decimal string', () => {
    expect(Int64.parse(1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(Int64.parse('1700000000000')).toBe(1_700_000_000_000);
    expect(Int64.parse('-3')).toBe(-3);
    for (const bad of ['1.5', 1.5, '', 'soon', '9007199254740993', null]) expect(Int64.safeParse(bad).success, String(bad)).toBe(false);
  });

  it('converts between records and [{key, value}] lists', () => {
    expect(keyValues({ b: '2', a: '1' })).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect(recordOf([{ key: 'a', value: '1' }])).toEqual({ a: '1' });
    expect(recordOf(undefined)).toEqual({});
  });

  it('pages by an opaque token and refuses one it did not make', () => {
    const items = Array.from({ length: 5 }, (_, index) => index);
    const first = pageOf(items, 2, undefined);
    expect(first.items).toEqual([0, 1]);
    const second = pageOf(items, 2, first.nextPageToken);
    expect(second.items).toEqual([2, 3]);
    expect(pageOf(items, 2, second.nextPageToken)).toEqual({ items: [4] });
    expect(pageOf(items, 5, undefined)).toEqual({ items });
    for (const token of ['bogus', Buffer.from('-1').toString('base64'), Buffer.from('1e3').toString('base64')]) {
      expect(() => pageOf(items, 2, token)).toThrow(
        expect.objectContaining({ errorCode: 'INVALID_PARAMETER_VALUE', message: expect.stringMatching(/page_token/) }),
      );
    }
  });

  const Schema = z.object({ ids: Repeated(z.string()).default([]), max_results: Int64.optional(), name: z.string() });
  const echo = () => {
    const app = new Hono();
    app.onError((error, c) => c.json(mlflowErrorResponse(error).body, mlflowErrorResponse(error).status as 400));
    app.on(['GET', 'POST'], '/echo', async (c) => c.json(await readMlflowRequest(c, Schema)));
    return app;
  };

  it('reads a GET from the query string, repeated keys as a list, and anything else from the JSON body', async () => {
    const answer = async (path: string, init?: RequestInit) => (await echo().request(path, init)).json();
    expect(await answer('/echo?ids=1&ids=2&name=x&max_results=5')).toEqual({ ids: ['1', '2'], name: 'x', max_results: 5 });
    expect(await answer('/echo?ids=1&name=x')).toEqual({ ids: ['1'], name: 'x' });
    expect(await answer('/echo', { method: 'POST', body: JSON.stringify({ ids: ['a'], name: 'y', max_results: '7' }) })).toEqual({
      ids: ['a'],
      name: 'y',
      max_results: 7,
    });
    expect(await answer('/echo', { method: 'POST', body: JSON.stringify({ ids: 3 }) })).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: expect.stringMatching(/ids: .*name: /),
    });
    expect(await answer('/echo', { method: 'POST', body: '{"name":' })).toMatchObject({
      error_code: 'BAD_REQUEST',
      message: expect.stringContaining('not valid JSON'),
    });
  });
});

describe('the filters MLflow clients send', () => {
  const experiment = (id: string, name: string, createdAt: string, tags: Record<string, string> = {}): Experiment => ({ id, name, createdAt, tags });
  const experiments = [
    experiment('1', 'churn-a', '2026-01-01T00:00:00Z', { team: 'risk' }),
    experiment('2', 'Churn-B', '2026-01-03T00:00:00Z', { team: 'growth' }),
    experiment('3', 'fraud', '2026-01-02T00:00:00Z', { team: 'risk' }),
  ];
  const ids = (filter: string, orderBy: string[] = []) => compileExperimentSearch({ filter, orderBy })(experiments).map((found) => found.id);

  it('searches experiments by name, LIKE, ILIKE, tags and time, newest first unless ordered', () => {
    expect(ids('')).toEqual(['2', '3', '1']);
    expect(ids("name = 'fraud'")).toEqual(['3']);
    expect(ids("name LIKE 'churn%'")).toEqual(['1']);
    expect(ids("attributes.name ILIKE 'churn-_'", ['name ASC'])).toEqual(['2', '1']);
    expect(ids("tags.team = 'risk'", ['creation_time'])).toEqual(['1', '3']);
    expect(ids("creation_time > '2026-01-01T12:00:00Z' and tags.team != 'growth'")).toEqual(['3']);
    expect(ids("name LIKE '%.%'")).toEqual([]);
    expect(() => ids('name > 3')).toThrow(/name is text/);
    expect(() => ids("colour = 'red'")).toThrow(/expected name, creation_time/);
    expect(() => ids("creation_time LIKE '2026%'")).toThrow(/is a number/);
  });

  it('reads LIKE and bare attribute names in run filters', () => {
    expect(parseRunFilter("tags.`mlflow.runName` LIKE 'base%' and status = 'finished'")).toEqual([
      { field: { entity: 'tags', key: 'mlflow.runName' }, operator: 'LIKE', value: 'base%' },
      { field: { entity: 'attributes', key: 'status' }, operator: '=', value: 'FINISHED' },
    ]);
    expect(() => parseRunFilter("metrics.auc LIKE '0.%'")).toThrow(/compare it with/);
    expect(() => parseRunFilter('params.lr ILIKE 3')).toThrow(/not a quoted pattern/);
  });
});
