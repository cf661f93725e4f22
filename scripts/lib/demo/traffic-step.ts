import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VersionTotals } from '../dashboard/dashboard-queries.js';
import { type Cli, check, DemoCheckFailed, getJson, mlopsOk, postJson, waitFor } from './checks.js';
import { batches, type TrafficRow } from './traffic.js';

/** A prediction the platform answered, with the outcome the demo knows for it. */
export interface SentPrediction {
  id: string;
  label: 0 | 1;
  predicted: 0 | 1;
}

/** Options of one traffic phase. */
export interface PhaseOptions {
  batchSize: number;
  /** Pause between requests, so the volume and latency charts show the phase over time. */
  pacingMs: number;
}

/** POSTs the rows to /predict in batches; fails unless every instance gets an id and a label. */
export async function sendPhase(servingUrl: string, rows: TrafficRow[], { batchSize, pacingMs }: PhaseOptions): Promise<SentPrediction[]> {
  const sent: SentPrediction[] = [];
  for (const batch of batches(rows, batchSize)) {
    const answer = await postJson<{ ids: string[]; predictions: { label: number | number[] }[] }>(`${servingUrl}/predict`, {
      instances: batch.map((row) => row.instance),
    });
    check(answer.ids.length === batch.length, `/predict answered ${answer.ids.length} ids for ${batch.length} instances.`);
    batch.forEach((row, index) => {
      sent.push({ id: answer.ids[index]!, label: row.label, predicted: Number([answer.predictions[index]!.label].flat()[0]) === 1 ? 1 : 0 });
    });
    if (pacingMs > 0) await new Promise((resolve) => setTimeout(resolve, pacingMs));
  }
  return sent;
}

/** Reports the true outcome of every `every`-th prediction with `mlops ground-truth`, as a user with a CSV would. */
export async function sendGroundTruth(
  cli: Cli,
  predictions: SentPrediction[],
  { every, workDir }: { every: number; workDir: string },
): Promise<SentPrediction[]> {
  const labelled = predictions.filter((_, index) => index % every === 0);
  const file = join(workDir, 'ground-truth.csv');
  writeFileSync(file, `id,label\n${labelled.map((prediction) => `${prediction.id},${prediction.label}`).join('\n')}\n`);
  const output = await mlopsOk(cli, 'ground-truth', file, '--json');
  const { accepted, rejected } = JSON.parse(output) as { accepted: number; rejected: unknown[] };
  check(
    accepted === labelled.length && rejected.length === 0,
    `mlops ground-truth accepted ${accepted} of ${labelled.length} records (${rejected.length} refused).`,
  );
  return labelled;
}

/**
 * Waits until the warehouse holds every prediction sent to the version and every ground truth
 * record, counted by the dashboard's own query (the runner's process owns the DuckDB file).
 */
export async function waitForWarehouse(
  dashboardUrl: string,
  { model, version, predictions, labelled }: { model: string; version: number; predictions: number; labelled: number },
): Promise<VersionTotals> {
  let last: VersionTotals | undefined;
  const totals = await waitFor(
    async () => {
      const summary = await getJson<{ versions: VersionTotals[] }>(`${dashboardUrl}/api/models/${encodeURIComponent(model)}/summary`);
      last = summary.versions.find((row) => row.version === version);
      return last && last.online >= predictions && last.labelled >= labelled ? last : undefined;
    },
    { what: `${predictions} predictions and ${labelled} ground truth rows of ${model} v${version} in the warehouse`, timeoutMs: 45_000 },
  ).catch((error: Error) => {
    throw new DemoCheckFailed(`${error.message} Last count: ${last ? `${last.online} predictions, ${last.labelled} labelled` : 'none'}.`);
  });
  check(totals.online === predictions, `The warehouse holds ${totals.online} online predictions of v${version}, but ${predictions} were sent.`);
  check(totals.labelled === labelled, `The warehouse joins ${totals.labelled} ground truth rows to v${version}, but ${labelled} were sent.`);
  return totals;
}
