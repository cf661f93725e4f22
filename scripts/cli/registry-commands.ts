import { describeTask } from '../../shared/domain/model-task.js';
import { taskOf } from '../../shared/domain/registry.js';
import type { CommandDefinition, JsonOption } from './command.js';
import { collect, need, refuseUnknownSubcommands, jsonOption } from './command.js';
import { UsageError } from './format.js';
import { listModels, modelHistory, showModel } from './models.js';
import { describeMove, promote, rollback } from './promote.js';
import { describeStart } from './rollout-format.js';
import { type UploadOptions, upload } from './upload.js';

/** Flags of `mlops upload` as commander parses them: the upload's options before --name and --timeout are checked. */
type UploadFlags = JsonOption & Omit<UploadOptions, 'name' | 'timeoutSeconds'> & { name?: string; timeout: string };

/** `mlops upload <file.onnx> --name <model>`. */
export const uploadCommand: CommandDefinition = (program, { context, io }) => {
  program
    .command('upload')
    .argument('<file>', 'the .onnx model file')
    .description('upload a model to the bucket and wait until register-model makes it a version (or rejects it)')
    .option('--name <model>', 'the model name (required)')
    .option('--run-id <id>', 'the tracking run the model comes from (its lineage)')
    .option('--dataset <id>', 'the offline_features dataset drift compares with')
    .option('--description <text>', 'what this version is')
    .option('--metric <key=value>', 'a metric of the version (repeatable)', collect)
    .option('--param <key=value>', 'a parameter of the version (repeatable)', collect)
    .option('--tag <key=value>', 'a tag, such as task=binary, output.label=<output name> or drift.<feature>.method=ks (repeatable)', collect)
    .option('--parent <model@version>', 'the version this one was retrained from (its lineage), such as churn@3')
    .option('--then <action>', 'once registered: canary or shadow (a rollout with the defaults of mlops rollout start/shadow), or promote:<alias>')
    .option('--no-wait', 'return once uploaded, without waiting for the registration')
    .option('--timeout <seconds>', 'how long to wait for the registration', '30')
    .addOption(jsonOption())
    .action(async (file: string, flags: UploadFlags) => {
      const timeoutSeconds = Number(flags.timeout);
      if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError('--timeout expects a number of seconds.');
      const options = { ...flags, name: need(flags.name, '--name <model>', 'upload'), timeoutSeconds };
      const result = await upload(context(), file, options, io.progress);
      if (flags.json) io.print(JSON.stringify(result, null, 2));
      else {
        io.print(
          result.version
            ? `registered ${result.version.model} version ${result.version.version} (sha256 ${result.version.sha256.slice(0, 12)}): ${describeTask(taskOf(result.version))}`
            : `uploaded ${result.uri}`,
        );
        if (result.followUp)
          io.print('rollout' in result.followUp ? describeStart(result.followUp.rollout) : describeMove(result.followUp.promotion, 'now points at'));
      }
    });
};

/** `mlops models list|show|history`. */
export const modelsCommand: CommandDefinition = (program, { context, io }) => {
  const models = refuseUnknownSubcommands(program.command('models').description('the model registry: models, versions, aliases and their history'));
  models
    .command('list')
    .description('every model with its latest version, aliases and serving URL')
    .addOption(jsonOption())
    .action(async ({ json = false }: JsonOption) => io.print(await listModels(context(), { json })));
  models
    .command('show')
    .argument('<name>', 'the model name')
    .description('a model: its aliases, serving endpoint, every version and the runs they came from')
    .addOption(jsonOption())
    .action(async (name: string, { json = false }: JsonOption) => io.print(await showModel(context(), name, { json })));
  models
    .command('history')
    .argument('<name>', 'the model name')
    .description('every registration, rejection, promotion, rollback and rollout step of a model, oldest first')
    .addOption(jsonOption())
    .action(async (name: string, { json = false }: JsonOption) => io.print(await modelHistory(context(), name, { json })));
};

/** `mlops promote <name> <version> --to <alias>`. */
export const promoteCommand: CommandDefinition = (program, { context, io }) => {
  program
    .command('promote')
    .argument('<name>', 'the model name')
    .argument('<version>', 'the version number')
    .description('point an alias (such as production) at a version; production rolls out a serving endpoint')
    .option('--to <alias>', 'the alias to move (required)')
    .option('--reason <text>', 'why, kept in the audit trail', '')
    .addOption(jsonOption())
    .action(async (name: string, version: string, flags: JsonOption & { to?: string; reason: string }) => {
      const alias = need(flags.to, '--to <alias>', 'promote');
      const move = await promote(context(), name, version, alias, flags.reason);
      io.print(flags.json ? JSON.stringify(move, null, 2) : describeMove(move, 'now points at'));
    });
};

/** `mlops rollback <name> [--alias production]`. */
export const rollbackCommand: CommandDefinition = (program, { context, io }) => {
  program
    .command('rollback')
    .argument('<name>', 'the model name')
    .description('move an alias back to the version that held it before')
    .option('--alias <alias>', 'the alias to roll back', 'production')
    .option('--reason <text>', 'why, kept in the audit trail', '')
    .addOption(jsonOption())
    .action(async (name: string, flags: JsonOption & { alias: string; reason: string }) => {
      const move = await rollback(context(), name, flags.alias, flags.reason);
      io.print(flags.json ? JSON.stringify(move, null, 2) : describeMove(move, 'rolled back to'));
    });
};
