import { describe, expect, it } from 'vitest';
import { onnxDataPath } from '../../../../functions/tracking/mlflow/mlmodel.js';
import { meetsFilter, parseRegistryFilter } from '../../../../functions/tracking/mlflow/registry-search.js';

// MLmodel files in the shapes MLflow writes them (mlflow/models/model.py, mlflow/onnx/__init__.py).
const MLMODELS: [string, string, string | undefined][] = [
  [
    'mlflow.onnx.log_model (2.x)',
    'artifact_path: model\nflavors:\n  onnx:\n    code: null\n    data: model.onnx\n    onnx_version: 1.14.0\n    providers:\n    - CUDAExecutionProvider\n  python_function:\n    data: model.onnx\n    loader_module: mlflow.onnx\nmlflow_version: 2.9.2\n',
    'model.onnx',
  ],
  [
    'mlflow.onnx.log_model (3.x, python_function first, quoted)',
    "artifact_path: mlflow-artifacts:/1/models/m-0a/artifacts\nflavors:\n  python_function:\n    data: other.onnx\n    env:\n      conda: conda.yaml\n  onnx:\n    data: 'sub/model.onnx'\nmodel_id: m-0a\n",
    'sub/model.onnx',
  ],
  ['an sklearn model', 'flavors:\n  python_function:\n    data: model.onnx\n  sklearn:\n    pickled_model: model.pkl\n', undefined],
  ['an onnx flavor without data', 'flavors:\n  onnx:\n    onnx_version: 1.14.0\ndata: model.onnx\n', undefined],
  ['no flavors at all', 'artifact_path: model\n', undefined],
];

describe('the ONNX file an MLmodel names', () => {
  it.each(MLMODELS)('%s', (_what, mlmodel, expected) => {
    expect(onnxDataPath(mlmodel)).toBe(expected);
  });
});

describe('registry search filters', () => {
  const model = { name: 'churn-scorer', 'tags.team': 'risk', run_id: 'r1' } as Record<string, string>;
  const matches = (filter: string, fields = ['name', 'tags', 'run_id']) => meetsFilter(parseRegistryFilter(filter, fields), (field) => model[field]);

  it.each([
    ["name = 'churn-scorer'", true],
    ["name='churn'", false],
    ["name != 'churn'", true],
    ["name LIKE 'churn%'", true],
    ["name LIKE '%scorer'", true],
    ["name LIKE 'Churn%'", false],
    ["name ILIKE 'CHURN_SCORER'", true],
    ["tags.team = 'risk' AND name LIKE '%scor%'", true],
    ["tags.`team` = 'ops'", false],
    ["run_id IN ('r0', 'r1')", true],
    ['name = "churn-scorer"', true],
    ['', true],
  ])('%s -> %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  it.each([
    ["owner = 'me'", /cannot read/],
    ["name = 'a' OR name = 'b'", /expected AND/],
    ["name IN ('a')", /only run_id takes IN/],
    ["name = 'unclosed", /cannot read/],
  ])('refuses %s, saying what is supported', (filter, reason) => {
    expect(() => parseRegistryFilter(filter, ['name', 'tags', 'run_id'])).toThrow(reason);
    expect(() => parseRegistryFilter(filter, ['name', 'tags', 'run_id'])).toThrow(/Supported: name = 'churn'/);
  });

  it('refuses a field the search does not have', () => {
    expect(() => parseRegistryFilter("run_id = 'r1'", ['name', 'tags'])).toThrow(/run_id cannot be filtered on here/);
  });
});
