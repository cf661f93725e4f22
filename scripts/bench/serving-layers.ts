import type { BenchContext } from './context.js';
import { type LoadResult, runLoad } from './load.js';
import { predictBody } from './models.js';
import { shownCommand, startTarget } from './processes.js';
import { count, latency, othersCpu, table } from './report.js';
import { type CaseResult, loadSettings } from './serving-entries.js';

/** The layers, from bare node:http up to each serving entry. */
export type LayerId = 'bare' | 'app-no-log' | 'node-server' | 'ff-hello' | 'functions-framework';

/** A layer of the stack measured on its own (one row, same load). */
export interface Layer {
  id: LayerId;
  label: string;
  load: LoadResult;
  command: string;
  /** The layer it adds to, for the "added" column. */
  base?: LayerId;
}

/** The entries' and the bare server's one-row figures, measured with the rest of the section. */
export interface MeasuredLayers {
  bare: CaseResult;
  revision: CaseResult;
  framework: CaseResult;
}

const VARIANT_ARGS = ['--import', 'tsx', 'scripts/bench/targets/serving-variant.ts'];

const VARIANTS: { id: LayerId; label: string; base: LayerId; args: string[]; env?: Record<string, string> }[] = [
  {
    id: 'app-no-log',
    label: 'the serving app (`createServingApp`) on the revision’s server, prediction log off',
    base: 'bare',
    args: VARIANT_ARGS,
    env: { BENCH_VARIANT: 'app-no-log' },
  },
  {
    id: 'ff-hello',
    label: 'Functions Framework answering a fixed JSON (its floor)',
    base: 'bare',
    args: ['--import', 'tsx', 'node_modules/.bin/functions-framework', '--target=serve', '--source=scripts/bench/targets/ff-hello.ts', '--port={port}'],
  },
];

/** Measures the variants, then lines them up with the entries and the bare server measured before. */
export async function measureLayers(context: BenchContext, { bare, revision, framework }: MeasuredLayers): Promise<Layer[]> {
  const bodyFile = context.bodyFile('predict-1.json', predictBody(1));
  const layers: Layer[] = [];
  for (const { id, label, base, args, env } of VARIANTS) {
    const target = await startTarget({ name: id, args, env });
    try {
      layers.push({
        id,
        label,
        base,
        load: await runLoad({ url: `${target.url}/predict`, bodyFile, ...(await loadSettings(context, target)) }),
        command: target.command,
      });
    } finally {
      await target.stop();
    }
  }
  const byId = (id: LayerId) => layers.find((layer) => layer.id === id)!;
  return [
    { id: 'bare', label: 'bare node:http answering a fixed JSON', load: bare, command: bare.serverCommand },
    byId('app-no-log'),
    {
      id: 'node-server',
      label: '… plus the prediction log to Pub/Sub = `functions/serve/server.ts`',
      base: 'app-no-log',
      load: revision,
      command: revision.serverCommand,
    },
    byId('ff-hello'),
    {
      id: 'functions-framework',
      label: 'Functions Framework + the serving app = `functions/serve/index.ts`',
      base: 'ff-hello',
      load: framework,
      command: framework.serverCommand,
    },
  ];
}

/** Time per request of a layer: with 32 connections its one JavaScript thread is saturated. */
export const perRequestMicros = (layer: Layer): number => 1e6 / layer.load.requestsPerSecond;

/** The layers as a table, each with what it adds to the one it builds on. */
export function layerTable(layers: Layer[]): string {
  const rows = layers.map((layer) => {
    const base = layers.find((candidate) => candidate.id === layer.base);
    const added = base ? perRequestMicros(layer) - perRequestMicros(base) : undefined;
    return [
      layer.label,
      count(layer.load.requestsPerSecond),
      latency(layer.load.p99Ms),
      `${count(perRequestMicros(layer))} µs`,
      added === undefined ? '' : `${added >= 0 ? '+' : '−'}${count(Math.abs(added))} µs over ${base!.id === 'bare' ? 'bare' : 'the row above'}`,
      othersCpu(layer.load.othersCores),
      `\`${shownCommand(layer.command)}\``,
    ];
  });
  return table(['layer (1 row, 32 connections)', 'req/s', 'p99', 'per request', 'added', 'others’ CPU', 'server command'], rows);
}
