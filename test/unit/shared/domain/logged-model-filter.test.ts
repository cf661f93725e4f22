import { describe, expect, it } from 'vitest';
import type { LoggedModel } from '../../../../shared/domain/logged-model.js';
import { matchesLoggedModelFilter, parseLoggedModelFilter } from '../../../../shared/domain/logged-model-filter.js';

const model: LoggedModel = {
  id: `m-${'a'.repeat(32)}`,
  experimentId: '1',
  name: 'model',
  sourceRunId: 'run1',
  status: 'LOGGED_MODEL_READY',
  params: { lr: '0.1' },
  tags: { 'mlflow.user': 'ana', 'team name': 'risk' },
  artifactLocation: `mlflow-artifacts:/1/models/m-${'a'.repeat(32)}/artifacts`,
  createdAt: 1,
  updatedAt: 1,
};

describe('logged model filter', () => {
  it.each([
    ['', true],
    ["name = 'model'", true],
    ["name != 'model'", false],
    ['attributes.status = \'LOGGED_MODEL_READY\' and source_run_id = "run1"', true],
    ["params.lr = '0.1' AND tags.`team name` = 'risk'", true],
    ['tags."mlflow.user" = \'bo\'', false],
    ["model_type = 'x'", false],
    ["model_type != 'x'", true],
    ["tags.absent != 'x'", true],
  ])('%s matches: %s', (filter, expected) => {
    expect(matchesLoggedModelFilter(model, parseLoggedModelFilter(filter))).toBe(expected);
  });

  it.each([['creation_time > 100'], ["colour = 'red'"], ["name = 'model' or name = 'x'"], ['name = model'], ["name = 'model' and"]])(
    'refuses %s with TRACKING.INVALID_FILTER',
    (filter) => {
      expect(() => parseLoggedModelFilter(filter)).toThrow(expect.objectContaining({ code: 'TRACKING.INVALID_FILTER' }));
    },
  );
});
