import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { CLIENT_OPTIONS, functionUrlOption, functionUrlVariable } from '../../../../shared/config/client-config.js';
import { OPTIONS, parseServingTarget, parseConfig } from '../../../../shared/config/config.js';
import { ENV, INTERNAL_ENV, SETTINGS } from '../../../../shared/config/env.js';
import { MONITORING_OPTIONS, parseMonitoringConfig } from '../../../../shared/config/monitoring-config.js';
import {
  boolean,
  list,
  oneOf,
  type OptionSpec,
  option,
  PROFILE,
  PROFILES,
  positiveInteger,
  readOption,
  readProfile,
  requireOption,
  text,
} from '../../../../shared/config/options.js';
import { PlatformError } from '../../../../shared/domain/errors.js';
import { ROOT } from '../../../support/paths.js';

type Env = Record<string, string | undefined>;

const GCP_ENV = { MLOPS_PROFILE: 'gcp', GOOGLE_CLOUD_PROJECT: 'acme-ml-prod', MLOPS_BUCKET: 'acme-ml-models' } as const;
const SHA256_OF_SECRET = '2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b';

/** Runs parseConfig expecting it to refuse the env, and returns the error it threw. */
function configError(env: Env): PlatformError {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(PlatformError);
    return error as PlatformError;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('parseConfig: local profile', () => {
  it('runs with an empty env on DuckDB and a local bucket under the data folder', () => {
    const config = parseConfig({});
    const dataDir = resolve('.mlops-data');

    expect(config.profile).toBe('local');
    expect(config.projectId).toBe('mlops-local');
    expect(config.dataDir).toBe(dataDir);
    expect(config.artifacts).toEqual({ type: 'local', bucket: 'mlops-artifacts', root: join(dataDir, 'bucket') });
    expect(config.warehouse).toEqual({ type: 'duckdb', dataset: 'mlops', path: join(dataDir, 'warehouse.duckdb') });
    expect(config.registry).toEqual({ type: 'firestore', emulatorHost: undefined, databaseId: '(default)' });
    expect(config.promotion).toEqual({ requireStaging: false });
    expect(config.serving).toEqual({
      apiKeyHashes: [],
      maxBatch: 1000,
      maxBodyBytes: 1048576,
      deployer: 'local',
      alias: 'production',
      predictionLogBufferBytes: 128 * 1024 * 1024,
      batching: { enabled: true, maxRows: 256, maxWaitMs: 0 },
    });
  });

  it('keeps local state under MLOPS_DATA_DIR and honours an explicit DuckDB path', () => {
    const config = parseConfig({ MLOPS_DATA_DIR: '/srv/mlops', MLOPS_DUCKDB_PATH: '/var/lib/mlops/wh.duckdb' });

    expect(config.dataDir).toBe('/srv/mlops');
    expect(config.artifacts).toMatchObject({ type: 'local', root: '/srv/mlops/bucket' });
    expect(config.warehouse).toMatchObject({ type: 'duckdb', path: '/var/lib/mlops/wh.duckdb' });
  });

  it('passes emulator hosts through to the event bus and registry', () => {
    const config = parseConfig({ PUBSUB_EMULATOR_HOST: 'localhost:8085', FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' });

    expect(config.eventBus).toEqual({ type: 'pubsub', emulatorHost: 'localhost:8085' });
    expect(config.registry.emulatorHost).toBe('127.0.0.1:8080');
  });
});

describe('parseConfig: gcp profile', () => {
  it('defaults to BigQuery and GCS', () => {
    const config = parseConfig(GCP_ENV);

    expect(config.profile).toBe('gcp');
    expect(config.projectId).toBe('acme-ml-prod');
    expect(config.artifacts).toEqual({ type: 'gcs', bucket: 'acme-ml-models' });
    expect(config.warehouse).toEqual({ type: 'bigquery', dataset: 'mlops', location: 'US' });
    expect(config.dataDir).toBe('/tmp/mlops');
  });

  it('refuses to start without GOOGLE_CLOUD_PROJECT and says so', () => {
    const error = configError({ MLOPS_PROFILE: 'gcp', MLOPS_BUCKET: 'acme-ml-models' });

    expect(error.code).toBe('CONFIG.INVALID');
    expect(error.message).toContain('GOOGLE_CLOUD_PROJECT');
    expect(error.details).toEqual({ variable: 'GOOGLE_CLOUD_PROJECT' });
  });

  it('has no default bucket, so MLOPS_BUCKET must be set', () => {
    const error = configError({ MLOPS_PROFILE: 'gcp', GOOGLE_CLOUD_PROJECT: 'acme-ml-prod' });

    expect(error.code).toBe('CONFIG.INVALID');
    expect(error.details).toEqual({ variable: 'MLOPS_BUCKET' });
  });

  it('reads the BigQuery dataset and location', () => {
    const config = parseConfig({ ...GCP_ENV, MLOPS_BQ_DATASET: 'ml_prod', MLOPS_BQ_LOCATION: 'EU' });

    expect(config.warehouse).toEqual({ type: 'bigquery', dataset: 'ml_prod', location: 'EU' });
  });
});

describe('parseConfig: backends are chosen per port, not per profile', () => {
  it('local profile with a BigQuery warehouse keeps the local artifact store', () => {
    const config = parseConfig({ MLOPS_WAREHOUSE: 'bigquery' });

    expect(config.warehouse).toEqual({ type: 'bigquery', dataset: 'mlops', location: 'US' });
    expect(config.artifacts.type).toBe('local');
  });

  it('local profile with GCS artifacts keeps the DuckDB warehouse', () => {
    const config = parseConfig({ MLOPS_ARTIFACTS: 'gcs', MLOPS_BUCKET: 'team-models' });

    expect(config.artifacts).toEqual({ type: 'gcs', bucket: 'team-models' });
    expect(config.warehouse.type).toBe('duckdb');
  });

  it('gcp profile can still use DuckDB and a local bucket', () => {
    const config = parseConfig({ ...GCP_ENV, MLOPS_WAREHOUSE: 'duckdb', MLOPS_ARTIFACTS: 'local' });

    expect(config.warehouse).toEqual({ type: 'duckdb', dataset: 'mlops', path: '/tmp/mlops/warehouse.duckdb' });
    expect(config.artifacts).toEqual({ type: 'local', bucket: 'acme-ml-models', root: '/tmp/mlops/bucket' });
  });
});

describe('parseConfig: serving and promotion settings', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['YES', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('MLOPS_REQUIRE_STAGING=%s gives requireStaging %s', (raw, expected) => {
    expect(parseConfig({ MLOPS_REQUIRE_STAGING: raw }).promotion.requireStaging).toBe(expected);
  });

  it('splits API key hashes on commas and ignores blanks', () => {
    const other = 'a'.repeat(64);
    const config = parseConfig({ MLOPS_API_KEY_HASHES: ` ${SHA256_OF_SECRET}, ,${other} ` });

    expect(config.serving.apiKeyHashes).toEqual([SHA256_OF_SECRET, other]);
  });

  it('reads MLOPS_MAX_BATCH as a number', () => {
    expect(parseConfig({ MLOPS_MAX_BATCH: '250' }).serving.maxBatch).toBe(250);
  });

  it('reads how serving coalesces requests: on or off, rows per run, and a wait in milliseconds', () => {
    const { batching } = parseConfig({ MLOPS_SERVING_BATCHING: 'false', MLOPS_SERVING_BATCH_MAX_ROWS: '64', MLOPS_SERVING_BATCH_WAIT_MS: '1.5' }).serving;
    expect(batching).toEqual({ enabled: false, maxRows: 64, maxWaitMs: 1.5 });
  });

  it('reads the prediction log budget in MiB', () => {
    expect(parseConfig({ MLOPS_PREDICTION_LOG_BUFFER_MB: '32' }).serving.predictionLogBufferBytes).toBe(32 * 1024 * 1024);
  });
});

describe('parseConfig: invalid values', () => {
  it.each([
    ['MLOPS_PROFILE', 'prod', '"local" or "gcp"'],
    ['MLOPS_WAREHOUSE', 'postgres', '"duckdb" or "bigquery"'],
    ['MLOPS_ARTIFACTS', 's3', '"local" or "gcs"'],
    ['MLOPS_BUCKET', 'Bad_Bucket!', 'a bucket name'],
    ['MLOPS_BUCKET', 'ab', 'a bucket name'],
    ['MLOPS_BQ_DATASET', 'my-dataset', 'a BigQuery dataset id'],
    ['MLOPS_MAX_BATCH', '0', 'a positive integer'],
    ['MLOPS_MAX_BATCH', '2.5', 'a positive integer'],
    ['MLOPS_MAX_BATCH', 'lots', 'a positive integer'],
    ['MLOPS_REQUIRE_STAGING', 'maybe', 'true or false'],
    ['MLOPS_SERVING_BATCHING', 'sometimes', 'true or false'],
    ['MLOPS_SERVING_BATCH_MAX_ROWS', '0', 'a positive integer'],
    ['MLOPS_SERVING_BATCH_WAIT_MS', '-1', 'a number of milliseconds, 0 or more'],
    ['MLOPS_SERVING_BATCH_WAIT_MS', 'soon', 'a number of milliseconds, 0 or more'],
    ['MLOPS_PREDICTION_LOG_BUFFER_MB', '-1', 'a positive integer (MiB'],
    ['MLOPS_API_KEY_HASHES', 'nothex', 'comma-separated sha256 hex digests'],
    ['MLOPS_API_KEY_HASHES', `${SHA256_OF_SECRET},short`, 'comma-separated sha256 hex digests'],
    ['GOOGLE_CLOUD_PROJECT', '   ', 'a Google Cloud project id'],
  ])('%s=%s fails naming the variable and what it expects', (variable, value, expects) => {
    const error = configError({ [variable]: value });

    expect(error.code).toBe('CONFIG.INVALID');
    expect(error.message).toContain(`${variable}=${JSON.stringify(value)}`);
    expect(error.message).toContain(`expected ${expects}`);
    expect(error.details).toEqual({ variable });
  });
});

describe('options', () => {
  const region = option({ env: 'REGION', expects: 'a region', description: 'where it runs', defaults: { local: 'us-central1' }, parse: text });

  it('prefers the environment over the profile default', () => {
    expect(readOption(region, { REGION: 'europe-west1' }, 'local')).toBe('europe-west1');
    expect(readOption(region, {}, 'local')).toBe('us-central1');
  });

  it('returns undefined for an unset option with no default for the profile', () => {
    expect(readOption(region, {}, 'gcp')).toBeUndefined();
  });

  it('requireOption says which variable to set and why', () => {
    expect(() => requireOption(region, {}, 'gcp', 'functions are deployed there')).toThrowError(
      expect.objectContaining({
        code: 'CONFIG.INVALID',
        message: 'REGION is not set: expected a region (functions are deployed there).',
        details: { variable: 'REGION' },
      }),
    );
  });

  it('parsers accept what they document and reject the rest', () => {
    expect(oneOf('a', 'b')('b')).toBe('b');
    expect(oneOf('a', 'b')('A')).toBeUndefined();
    expect(text('  padded ')).toBe('padded');
    expect(text('')).toBeUndefined();
    expect(positiveInteger('42')).toBe(42);
    expect(positiveInteger('-1')).toBeUndefined();
    expect(positiveInteger('')).toBeUndefined();
    expect(boolean(' True ')).toBe(true);
    expect(boolean('off')).toBeUndefined();
    expect(list('')).toEqual([]);
    expect(list('x, y,,z')).toEqual(['x', 'y', 'z']);
  });
});

describe('parseServingTarget', () => {
  it('pins a version when given, otherwise resolves the production alias', () => {
    expect(parseServingTarget({ MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: '4' })).toEqual({ model: 'churn', version: 4 });
    expect(parseServingTarget({ MLOPS_SERVE_MODEL: 'churn' })).toEqual({ model: 'churn', alias: 'production' });
    expect(parseServingTarget({ MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_ALIAS: 'champion' })).toEqual({ model: 'churn', alias: 'champion' });
  });

  it('fails naming MLOPS_SERVE_MODEL or MLOPS_SERVE_VERSION when missing or bad', () => {
    expect(() => parseServingTarget({})).toThrow(/MLOPS_SERVE_MODEL is not set/);
    expect(() => parseServingTarget({ MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: 'latest' })).toThrow(
      /MLOPS_SERVE_VERSION="latest" is invalid: expected a version number/,
    );
  });
});

describe('DuckDB memory limit setting', () => {
  it('passes a valid MLOPS_DUCKDB_MEMORY_LIMIT to the warehouse and refuses nonsense, naming it', () => {
    expect(parseConfig({ MLOPS_DUCKDB_MEMORY_LIMIT: '512MB' }).warehouse).toMatchObject({ type: 'duckdb', memoryLimit: '512MB' });
    expect(() => parseConfig({ MLOPS_DUCKDB_MEMORY_LIMIT: 'lots' })).toThrow(/MLOPS_DUCKDB_MEMORY_LIMIT="lots" is invalid/);
  });
});

describe('settings are declared once', () => {
  const names = [...Object.values(SETTINGS).map((spec) => spec.env), ...Object.values(INTERNAL_ENV)];

  it('names each variable in one declaration: MLOPS_PROFILE is shared by the platform and monitoring', () => {
    expect(new Set(names).size).toBe(names.length);
    expect(OPTIONS.profile).toBe(PROFILE);
    expect(Object.values(MONITORING_OPTIONS).map((spec) => spec.env)).not.toContain(PROFILE.env);
    expect(names.filter((name) => name === 'MLOPS_PROFILE')).toHaveLength(1);
  });

  it('ENV gives every setting and internal variable its declared name', () => {
    for (const [key, spec] of Object.entries(SETTINGS)) expect(ENV[key as keyof typeof SETTINGS]).toBe(spec.env);
    for (const [key, name] of Object.entries(INTERNAL_ENV)) expect(ENV[key as keyof typeof INTERNAL_ENV]).toBe(name);
    expect(Object.keys(ENV)).toHaveLength(names.length);
    expect(ENV).toMatchObject({ serveModel: 'MLOPS_SERVE_MODEL', logLevel: 'MLOPS_LOG_LEVEL', servingBundle: 'MLOPS_SERVING_BUNDLE' });
  });

  it('every setting says what it does and what it expects, and every default it documents parses', () => {
    for (const spec of Object.values<OptionSpec<unknown>>(SETTINGS)) {
      expect(spec.description.trim(), spec.env).not.toBe('');
      expect(spec.expects.trim(), spec.env).not.toBe('');
      for (const profile of PROFILES) {
        const value = spec.defaults[profile];
        if (value !== undefined) expect(spec.parse(value), `${spec.env}'s ${profile} default`).not.toBeUndefined();
      }
      if (spec.required)
        expect(
          PROFILES.some((profile) => spec.defaults[profile] === undefined),
          spec.env,
        ).toBe(true);
    }
  });

  it('reads the profile once for the platform and monitoring, refusing other values naming MLOPS_PROFILE', () => {
    expect(readProfile({})).toBe('local');
    expect(readProfile({ MLOPS_PROFILE: 'gcp' })).toBe('gcp');
    expect(() => readProfile({ MLOPS_PROFILE: 'prod' })).toThrow(/MLOPS_PROFILE="prod" is invalid: expected "local" or "gcp"/);
    expect(() => parseMonitoringConfig({ MLOPS_PROFILE: 'prod' })).toThrow(/MLOPS_PROFILE="prod"/);
    expect(parseMonitoringConfig({ MLOPS_PROFILE: 'gcp' })).toEqual({ windowHours: 24, alertWebhookUrl: undefined });
  });

  it('declares the CLI settings: the API key, the actor and each function URL', () => {
    expect(CLIENT_OPTIONS.apiKey.env).toBe('MLOPS_API_KEY');
    expect(CLIENT_OPTIONS.actor.env).toBe('MLOPS_ACTOR');
    expect(CLIENT_OPTIONS.functionUrl.env).toBe('MLOPS_<FUNCTION>_URL');
    expect(functionUrlVariable('registry-api')).toBe('MLOPS_REGISTRY_API_URL');
    const url = functionUrlOption('data-api');
    expect(readOption(url, { MLOPS_DATA_API_URL: 'http://127.0.0.1:5001' }, 'local')).toBe('http://127.0.0.1:5001');
    expect(readOption(url, {}, 'gcp')).toBeUndefined();
    expect(() => readOption(url, { MLOPS_DATA_API_URL: ' ' }, 'local')).toThrow(/MLOPS_DATA_API_URL=" " is invalid/);
  });

  it('the logger setting accepts any value, so logging itself never fails on it', () => {
    expect(readOption(OPTIONS.logLevel, { MLOPS_LOG_LEVEL: 'silent' }, 'local')).toBe('silent');
    expect(readOption(OPTIONS.logLevel, { MLOPS_LOG_LEVEL: '' }, 'gcp')).toBe('');
    expect(readOption(OPTIONS.logLevel, {}, 'local')).toBeUndefined();
  });

  describe('in the sources (string literals, templates, regular expressions, identifiers; not comments)', () => {
    const root = ROOT;
    const declared = new Set(names);
    const mentions = (token: string) => (token.match(/[A-Z][A-Z0-9_]*/g) ?? []).filter((word) => declared.has(word) || word.startsWith('MLOPS_'));
    /**
     * Literals in files whose owners are replacing them with references to shared/config
     * (ENV / OPTIONS / CLIENT_OPTIONS / functionUrlVariable). Remove an entry once its file is done.
     */
    const LEFTOVERS: Record<string, string[]> = {};

    function sourceFiles(folder: string): string[] {
      return readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
        .map((entry) => relative(root, join(entry.parentPath, entry.name)));
    }

    /** Every variable name each token of `file` holds, by token kind, comments excluded. */
    function literalNames(file: string): string[] {
      const text = readFileSync(join(root, file), 'utf8');
      if (mentions(text).length === 0) return [];
      const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
      const found: string[] = [];
      const visit = (node: ts.Node): void => {
        if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node) || ts.isRegularExpressionLiteral(node)) found.push(...mentions(node.text));
        else if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node)) found.push(...mentions(node.text));
        ts.forEachChild(node, visit);
      };
      visit(source);
      return found;
    }

    const files = ['shared', 'functions', 'scripts', 'infra'].flatMap(sourceFiles);

    it('writes each name once, in shared/config', () => {
      const counts = new Map<string, number>();
      for (const file of files.filter((name) => name.startsWith('shared/config/'))) {
        for (const name of literalNames(file)) if (declared.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      expect(Object.fromEntries([...counts].filter(([, count]) => count !== 1))).toEqual({});
      expect([...declared].filter((name) => !counts.has(name) && name !== CLIENT_OPTIONS.functionUrl.env)).toEqual([]);
    });

    it('refers to the declarations everywhere else', () => {
      const literals: Record<string, string[]> = {};
      for (const file of files.filter((name) => !name.startsWith('shared/config/'))) {
        const found = [...new Set(literalNames(file))].filter((name) => !LEFTOVERS[file]?.includes(name)).sort();
        if (found.length > 0) literals[file] = found;
      }
      expect(literals, 'use ENV (shared/config/env.ts) or the option declarations instead of these string literals').toEqual({});
    });
  });
});
