import type { ModelVersion } from '../../shared/domain/registry.js';
import { platform } from '../../shared/runtime/index.js';
import type { BenchContext } from './context.js';
import { predictBody } from './models.js';
import { type Section, bytes, commands, median, ms, table } from './report.js';

/** Registrations of the small model, each then promoted in turn: the medians are over these runs. */
const RUNS = 5;
const WIDE_REGISTRATIONS = 2;
const MODEL = 'bench-registry';
const WIDE_MODEL = 'bench-registry-wide';

/** Upload to ready, and promote to the new version answering at the model's URL, on the local platform. */
export const registrySection: Section = {
  id: 'registry',
  title: 'Registration and promotion latency (local platform)',
  async run(context) {
    const small = await timeUploads(context, MODEL, context.modelFile('small'), RUNS);
    const wide = await timeUploads(context, WIDE_MODEL, context.modelFile('wide'), WIDE_REGISTRATIONS);
    const promotions: number[] = [];
    for (const version of small.versions) promotions.push(await timePromotion(context, version));
    const row = (label: string, runs: number[]) => [label, ms(median(runs)), runs.map(ms).join(', ')];
    return {
      title: this.title,
      body: [
        table(
          ['what', 'median', 'runs'],
          [
            row(`registration, small model (${bytes(small.versions[0]!.sizeBytes)}): upload → version ready`, small.runs),
            row(`registration, wide model (${bytes(wide.versions[0]!.sizeBytes)}): upload → version ready`, wide.runs),
            row('promotion: promote → the model URL answers /predict with the new version', promotions),
          ],
        ),
        '',
        'Registration is `mlops upload` end to end: write to the local bucket, OBJECT_FINALIZE notification on the emulator, register-model (onnxruntime validation, sha256, a version number in a Firestore transaction), and the CLI polling the registry every 100 ms until it sees the version. Promotion is `mlops promote` through registry-api, promote-model and serving-rollout, then a new serving revision process (`node --import tsx functions/serve/server.ts`) cold-starting until healthy and the router switching to it; the clock stops when the model URL first answers with the new version. The first promotion also opens the model’s router.',
        '',
        commands([
          ['registration', `mlops upload <model.onnx> --name ${MODEL} --json`],
          ['promotion', `mlops promote ${MODEL} <version> --to production, then POST <serving url>/predict until "version" is the new one`],
        ]),
      ].join('\n'),
      targets: [],
    };
  },
};

async function timeUploads(context: BenchContext, name: string, file: string, count: number): Promise<{ runs: number[]; versions: ModelVersion[] }> {
  const runs: number[] = [];
  const versions: ModelVersion[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    versions.push(await context.upload(name, file));
    runs.push(performance.now() - started);
  }
  return { runs, versions };
}

async function timePromotion(context: BenchContext, version: ModelVersion): Promise<number> {
  const started = performance.now();
  const run = await context.mlops('promote', version.model, String(version.version), '--to', 'production', '--json');
  if (run.code !== 0) throw new Error(`mlops promote failed: ${run.stderr}`);
  const registry = await platform().registry();
  const deadline = started + 60_000;
  while (performance.now() < deadline) {
    const url = (await registry.getModel(version.model))?.serving?.url;
    if (url && (await servedVersion(url)) === version.version) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${version.model} version ${version.version} was not served within 60 s of its promotion`);
}

async function servedVersion(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: predictBody(1) });
    return response.ok ? ((await response.json()) as { version: number }).version : undefined;
  } catch {
    return undefined;
  }
}
