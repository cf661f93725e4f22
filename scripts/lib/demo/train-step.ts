import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TrackedRun } from '../../../shared/sdk/tracked-run.js';
import type { Tracking } from '../../../shared/sdk/tracking.js';
import {
  classifierToOnnx,
  type Evaluation,
  evaluate,
  type FittedClassifier,
  IRIS_FEATURES,
  irisDataset,
  type LabelledRow,
  POSITIVE_CLASS,
  splitStratified,
  type TrainingOptions,
  trainClassifier,
} from './iris-classifier.js';
import { seededRandom } from '../../../shared/domain/random.js';

/** Hyperparameters the demo tries; the best test AUC (then accuracy) is registered. */
export const CANDIDATES: TrainingOptions[] = [
  { numSteps: 200, learningRate: 0.0005 },
  { numSteps: 1500, learningRate: 0.002 },
  { numSteps: 3000, learningRate: 0.005 },
];

/** One trained candidate and the run that logged it. */
export interface TrainedCandidate {
  options: TrainingOptions;
  fitted: FittedClassifier;
  evaluation: Evaluation;
  run: TrackedRun;
}

/** What the training step leaves for the next ones. */
export interface TrainingResult {
  candidates: TrainedCandidate[];
  best: TrainedCandidate;
  onnxFile: string;
  /** Every flower of the data set: what the traffic samples from. */
  dataset: LabelledRow[];
  /** The rows the model was fitted on: the drift reference once loaded into offline_features. */
  train: LabelledRow[];
  /** The offline_features dataset id the training rows are loaded under. */
  datasetId: string;
}

/**
 * Trains each candidate on the same stratified split, logs it as a run (params, test metrics),
 * and writes the best one to ONNX. The best run stays open: the registration step registers the
 * model from it, so the version's lineage names it. The others end FINISHED here.
 */
export async function trainAndLog(
  tracking: Tracking,
  { experiment, seed, workDir }: { experiment: string; seed: number; workDir: string },
): Promise<TrainingResult> {
  const dataset = irisDataset();
  const { train, test } = splitStratified(dataset, 0.3, seededRandom(seed));
  const datasetId = `iris-train-seed${seed}`;
  const candidates: TrainedCandidate[] = [];
  for (const [index, options] of CANDIDATES.entries()) {
    const fitted = trainClassifier(train, options);
    const evaluation = evaluate(fitted, test);
    const run = await tracking.startRun({ experiment, name: `logreg-${index + 1}`, tags: { dataset: 'iris', task: `${POSITIVE_CLASS} vs rest` } });
    run.logParams({
      model: 'logistic-regression',
      library: 'ml-logistic-regression',
      num_steps: options.numSteps,
      learning_rate: options.learningRate,
      features: IRIS_FEATURES.join(','),
      train_rows: train.length,
      train_dataset: datasetId,
      test_rows: test.length,
      seed,
    });
    run.logMetrics({
      accuracy: evaluation.accuracy,
      auc: evaluation.auc,
      log_loss: evaluation.logLoss,
      precision: evaluation.precision,
      recall: evaluation.recall,
    });
    await run.flush();
    candidates.push({ options, fitted, evaluation, run });
  }
  const best = [...candidates].sort((a, b) => b.evaluation.auc - a.evaluation.auc || b.evaluation.accuracy - a.evaluation.accuracy)[0]!;
  for (const candidate of candidates.filter((other) => other !== best)) await candidate.run.end();
  const onnxFile = join(workDir, 'iris-virginica.onnx');
  writeFileSync(onnxFile, classifierToOnnx(best.fitted));
  return { candidates, best, onnxFile, dataset, train, datasetId };
}
