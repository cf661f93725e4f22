import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from '../../scripts/cli/main.js';
import { RetrainRequested } from '../../shared/domain/retrain.js';
import { logisticRegressionToOnnx } from '../../shared/model-export/onnx-writer.js';
import { createTracking } from '../../shared/sdk/index.js';
import { BINARY_CLASSIFIER } from './models.js';

// The training job a user points MLOPS_RETRAIN_COMMAND at, run as `node --import tsx test/support/retrain-command.ts`:
// it reads the request, reads the window's rows from the export, "trains" (the fixture classifier with its
// intercept moved to the window's label log-odds), logs a run, and uploads the model with its lineage so a
// canary of it starts. Exit 0 tells deliver-retrain the request was delivered.

/** The request from MLOPS_RETRAIN_REQUEST, or from stdin when the variable is unset. */
function readRequest(): RetrainRequested {
  const text = process.env.MLOPS_RETRAIN_REQUEST ?? readFileSync(0, 'utf8');
  return RetrainRequested.parse(JSON.parse(text));
}

/** The exported window as rows: the local bucket folder holds gs://<bucket>/<name> at <data dir>/bucket/<bucket>/<name>. */
function windowRows(request: RetrainRequested): Record<string, unknown>[] {
  const uri = request.data.windowExport;
  if (!uri) throw new Error(`request ${request.requestId} names no window export; this job reads only exports`);
  const [, bucket, name] = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri) ?? [];
  const path = join(process.env.MLOPS_DATA_DIR ?? '.mlops-data', 'bucket', bucket!, name!);
  if (!existsSync(path)) throw new Error(`the window export ${uri} is not at ${path}`);
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The share of positive labels among the rows' ground truth, kept away from 0 and 1. */
function positiveShare(rows: Record<string, unknown>[]): number {
  const labels = rows.map((row) => Number(row.label ?? (row.ground_truth as { label?: unknown } | undefined)?.label)).filter(Number.isFinite);
  const share = labels.length === 0 ? 0.5 : labels.reduce((sum, label) => sum + label, 0) / labels.length;
  return Math.min(0.99, Math.max(0.01, share));
}

async function main(): Promise<number> {
  const request = readRequest();
  const rows = windowRows(request);
  const share = positiveShare(rows);
  const tracking = createTracking();
  try {
    const run = await tracking.startRun({ experiment: `${request.model}-retrain`, name: request.requestId, tags: { reason: request.reason } });
    run.logParams({ request_id: request.requestId, parent: `${request.model}@${request.version}`, window_rows: rows.length });
    run.logMetric('positive_share', share);
    const file = join(mkdtempSync(join(tmpdir(), 'retrain-')), 'model.onnx');
    const intercept = Math.log(share / (1 - share));
    writeFileSync(file, logisticRegressionToOnnx({ weights: [...BINARY_CLASSIFIER.weights], intercept, featureNames: [...BINARY_CLASSIFIER.featureNames] }));
    await run.end();
    const dataset = request.data.referenceDatasetId ? ['--dataset', request.data.referenceDatasetId] : [];
    const parent = `${request.model}@${request.version}`;
    const upload = await runCaptured('upload', file, '--name', request.model, '--run-id', run.id, '--parent', parent, '--then', 'canary', ...dataset);
    process.stdout.write(`retrain ${request.requestId}: ${rows.length} window rows, run ${run.id}\n${upload.stdout}${upload.stderr}`);
    return upload.code;
  } finally {
    await tracking.close();
  }
}

process.exitCode = await main().catch((error) => {
  process.stderr.write(`retrain failed: ${error instanceof Error ? error.message : error}\n`);
  return 1;
});
