import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  artifactContentType,
  loggedModelArtifactUri,
  objectNameOf,
  objectNameOfUri,
  runArtifactUri,
} from '../../../../functions/tracking/mlflow/artifact-paths.js';
import { MlflowError } from '../../../../functions/tracking/mlflow/protocol.js';

const reference = JSON.parse(readFileSync(new URL('../../../fixtures/mlflow-artifacts/content-types.json', import.meta.url), 'utf8')) as {
  contentTypes: Record<string, string>;
};

/** The error a call throws, so its code and message can be checked. */
function thrown(call: () => unknown): MlflowError {
  try {
    call();
  } catch (error) {
    if (error instanceof MlflowError) return error;
    throw error;
  }
  throw new Error('expected an MlflowError');
}

describe('artifact URIs', () => {
  it('names a run folder and a logged model folder as MLflow does', () => {
    expect(runArtifactUri('0', 'abc123')).toBe('mlflow-artifacts:/0/abc123/artifacts');
    expect(loggedModelArtifactUri('7', 'm-0123456789abcdef0123456789abcdef')).toBe('mlflow-artifacts:/7/models/m-0123456789abcdef0123456789abcdef/artifacts');
  });

  it('maps each URI back to where its bytes live', () => {
    expect(objectNameOfUri(`${runArtifactUri('0', 'r1')}/model/model.onnx`)).toBe('runs/r1/artifacts/model/model.onnx');
    expect(objectNameOfUri(`${loggedModelArtifactUri('3', 'm-ab')}/MLmodel`)).toBe('logged-models/m-ab/artifacts/MLmodel');
  });
});

describe('objectNameOf', () => {
  it.each([
    ['0/r1/artifacts/model.onnx', 'runs/r1/artifacts/model.onnx'],
    ['12/r1/artifacts/model/data/weights.bin', 'runs/r1/artifacts/model/data/weights.bin'],
    ['0/r1/artifacts', 'runs/r1/artifacts/'],
    ['0/r1/artifacts/', 'runs/r1/artifacts/'],
    ['0/r1/artifacts/plots/', 'runs/r1/artifacts/plots'],
    ['0/models/m-ab/artifacts/MLmodel', 'logged-models/m-ab/artifacts/MLmodel'],
    ['0/models/m-ab/artifacts', 'logged-models/m-ab/artifacts/'],
    // A run whose id is "models" still works: only "<exp>/models/<id>/artifacts" is a logged model.
    ['0/models/artifacts/a.txt', 'runs/models/artifacts/a.txt'],
    ['0/r1/artifacts/a b/ü.txt', 'runs/r1/artifacts/a b/ü.txt'],
  ])('%s -> %s', (proxyPath, objectName) => {
    expect(objectNameOf(proxyPath)).toBe(objectName);
  });

  it('never names anything under models/, where a write would start a registration', () => {
    for (const proxyPath of ['0/models/m-1/artifacts/model.onnx', '0/r1/artifacts/models/x/model.onnx', '0/models/artifacts/model.onnx']) {
      expect(objectNameOf(proxyPath)).not.toMatch(/^models\//);
    }
  });

  it.each([
    ['a path escape', '0/r1/artifacts/../../r2/artifacts/x'],
    ['a dot segment', '0/r1/artifacts/./x'],
    ['an empty segment', '0/r1/artifacts//x'],
    ['a backslash', '0/r1/artifacts/a\\..\\b'],
    ['a bad run id', '0/r.1/artifacts/x'],
    ['a bad experiment id', '../r1/artifacts/x'],
    ['a bad logged model id', '0/models/m 1/artifacts/x'],
    ['no artifacts segment', '0/r1/x'],
    ['an experiment folder', '0'],
    ['an empty path', ''],
  ])('refuses %s with INVALID_PARAMETER_VALUE naming the accepted forms', (_label, proxyPath) => {
    const error = thrown(() => objectNameOf(proxyPath));
    expect(error.errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(error.message).toContain(JSON.stringify(proxyPath));
    expect(error.message).toMatch(/artifacts\/<path>|relative path/);
  });
});

describe('objectNameOfUri', () => {
  it.each([
    ['runs:/r1/model', 'runs/r1/artifacts/model'],
    ['runs:/r1/model/', 'runs/r1/artifacts/model'],
    ['runs:/r1/model/model.onnx', 'runs/r1/artifacts/model/model.onnx'],
    ['runs:/r1', 'runs/r1/artifacts/'],
    ['runs:///r1/model', 'runs/r1/artifacts/model'],
    ['mlflow-artifacts:/0/r1/artifacts/model', 'runs/r1/artifacts/model'],
    ['mlflow-artifacts://tracking.example.com:443/0/r1/artifacts/model', 'runs/r1/artifacts/model'],
    ['mlflow-artifacts:/0/models/m-ab/artifacts', 'logged-models/m-ab/artifacts/'],
  ])('%s -> %s', (uri, objectName) => {
    expect(objectNameOfUri(uri)).toBe(objectName);
  });

  it.each(['gs://bucket/runs/r1/model', 'models:/churn/1', 'runs:/r1/../r2/model', 'mlflow-artifacts:/0/r1/x', 's3://b/k'])(
    'refuses %s with INVALID_PARAMETER_VALUE',
    (uri) => {
      expect(thrown(() => objectNameOfUri(uri)).errorCode).toBe('INVALID_PARAMETER_VALUE');
    },
  );
});

describe('artifactContentType', () => {
  it.each(Object.entries(reference.contentTypes))('%s is %s, as MLflow with Python mimetypes says', (path, contentType) => {
    expect(artifactContentType(`runs/r1/artifacts/${path}`)).toBe(contentType);
  });
});
