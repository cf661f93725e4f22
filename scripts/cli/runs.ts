import { isPlatformError } from '../../shared/domain/errors.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import type { Run } from '../../shared/domain/tracking.js';
import { describeRun, type NamedRunSearch, requireRun, searchRunsByName } from '../../shared/services/tracking.js';
import type { CliContext } from './context.js';
import { formatBytes, table, UsageError } from './format.js';

/** `mlops runs list`: runs matching a filter, newest first unless ordered otherwise. */
export async function listRuns(context: CliContext, search: NamedRunSearch, { json }: { json: boolean }): Promise<string> {
  const tracking = await context.platform.trackingStore();
  const runs = await searchRunsByName(tracking, search);
  if (json) return JSON.stringify(runs, null, 2);
  if (runs.length === 0) return search.filter ? 'No runs match.' : 'No runs yet. Log one with the SDK: createTracking().startRun({ experiment: "<name>" })';
  const experiments = new Map((await tracking.listExperiments()).map((experiment) => [experiment.id, experiment.name]));
  return table(
    ['RUN ID', 'EXPERIMENT', 'NAME', 'STATUS', 'STARTED', 'DURATION', 'METRICS', 'PARAMS'],
    runs.map((run) => [
      run.id,
      experiments.get(run.experimentId) ?? run.experimentId,
      run.name,
      run.status,
      run.startTime,
      duration(run),
      pairs(run.metrics),
      pairs(run.params),
    ]),
  );
}

/** `mlops runs show <id>`: params, latest metrics, tags, artifacts, and the model versions made from the run. */
export async function showRun(context: CliContext, runId: string, { json }: { json: boolean }): Promise<string> {
  const { platform } = context;
  const details = await describeRun(runId, {
    tracking: await platform.trackingStore(),
    artifacts: await platform.artifacts(),
    registry: await platform.registry(),
  });
  if (json) return JSON.stringify(details, null, 2);
  const { run, experiment, artifacts, modelVersions } = details;
  const section = (title: string, headers: string[], rows: (string | number)[][]) =>
    ['', title, rows.length === 0 ? '  (none)' : indent(table(headers, rows))].join('\n');
  return [
    `Run ${run.id}  ${run.name}`,
    `  experiment: ${experiment?.name ?? '?'} (${run.experimentId})`,
    `  status:     ${run.status}, started ${run.startTime}${run.endTime ? `, ended ${run.endTime} (${duration(run)})` : ''}`,
    section(
      'Params',
      ['KEY', 'VALUE'],
      sorted(run.params).map(([key, value]) => [key, value]),
    ),
    section(
      'Metrics',
      ['NAME', 'LATEST', 'STEP', 'MIN', 'MAX'],
      sorted(run.metrics).map(([key, value]) => {
        const summary = run.metricSummaries[key];
        return [key, number(value), summary?.step ?? '', summary ? number(summary.min) : '', summary ? number(summary.max) : ''];
      }),
    ),
    section(
      'Tags',
      ['KEY', 'VALUE'],
      sorted(run.tags).map(([key, value]) => [key, value]),
    ),
    section(
      'Artifacts',
      ['PATH', 'SIZE'],
      artifacts.map((artifact) => [artifact.path, formatBytes(artifact.size)]),
    ),
    section('Model versions', ['MODEL', 'VERSION', 'STATUS', 'SHA256', 'CREATED'], modelVersions.map(versionRow)),
  ].join('\n');
}

/** `mlops runs compare <id> <id>...`: params and metrics side by side; `*` marks rows that differ. */
export async function compareRuns(context: CliContext, runIds: string[], { json }: { json: boolean }): Promise<string> {
  if (runIds.length < 2) throw new UsageError('runs compare needs at least two run ids.');
  const tracking = await context.platform.trackingStore();
  const runs = await Promise.all(runIds.map((id) => requireRun(tracking, id)));
  const column = <T>(pick: (run: Run) => Record<string, T>) =>
    Object.fromEntries([...new Set(runs.flatMap((run) => Object.keys(pick(run))))].sort().map((key) => [key, runs.map((run) => pick(run)[key] ?? null)]));
  const params = column((run) => run.params);
  const metrics = column((run) => run.metrics);
  if (json) return JSON.stringify({ runs, params, metrics }, null, 2);
  const row = (key: string, values: (string | number | null)[]) => [
    new Set(values).size > 1 ? '*' : '',
    key,
    ...values.map((value) => (typeof value === 'number' ? number(value) : value)),
  ];
  return table(
    ['', 'KEY', ...runs.map((run) => `${run.name} (${run.id.slice(0, 8)})`)],
    [
      row(
        'status',
        runs.map((run) => run.status),
      ),
      ...Object.entries(params).map(([key, values]) => row(`params.${key}`, values)),
      ...Object.entries(metrics).map(([key, values]) => row(`metrics.${key}`, values)),
    ],
  );
}

/** The runs that made these versions, for `mlops models show`; ids the tracker does not know (set by hand) are skipped. */
export async function runsOfVersions(context: CliContext, versions: ModelVersion[]): Promise<Run[]> {
  const ids = [...new Set(versions.flatMap((version) => (version.lineage.runId ? [version.lineage.runId] : [])))];
  if (ids.length === 0) return [];
  const tracking = await context.platform.trackingStore();
  const runs = await Promise.all(
    ids.map((id) => tracking.getRun(id).catch((error) => (isPlatformError(error, 'NAME.INVALID') ? undefined : Promise.reject(error)))),
  );
  return runs.filter((run): run is Run => run !== undefined);
}

/** The "Runs" section of `mlops models show`: each source run's params and latest metrics. */
export function formatVersionRuns(runs: Run[]): string[] {
  if (runs.length === 0) return [];
  return [
    '',
    'Runs',
    indent(
      table(
        ['RUN ID', 'NAME', 'STATUS', 'PARAMS', 'METRICS'],
        runs.map((run) => [run.id, run.name, run.status, pairs(run.params), pairs(run.metrics)]),
      ),
    ),
  ];
}

function versionRow(version: ModelVersion): (string | number)[] {
  return [version.model, version.version, version.status, version.sha256.slice(0, 12), version.createdAt];
}

function sorted<T>(record: Record<string, T>): [string, T][] {
  return Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
}

function pairs(record: Record<string, string | number>): string {
  return sorted(record)
    .map(([key, value]) => `${key}=${typeof value === 'number' ? number(value) : value}`)
    .join(' ');
}

/** Six significant digits: enough to compare runs, short enough for a table. */
function number(value: number): string {
  return String(Number(value.toPrecision(6)));
}

function duration(run: Run): string {
  if (!run.endTime) return '';
  return `${((Date.parse(run.endTime) - Date.parse(run.startTime)) / 1000).toFixed(1)} s`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
