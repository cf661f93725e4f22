import { randomUUID } from 'node:crypto';
import { PlatformError } from '../../shared/domain/errors.js';
import { DriftComputed, type DriftRunRequested, MAX_WINDOW_HOURS, type VersionMonitoring } from '../../shared/domain/monitoring-events.js';
import { validateModelName } from '../../shared/domain/names.js';
import { TOPICS } from '../../shared/domain/topics.js';
import type { VersionReport } from '../../shared/services/monitoring-report.js';
import type { CliIo, CommandDefinition, JsonOption } from './command.js';
import { refuseUnknownSubcommands, jsonOption } from './command.js';
import { type CliContext, requestOutcome } from './context.js';
import { table, UsageError } from './format.js';
import { callFunction } from './http.js';
import { fairnessLines, formatNumber, importanceLines, qualityLines } from './report-sections.js';
import { ENV } from '../../shared/config/env.js';
import { MONITORING_OPTIONS } from '../../shared/config/monitoring-config.js';

/** Flags of `mlops drift run`. */
interface RunFlags extends JsonOption {
  model?: string;
  windowHours?: string;
  windowEnd?: string;
  timeout: string;
}

/** `mlops drift run|report`: run monitoring now and wait for it, or show the latest window per feature. */
export const driftCommand: CommandDefinition = (program, { context, io }) => {
  const drift = refuseUnknownSubcommands(
    program.command('drift').description('model monitoring per window: drift, performance, service health, data quality, feature importance and fairness'),
  );
  drift
    .command('run')
    .description('run the monitoring job now for every version holding an alias (or one model), and wait for its result')
    .option('--model <name>', 'only this model')
    .option(
      '--window-hours <hours>',
      `the window's length, 1 to ${MAX_WINDOW_HOURS} (default: ${ENV.windowHours}, ${MONITORING_OPTIONS.windowHours.defaults.local})`,
    )
    .option('--window-end <time>', 'the ISO 8601 time the window ends (default: now)')
    .option('--timeout <seconds>', 'how long to wait for the result', '600')
    .addOption(jsonOption())
    .action((flags: RunFlags) => runDrift(context(), flags, io));
  drift
    .command('report')
    .argument('<model>', 'the model name')
    .description('the latest window per feature: drift, performance from ground truth, latency, data quality, feature importance, fairness and open alerts')
    .addOption(jsonOption())
    .action((model: string, flags: JsonOption) => reportDrift(context(), model, flags, io));
};

async function runDrift(context: CliContext, flags: RunFlags, io: CliIo): Promise<void> {
  const hours = flags.windowHours === undefined ? undefined : Number(flags.windowHours);
  if (hours !== undefined && !(hours > 0 && hours <= MAX_WINDOW_HOURS))
    throw new UsageError(`--window-hours must be a number of hours from 1 to ${MAX_WINDOW_HOURS}.`);
  const end = flags.windowEnd;
  if (end !== undefined && Number.isNaN(Date.parse(end))) throw new UsageError('--window-end must be an ISO 8601 time such as 2026-01-31T12:00:00Z.');
  const requestId = randomUUID();
  const request: DriftRunRequested = {
    schemaVersion: 1,
    trigger: 'manual',
    requestId,
    model: flags.model === undefined ? undefined : validateModelName(flags.model),
    windowHours: hours,
    windowEnd: end === undefined ? undefined : new Date(end).toISOString(),
  };
  // compute-drift replies on drift-computed (its topic handler's reply topic).
  const result = await requestOutcome(context, TOPICS.monitorSchedule, request, {
    replyTopic: TOPICS.driftComputed,
    schema: DriftComputed,
    correlationId: requestId,
    timeoutMs: Number(flags.timeout) * 1000,
  });
  if (flags.json) return io.print(JSON.stringify(result, null, 2));
  if (result.status === 'failed') throw new PlatformError('MONITORING.FAILED', `Monitoring failed: ${result.error}`);
  io.print(`window ${result.windowStart} to ${result.windowEnd} (${result.seconds.toFixed(1)} s)`);
  if (result.versions.length === 0) io.print('no model version holds an alias: nothing to monitor');
  for (const version of result.versions) printVersion(version, io);
}

function printVersion(version: VersionMonitoring, io: CliIo): void {
  const drift = version.datasetDrift;
  io.print(
    `\n${version.model} v${version.version} (${version.aliases.join(', ')}): reference ${version.reference}; ` +
      `dataset drift ${drift.drifted ? 'YES' : 'no'} (${(drift.share * 100).toFixed(0)}% of features, threshold ${drift.threshold * 100}%)`,
  );
  const rows = version.features.map((feature) => [
    feature.feature,
    feature.method,
    formatNumber(feature.value),
    feature.threshold,
    feature.drifted ? 'DRIFT' : 'ok',
    feature.referenceSize,
    feature.currentSize,
    feature.tolerance > 0 ? `±${feature.tolerance.toExponential(1)}` : 'exact',
  ]);
  if (rows.length > 0) io.print(table(['FEATURE', 'METHOD', 'VALUE', 'THRESHOLD', 'DRIFT', 'REFERENCE', 'CURRENT', 'STATISTIC'], rows));
  for (const skipped of version.skipped) io.print(`  skipped ${skipped.feature}: ${skipped.reason}`);
  if (version.alertsOpened.length > 0) io.print(`  alerts sent: ${version.alertsOpened.join(', ')}`);
  if (version.alertsResolved.length > 0) io.print(`  recovered: ${version.alertsResolved.join(', ')}`);
  for (const problem of version.problems) io.print(`  tag ignored: ${problem}`);
}

async function reportDrift(context: CliContext, name: string, flags: JsonOption, io: CliIo): Promise<void> {
  const model = validateModelName(name);
  const report = await callFunction<{ model: string; versions: VersionReport[] }>(context, 'monitoring-api', `/drift/${model}`);
  if (flags.json) return io.print(JSON.stringify(report, null, 2));
  if (report.versions.length === 0)
    return io.print(
      `no monitoring results for ${model} yet: run "mlops drift run --model ${model}" ` +
        `(it monitors the versions that hold an alias; "mlops promote ${model} <version> --to <alias>" gives one)`,
    );
  for (const version of report.versions) printReport(model, version, io);
}

/** One version's latest window: the parts that have data, then why each other part is still empty. */
function printReport(model: string, version: VersionReport, io: CliIo): void {
  io.print(`${model} v${version.version}: window ${version.windowStart} to ${version.windowEnd} (computed ${version.computedAt})`);
  const driftRows = version.drift.map((row) => [
    row.feature,
    row.method,
    formatNumber(row.value),
    row.threshold,
    row.drifted ? 'DRIFT' : 'ok',
    row.reference_size,
    row.current_size,
  ]);
  if (driftRows.length > 0) io.print(table(['FEATURE', 'METHOD', 'VALUE', 'THRESHOLD', 'DRIFT', 'REFERENCE', 'CURRENT'], driftRows));
  const metrics = Object.entries(version.performance).map(([metric, value]) => `${metric} ${formatNumber(value)}`);
  if (metrics.length > 0) io.print(`performance (${version.labelled ?? 0} labelled): ${metrics.join(', ')}`);
  if (version.health) io.print(healthLine(version.health));
  // A monitoring API older than these sections answers without them.
  const sections = [
    ...(version.quality ? qualityLines(version.quality) : []),
    ...(version.importance ? importanceLines(version.importance) : []),
    ...(version.fairness ?? []).flatMap(fairnessLines),
  ];
  for (const line of sections) io.print(line);
  if (version.openAlerts.length > 0) io.print(`open alerts: ${version.openAlerts.map((alert) => `${alert.feature} (since ${alert.opened_at})`).join(', ')}`);
  // A monitoring API older than the waiting list answers without one.
  for (const waiting of version.waiting ?? []) io.print(`waiting: ${waiting.part}: ${waiting.reason}`);
  io.print('');
}

function healthLine(health: Record<string, unknown>): string {
  const latency = [health.latency_p50_ms, health.latency_p95_ms, health.latency_p99_ms].map((value) => formatNumber(value as number | null)).join('/');
  const errorRate = typeof health.error_rate === 'number' ? `${(health.error_rate * 100).toFixed(2)}%` : 'n/a';
  return `health: ${health.predictions} predictions, latency p50/p95/p99 ${latency} ms, error rate ${errorRate}`;
}
