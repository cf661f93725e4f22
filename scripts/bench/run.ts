import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchContext } from './context.js';
import { type Section, type SectionReport, type TargetCheck, load, machineInfo, othersCpu, seconds, table, verdict } from './report.js';
import { batchScoringSection } from './batch-scoring.js';
import { coldStartSection } from './cold-start.js';
import { driftSection } from './drift.js';
import { ingestSection } from './ingest.js';
import { openInferenceSection } from './open-inference.js';
import { wrkVersion } from './load.js';
import { stopAllTargets } from './processes.js';
import { fastApiVersions } from './serving-peers.js';
import { registrySection } from './registry.js';
import { servingSection } from './serving.js';

// `npm run bench`: every section in sequence, then BENCHMARKS.md. `--only a,b` runs some
// sections and prints their markdown instead (add `--out FILE` to write it).
const SECTIONS: Section[] = [servingSection, openInferenceSection, coldStartSection, registrySection, ingestSection, batchScoringSection, driftSection];

const { values: flags } = parseArgs({
  options: {
    only: { type: 'string' },
    out: { type: 'string' },
    seconds: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
  },
});
const only = flags.only?.split(',').map((id) => id.trim());
const unknown = only?.filter((id) => !SECTIONS.some((section) => section.id === id)) ?? [];
if (unknown.length > 0) {
  console.error(`Unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.map((section) => section.id).join(', ')}`);
  process.exit(2);
}
const selected = SECTIONS.filter((section) => !only || only.includes(section.id));
const settings = { seconds: Number(flags.seconds), warmupSeconds: Number(flags.warmup), connections: Number(flags.connections) };
const context = new BenchContext(settings);
const stopOnSignal = () => void Promise.allSettled([stopAllTargets(), context.close()]).finally(() => process.exit(130));
process.once('SIGINT', stopOnSignal);
process.once('SIGTERM', stopOnSignal);

const started = performance.now();
const reports: { section: Section; report: SectionReport; ms: number; loadBefore: string }[] = [];
try {
  for (const section of selected) {
    const loadBefore = load();
    const sectionStarted = performance.now();
    console.error(`[bench] ${section.id}: ${section.title} (load average ${loadBefore})`);
    const report = await section.run(context).catch((error: Error) => failed(section, error));
    const elapsed = performance.now() - sectionStarted;
    console.error(`[bench] ${section.id} done in ${seconds(elapsed)}`);
    reports.push({ section, report, ms: elapsed, loadBefore });
  }
} finally {
  await context.close();
}

const markdown = render(reports, performance.now() - started);
const out = flags.out ?? (only ? undefined : 'BENCHMARKS.md');
if (out) {
  writeFileSync(out, markdown);
  // The repository's formatter owns markdown layout (table alignment): the file passes `biome check` as written.
  spawnSync(process.execPath, ['node_modules/@biomejs/biome/bin/biome', 'format', '--write', out], { stdio: 'ignore' });
  console.error(`[bench] wrote ${out} in ${seconds(performance.now() - started)}`);
} else process.stdout.write(markdown);

/** A section that threw still gets its place in the document, with the reason. */
function failed(section: Section, error: Error): SectionReport {
  console.error(`[bench] ${section.id} failed: ${error.stack ?? error.message}`);
  return { title: section.title, body: `not measured: the section failed (${error.message.split('\n')[0]}).`, targets: [] };
}

function render(done: typeof reports, totalMs: number): string {
  const checks: TargetCheck[] = done.flatMap(({ report }) => report.targets);
  return [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench\` (${seconds(totalMs)} for ${done.length === SECTIONS.length ? 'every section' : done.map((item) => item.section.id).join(', ')}) on ${new Date().toISOString().slice(0, 10)}. Every figure below comes from that one run; each section names the command that reproduces it and the commands behind its figures. Load generator and server under test run in separate processes on the same 2-core machine, one core each: absolute figures are those of a one-core server, and ratios between rows are the meaningful part. The machine is shared with other work; each load run first waits (up to 5 s, 40 s in all) for the rest of the machine to fall under 0.2 cores, and the serving tables show what the rest used during each run (“others’ CPU”).`,
    '',
    machineInfo(versions()),
    '',
    '## Targets',
    '',
    table(
      ['target', 'measured', 'others’ CPU', 'verdict'],
      checks.map((check) => [check.target, check.measured, check.othersCores === undefined ? '' : othersCpu(check.othersCores), verdict(check)]),
    ),
    '',
    ...done.flatMap(({ section, report, ms, loadBefore }) => [
      `## ${report.title}`,
      '',
      `Reproduce: \`npm run bench -- --only ${section.id}\` (took ${seconds(ms)}; 1-minute load average before it: ${loadBefore}).`,
      '',
      report.body,
      '',
    ]),
  ].join('\n');
}

function versions(): Record<string, string> {
  const version = (name: string) => (JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  return {
    ...Object.fromEntries(
      ['onnxruntime-node', 'hono', '@hono/node-server', '@google-cloud/functions-framework', '@duckdb/node-api'].map((name) => [name, version(name)]),
    ),
    wrk: wrkVersion() ?? 'not installed (`apt-get install wrk`)',
    'FastAPI peer': fastApiVersions() ?? 'not installed (`apt-get install python3-fastapi python3-uvicorn python3-sklearn`)',
  };
}
