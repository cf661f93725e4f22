import { PlatformError } from '../../shared/domain/errors.js';
import { describeTask } from '../../shared/domain/model-task.js';
import { validateModelName } from '../../shared/domain/names.js';
import { type ModelVersion, taskOf } from '../../shared/domain/registry.js';
import type { CliContext } from './context.js';
import { formatAliases, formatBytes, table } from './format.js';
import { formatVersionRuns, runsOfVersions } from './runs.js';

/** `mlops models list`: every model with its latest version and aliases. */
export async function listModels(context: CliContext, { json }: { json: boolean }): Promise<string> {
  const models = await (await context.platform.registry()).listModels();
  if (json) return JSON.stringify(models, null, 2);
  if (models.length === 0) return 'No models yet. Upload one with: mlops upload model.onnx --name <model>';
  return table(
    ['MODEL', 'LATEST', 'ALIASES', 'SERVING', 'UPDATED'],
    models.map((model) => [
      model.name,
      model.latestVersion || '-',
      formatAliases(model.aliases),
      model.serving ? `${model.serving.url} (v${model.serving.version})` : '',
      model.updatedAt,
    ]),
  );
}

/** `mlops models show <name>`: the model, its aliases and every version. */
export async function showModel(context: CliContext, name: string, { json }: { json: boolean }): Promise<string> {
  const registry = await context.platform.registry();
  const model = await registry.getModel(validateModelName(name));
  if (!model) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${name}". List models with: mlops models list`);
  const versions = await registry.listVersions(name);
  const runs = await runsOfVersions(context, versions);
  if (json) return JSON.stringify({ model, versions, runs }, null, 2);
  const aliasesOf = (version: number) =>
    Object.entries(model.aliases)
      .filter(([, holder]) => holder === version)
      .map(([alias]) => alias)
      .join(',');
  const serving = model.serving
    ? `  serving: ${model.serving.url} (version ${model.serving.version}, revision ${model.serving.revision})`
    : '  serving: (not deployed)';
  const header = [
    `Model ${model.name}`,
    `  aliases: ${formatAliases(model.aliases) || '(none)'}`,
    serving,
    model.description ? `  ${model.description}` : '',
  ].filter(Boolean);
  const rows = versions.map((version) => [
    version.version,
    version.status,
    aliasesOf(version.version),
    version.sha256.slice(0, 12),
    formatBytes(version.sizeBytes),
    version.signature.inputs.map((input) => `${input.name}:${input.type}[${input.shape.map((dim) => dim ?? '?').join(',')}]`).join(' '),
    Object.entries(version.metrics)
      .map(([key, value]) => `${key}=${value}`)
      .join(' '),
    version.lineage.runId ?? '',
    version.createdAt,
  ]);
  return [
    ...header,
    '',
    table(['VERSION', 'STATUS', 'ALIASES', 'SHA256', 'SIZE', 'INPUTS', 'METRICS', 'RUN', 'CREATED'], rows),
    '',
    ...versions.flatMap(versionDetails),
    ...formatVersionRuns(runs),
  ].join('\n');
}

/** What a version predicts, which output means what, and what is served when the graph was derived from the upload. */
function versionDetails(version: ModelVersion): string[] {
  const outputs = version.signature.outputs.map((output) => `${output.name}:${output.type}[${output.shape.map((dim) => dim ?? '?').join(',')}]`);
  const lines = [`v${version.version} task: ${describeTask(taskOf(version))}`, `v${version.version} outputs: ${outputs.join(' ')}`];
  const parent = version.lineage.parent;
  if (parent) lines.push(`v${version.version} retrained from ${parent.model}@${parent.version}`);
  if (version.served?.derived) {
    lines.push(
      `v${version.version} serves a graph derived from the upload (sha256 ${version.served.sha256.slice(0, 12)}): ${version.served.changes.join('; ')}`,
    );
  }
  return lines;
}

/** `mlops models history <name>`: every transition, oldest first, rejections included. */
export async function modelHistory(context: CliContext, name: string, { json }: { json: boolean }): Promise<string> {
  const registry = await context.platform.registry();
  if (!(await registry.getModel(validateModelName(name)))) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${name}".`);
  const history = await registry.history(name);
  if (json) return JSON.stringify(history, null, 2);
  return table(
    ['WHEN', 'ACTION', 'ALIAS', 'FROM', 'TO', 'BY', 'REASON'],
    history.map((entry) => [entry.at, entry.action, entry.alias ?? '', entry.fromVersion ?? '', entry.toVersion ?? '', entry.actor, entry.reason]),
  );
}
