import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelVersion } from '../../../shared/domain/registry.js';
import type { AliasMove, ModelRegistry } from '../../../shared/ports/model-registry.port.js';
import { type Cli, check, getJson, mlopsOk, postJson, waitFor } from './checks.js';
import { type FittedClassifier, IRIS_FEATURES, type LabelledRow, probability } from './iris-classifier.js';
import type { TrainingResult } from './train-step.js';

/** When the iris measurements are recorded as observed in offline_features (Fisher published them in 1936). */
const TRAINING_TIME = '1936-01-01T00:00:00Z';

/** What registration needs besides the training result. */
export interface RegisterOptions {
  model: string;
  cli: Cli;
  registry: ModelRegistry;
  workDir: string;
}

/** The version the demo registered and the URL serving it. */
export interface ServedVersion {
  version: ModelVersion;
  servingUrl: string;
}

/**
 * Loads the training rows into offline_features (the drift job's reference for the version),
 * uploads the best candidate with `mlops upload` naming its run and that dataset (register-model
 * makes the version), ends the run, promotes the version to staging then production through the
 * CLI, and waits until serving-rollout rolled out a revision serving exactly that version.
 */
export async function registerAndPromote(training: TrainingResult, { model, cli, registry, workDir }: RegisterOptions): Promise<ServedVersion> {
  const { best, onnxFile, datasetId } = training;
  await loadTrainingSet(cli, training.train, datasetId, workDir);
  const metrics = Object.entries({ accuracy: best.evaluation.accuracy, auc: best.evaluation.auc, log_loss: best.evaluation.logLoss });
  const uploaded = JSON.parse(
    await mlopsOk(
      cli,
      'upload',
      onnxFile,
      '--name',
      model,
      '--run-id',
      best.run.id,
      '--dataset',
      datasetId,
      '--description',
      'Iris virginica or not: logistic regression trained by npm run demo',
      ...metrics.flatMap(([key, value]) => ['--metric', `${key}=${value}`]),
      ...['--param', `num_steps=${best.options.numSteps}`, '--param', `learning_rate=${best.options.learningRate}`],
      '--json',
    ),
  ) as { uri: string; version?: ModelVersion };
  await best.run.end();
  const version = uploaded.version;
  check(version?.status === 'ready', `register-model did not make a ready version of ${model} from ${uploaded.uri}.`);
  check(
    version.lineage.runId === best.run.id && version.lineage.datasetId === datasetId,
    `Version ${version.version} lineage is ${JSON.stringify(version.lineage)}.`,
  );
  const reason = `npm run demo: best test AUC of ${training.candidates.length} candidates`;
  for (const alias of ['staging', 'production']) {
    const move = JSON.parse(await mlopsOk(cli, 'promote', model, String(version.version), '--to', alias, '--reason', reason, '--json')) as AliasMove;
    check(
      move.version === version.version && move.alias === alias,
      `mlops promote moved ${move.alias} to ${move.version}, not ${alias} to ${version.version}.`,
    );
  }
  const stored = await registry.getModel(model);
  check(
    stored?.aliases.staging === version.version && stored.aliases.production === version.version,
    `The registry shows aliases ${JSON.stringify(stored?.aliases)}, expected staging and production at ${version.version}.`,
  );
  const servingUrl = await waitFor(
    async () => {
      const serving = (await registry.getModel(model))?.serving;
      return serving?.version === version.version ? serving.url : undefined;
    },
    { what: `serving-rollout to serve ${model} v${version.version}`, timeoutMs: 60_000 },
  );
  const health = await getJson<{ version: number }>(`${servingUrl}/health`);
  check(health.version === version.version, `${servingUrl}/health reports version ${health.version}, expected ${version.version}.`);
  return { version, servingUrl };
}

/** `mlops features load` of the training rows (idempotent: the same rows twice are stored once). */
async function loadTrainingSet(cli: Cli, train: LabelledRow[], datasetId: string, workDir: string): Promise<void> {
  const file = join(workDir, `${datasetId}.csv`);
  const lines = train.map((row, index) => [`flower-${index}`, TRAINING_TIME, ...row.features].join(','));
  writeFileSync(file, `${['entity_id', 'event_time', ...IRIS_FEATURES].join(',')}\n${lines.join('\n')}\n`);
  const report = JSON.parse(await mlopsOk(cli, 'features', 'load', file, '--dataset', datasetId, '--json')) as {
    loaded: number;
    duplicates: number;
    rejectedCount: number;
  };
  check(
    report.rejectedCount === 0 && report.loaded + report.duplicates === train.length,
    `mlops features load stored ${report.loaded} (+${report.duplicates} already present) of ${train.length} training rows; refused ${report.rejectedCount}.`,
  );
}

/** Sends rows whose probabilities are known and fails unless the served model agrees with the trained one. */
export async function checkServedModel(servingUrl: string, fitted: FittedClassifier, rows: LabelledRow[]): Promise<number> {
  const instances = rows.map((row) => Object.fromEntries(IRIS_FEATURES.map((name, index) => [name, row.features[index]!])));
  const answer = await postJson<{ predictions: { probability: number | number[] }[] }>(`${servingUrl}/predict`, { instances });
  const served = answer.predictions.map((prediction) => Number([prediction.probability].flat()[0]));
  const worst = Math.max(...rows.map((row, index) => Math.abs(served[index]! - probability(fitted, row.features))));
  // The ONNX graph computes in float32; the TypeScript model in float64.
  check(worst < 1e-4, `The served model disagrees with the trained one: probabilities differ by up to ${worst}.`);
  return worst;
}
