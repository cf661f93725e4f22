import { describe, expect, it } from 'vitest';
import { compileRunSearch, matchesRunFilter, parseRunFilter, parseRunOrder } from '../../../../shared/domain/tracking-filter.js';
import { mergeMetrics, mergeParams, type Run, sortHistory, validateArtifactPath, validateTrackingKey } from '../../../../shared/domain/tracking.js';

function run(id: string, fields: Partial<Run> = {}): Run {
  return {
    id,
    experimentId: 'exp-1',
    name: `run-${id}`,
    status: 'FINISHED',
    startTime: '2026-01-01T00:00:00.000Z',
    endTime: '2026-01-01T00:10:00.000Z',
    params: {},
    tags: {},
    metrics: {},
    metricSummaries: {},
    ...fields,
  };
}

const runs = [
  run('a', { params: { lr: '0.1', optimizer: 'adam' }, metrics: { auc: 0.91, loss: 0.2 }, tags: { team: 'risk' }, startTime: '2026-01-01T00:00:00.000Z' }),
  run('b', { params: { lr: '0.01', optimizer: 'sgd' }, metrics: { auc: 0.85 }, tags: { team: 'growth' }, startTime: '2026-01-02T00:00:00.000Z' }),
  run('c', { params: { lr: '0.10' }, metrics: { auc: 0.7, 'val loss': 0.4 }, status: 'FAILED', startTime: '2026-01-03T00:00:00.000Z' }),
  run('d', { status: 'RUNNING', endTime: null, startTime: '2026-01-04T00:00:00.000Z' }),
];
const ids = (filter: string, orderBy: string[] = []) => compileRunSearch({ filter, orderBy })(runs).map((found) => found.id);

describe('run filter: parsing', () => {
  it('parses comparisons joined by and, in any case, with every operator', () => {
    expect(parseRunFilter('metrics.auc > 0.8 AND params.lr = 0.1 and tags.team != \'x\' and attributes.status = "finished"')).toEqual([
      { field: { entity: 'metrics', key: 'auc' }, operator: '>', value: 0.8 },
      { field: { entity: 'params', key: 'lr' }, operator: '=', value: 0.1 },
      { field: { entity: 'tags', key: 'team' }, operator: '!=', value: 'x' },
      { field: { entity: 'attributes', key: 'status' }, operator: '=', value: 'FINISHED' },
    ]);
    for (const operator of ['=', '!=', '>', '>=', '<', '<=']) {
      expect(parseRunFilter(`metrics.auc${operator}-1.5e-3`)).toEqual([{ field: { entity: 'metrics', key: 'auc' }, operator, value: -0.0015 }]);
    }
  });

  it('accepts singular prefixes, backquoted and slashed names, and an empty filter', () => {
    expect(parseRunFilter('metric.`val loss` < 1 and param.train/batch-size >= 32 and attribute.run_name = "x"').map((c) => c.field)).toEqual([
      { entity: 'metrics', key: 'val loss' },
      { entity: 'params', key: 'train/batch-size' },
      { entity: 'attributes', key: 'run_name' },
    ]);
    expect(parseRunFilter('   ')).toEqual([]);
  });

  it('reads times as milliseconds or ISO dates', () => {
    expect(parseRunFilter("attributes.start_time >= '2026-01-02T00:00:00Z'")[0]!.value).toBe(Date.parse('2026-01-02T00:00:00Z'));
    expect(parseRunFilter('attributes.end_time < 1767225600000')[0]!.value).toBe(1767225600000);
  });

  const mistakes: [string, RegExp, string | undefined][] = [
    ['metrics.auc > 0.8 or params.lr = 0.1', /"or" is not supported/, 'or'],
    ['metrics.auc ~ 0.8', /unexpected character "~"/, '~'],
    ['metrics.auc 0.8', /expected an operator \(= != > >= < <=\) after metrics.auc, found "0.8"/, '0.8'],
    ['metrics.auc >', /expected a value after ">", found the end/, undefined],
    ["metrics.auc > 'high'", /metrics.auc compares numbers, but 'high' is a string/, "'high'"],
    ["params.optimizer > 'adam'", /operator > compares numbers/, "'adam'"],
    ['metricz.auc > 1', /unknown field "metricz.auc"/, 'metricz.auc'],
    ['auc > 1', /expected a field such as metrics.auc/, 'auc'],
    ['attributes.colour = "red"', /unknown attribute "colour"/, 'attributes.colour'],
    ["attributes.status = 'DONE'", /unknown status 'DONE'/, "'DONE'"],
    ["attributes.start_time > 'yesterday'", /expects milliseconds since the epoch or an ISO date/, "'yesterday'"],
    ["tags.team = 'risk", /unterminated string/, "'risk"],
    ['metrics.`val loss > 1', /unterminated backquoted name/, '`val loss > 1'],
    ['metrics.auc > 1 and', /expected a condition after "and"/, undefined],
    ['metrics.auc > 1 metrics.loss < 2', /expected "and", found "metrics.loss"/, 'metrics.loss'],
    ['metrics.auc = params.lr', /expected a number or a quoted string after "=", found "params.lr"/, 'params.lr'],
  ];
  it.each(mistakes)('refuses %j naming the bad token', (filter, message, token) => {
    let caught: unknown;
    try {
      parseRunFilter(filter);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'TRACKING.INVALID_FILTER', message: expect.stringMatching(message), details: { token } });
    expect((caught as Error).message).toMatch(/at position \d+/);
  });
});

describe('run filter: evaluation', () => {
  it('filters on metrics, params, tags and attributes together', () => {
    expect(ids('metrics.auc > 0.8 and params.lr = 0.1')).toEqual(['a']);
    expect(ids('metrics.auc >= 0.85')).toEqual(['b', 'a']);
    expect(ids("tags.team = 'growth'")).toEqual(['b']);
    expect(ids("attributes.status = 'FAILED'")).toEqual(['c']);
    expect(ids("attributes.status != 'RUNNING'")).toEqual(['c', 'b', 'a']);
    expect(ids("attributes.run_name = 'run-b'")).toEqual(['b']);
    expect(ids("attributes.start_time > '2026-01-02T12:00:00Z'")).toEqual(['d', 'c']);
  });

  it('compares numeric params as numbers, so 0.1 matches "0.10"', () => {
    expect(ids('params.lr = 0.1')).toEqual(['c', 'a']);
    expect(ids('params.lr < 0.05')).toEqual(['b']);
    expect(ids("params.lr = '0.1'")).toEqual(['a']);
  });

  it('never matches a run that lacks the field, not even with !=', () => {
    expect(ids('metrics.loss != 0.2')).toEqual([]);
    expect(ids("tags.team != 'risk'")).toEqual(['b']);
    expect(ids('metrics.`val loss` < 1')).toEqual(['c']);
  });

  it('treats text params against numbers as unequal and unordered', () => {
    expect(ids('params.optimizer != 1')).toEqual(['b', 'a']);
    expect(ids('params.optimizer > 1')).toEqual([]);
  });

  it('matches every run with an empty filter', () => {
    expect(matchesRunFilter(runs[3]!, parseRunFilter(''))).toBe(true);
  });
});

describe('run ordering', () => {
  it('parses a key and a direction, ascending by default', () => {
    expect(parseRunOrder('metrics.auc')).toEqual({ field: { entity: 'metrics', key: 'auc' }, direction: 'asc' });
    expect(parseRunOrder('params.lr DESC')).toEqual({ field: { entity: 'params', key: 'lr' }, direction: 'desc' });
    expect(() => parseRunOrder('metrics.auc sideways')).toThrow(/expected asc or desc, found "sideways"/);
    expect(() => parseRunOrder('metrics.auc desc please')).toThrow(/unexpected "please"/);
  });

  it('orders by a metric either way with missing values last, and newest first by default', () => {
    expect(ids('', ['metrics.auc desc'])).toEqual(['a', 'b', 'c', 'd']);
    expect(ids('', ['metrics.auc asc'])).toEqual(['c', 'b', 'a', 'd']);
    expect(ids('')).toEqual(['d', 'c', 'b', 'a']);
    expect(ids('', ['attributes.start_time asc'])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('breaks ties with the next key, then newest first', () => {
    expect(ids('', ['params.lr desc'])).toEqual(['c', 'a', 'b', 'd']);
    expect(ids('', ['tags.team', 'metrics.auc desc'])).toEqual(['b', 'a', 'c', 'd']);
  });

  it('limits the results after ordering', () => {
    expect(compileRunSearch({ orderBy: ['metrics.auc desc'], maxResults: 2 })(runs).map((found) => found.id)).toEqual(['a', 'b']);
  });

  it('fails on a bad filter before seeing any run', () => {
    expect(() => compileRunSearch({ filter: 'metrics.auc >> 1' })).toThrow(/expected a value|expected a number/);
  });
});

describe('run records', () => {
  it('keeps the value with the highest step as latest, and min and max over all points', () => {
    const points = [
      { key: 'loss', value: 0.5, step: 2, timestamp: 10 },
      { key: 'loss', value: 0.9, step: 0, timestamp: 20 },
      { key: 'loss', value: 0.4, step: 2, timestamp: 30 },
    ];
    const merged = mergeMetrics({ metrics: {}, metricSummaries: {} }, points);
    expect(merged).toEqual({ metrics: { loss: 0.4 }, metricSummaries: { loss: { step: 2, timestamp: 30, min: 0.4, max: 0.9 } } });
    expect(mergeMetrics(merged, points)).toEqual(merged);
    expect(sortHistory(points).map((point) => point.value)).toEqual([0.9, 0.5, 0.4]);
  });

  it('refuses to change a param but accepts the same value again', () => {
    expect(mergeParams('r', { lr: '0.1' }, { lr: '0.1', epochs: '3' })).toEqual({ lr: '0.1', epochs: '3' });
    expect(() => mergeParams('r', { lr: '0.1' }, { lr: '0.2' })).toThrow(expect.objectContaining({ code: 'TRACKING.PARAM_CONFLICT' }));
  });

  it('refuses keys and artifact paths that would escape or clash with storage', () => {
    for (const key of ['', '../x', 'a/../b', '__name__', 'tab\there', 'x'.repeat(251)]) expect(() => validateTrackingKey('metric', key)).toThrow(/invalid/);
    for (const path of ['', '/etc/passwd', 'a/../../b', 'a//b', './a', 'a\\b']) expect(() => validateArtifactPath(path)).toThrow(/invalid/);
    expect(validateArtifactPath('plots/roc.png')).toBe('plots/roc.png');
  });
});
