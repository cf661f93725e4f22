import { cpus, loadavg, release, totalmem } from 'node:os';
import type { BenchContext } from './context.js';

/** One target from the issue, checked against a figure of this run. */
export interface TargetCheck {
  target: string;
  measured: string;
  /** undefined when the figure could not be measured. */
  met: boolean | undefined;
  /** The most CPU the rest of the machine used while its figures were taken, in cores; above BUSY_CORES the verdict is void. */
  othersCores?: number;
}

/** What a section hands back to the runner. */
export interface SectionReport {
  title: string;
  /** Markdown: tables, the commands behind them, and what the figures mean. */
  body: string;
  targets: TargetCheck[];
}

/** One benchmark section: an id for `--only`, a title, and how to run it. */
export interface Section {
  id: string;
  title: string;
  run(context: BenchContext): Promise<SectionReport>;
}

/** A markdown table; cells are already formatted. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A bulleted list of commands, each in a code span. */
export function commands(entries: [label: string, command: string][]): string {
  return entries.map(([label, command]) => `- ${label}: \`${command}\``).join('\n');
}

/** 12,345 */
export const count = (value: number): string => Math.round(value).toLocaleString('en-US');
/** 1.23 ms (µs below 0.1 ms, seconds from 1 s) */
export const ms = (value: number): string =>
  value < 0.1 ? `${(value * 1000).toFixed(1)} µs` : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value < 10 ? value.toFixed(2) : value.toFixed(0)} ms`;
/** A latency in milliseconds, to the microsecond below 0.1 ms (wrk records microseconds). */
export const latency = (value: number): string => ms(value);
/** 1.2 s */
export const seconds = (valueMs: number): string => `${(valueMs / 1000).toFixed(valueMs < 10_000 ? 2 : 1)} s`;
/** 42% */
export const percent = (share: number): string => `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
/** 1.23× */
export const times = (ratio: number): string => `${ratio.toFixed(ratio < 10 ? 2 : 1)}×`;
/** 123 MiB */
export const mebibytes = (value: number): string => `${(value / 1024 / 1024).toFixed(0)} MiB`;
/** 312 B, 4.2 KiB or 50 MiB */
export const bytes = (value: number): string => (value < 1024 ? `${value} B` : value < 1024 * 1024 ? `${(value / 1024).toFixed(1)} KiB` : mebibytes(value));

/**
 * Above this much CPU used by the rest of the machine (in cores) a figure on this 2-core machine is
 * not a result: the server or the load generator shared its core.
 */
export const BUSY_CORES = 0.25;

/** Other people's CPU during a measurement, in cores; in bold when the figure is not a result. */
export const othersCpu = (cores: number): string => (cores > BUSY_CORES ? `**${cores.toFixed(2)}**` : cores.toFixed(2));

/** A target's verdict: met, missed, not measured, or void because the machine was busy. */
export function verdict({ met, othersCores }: TargetCheck): string {
  if (met === undefined) return 'not measured';
  if (othersCores !== undefined && othersCores > BUSY_CORES) return 'busy machine: not a result';
  return met ? 'met' : '**missed**';
}

/** The median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** CPU, cores, memory, OS and versions, as BENCHMARKS.md opens with. */
export function machineInfo(versions: Record<string, string>): string {
  const [cpu] = cpus();
  const rows: [string, string][] = [
    ['CPU', `${cpu?.model.trim() ?? 'unknown'}`],
    ['cores', String(cpus().length)],
    ['memory', `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`],
    ['OS', `Linux ${release()}`],
    ['Node.js', process.version],
    ...Object.entries(versions),
  ];
  return table(['', ''], rows);
}

/** The 1-minute load average: other work on the machine shows up here. */
export const load = (): string => loadavg()[0]!.toFixed(2);

/** Runs one step of a section, printing on stderr how long it took, so a slow run shows where its time went. */
export async function timed<T>(label: string, step: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await step();
  } finally {
    console.error(`[bench]   ${label}: ${seconds(performance.now() - started)}`);
  }
}
