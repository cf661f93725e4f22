import type { CliCommand } from './command.js';
import { flags, need } from './command.js';
import { UsageError } from './format.js';
import { listModels, modelHistory, showModel } from './models.js';
import { describeMove, promote, rollback } from './promote.js';
import { upload } from './upload.js';

/** `mlops upload`. */
export const uploadCommand: CliCommand = {
  usage: [
    'mlops upload <file.onnx> --name <model> [--run-id ID] [--dataset ID] [--metric k=v]... [--param k=v]...',
    '             [--tag k=v]... [--description TEXT] [--no-wait] [--timeout SECONDS] [--json]',
  ],
  async run(context, argv, io) {
    const { values, positionals } = flags(argv, {
      name: { type: 'string' },
      'run-id': { type: 'string' },
      dataset: { type: 'string' },
      description: { type: 'string' },
      metric: { type: 'string', multiple: true },
      param: { type: 'string', multiple: true },
      tag: { type: 'string', multiple: true },
      'no-wait': { type: 'boolean', default: false },
      timeout: { type: 'string', default: '30' },
    });
    const timeoutSeconds = Number(values.timeout);
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) throw new UsageError('--timeout expects a number of seconds.');
    const options = {
      name: need(values.name, '--name <model>'),
      runId: values['run-id'],
      dataset: values.dataset,
      description: values.description,
      metric: values.metric,
      param: values.param,
      tag: values.tag,
      wait: !values['no-wait'],
      timeoutSeconds,
    };
    const result = await upload(context, need(positionals[0], 'the file to upload'), options, io.progress);
    if (values.json) io.print(JSON.stringify(result, null, 2));
    else
      io.print(
        result.version
          ? `registered ${result.version.model} version ${result.version.version} (sha256 ${result.version.sha256.slice(0, 12)})`
          : `uploaded ${result.uri}`,
      );
  },
};

/** `mlops models list|show|history`. */
export const modelsCommand: CliCommand = {
  usage: ['mlops models list [--json]', 'mlops models show <name> [--json]', 'mlops models history <name> [--json]'],
  async run(context, argv, io) {
    const { values, positionals } = flags(argv, {});
    const [sub, name] = positionals;
    const json = values.json;
    if (sub === 'list') io.print(await listModels(context, { json }));
    else if (sub === 'show') io.print(await showModel(context, need(name, 'the model name'), { json }));
    else if (sub === 'history') io.print(await modelHistory(context, need(name, 'the model name'), { json }));
    else throw new UsageError(`Unknown "models ${sub ?? ''}": use list, show or history.`);
  },
};

/** `mlops promote`. */
export const promoteCommand: CliCommand = {
  usage: ['mlops promote <name> <version> --to <alias> [--reason TEXT] [--json]'],
  async run(context, argv, io) {
    const { values, positionals } = flags(argv, { to: { type: 'string' }, reason: { type: 'string', default: '' } });
    const move = await promote(
      context,
      need(positionals[0], 'the model name'),
      need(positionals[1], 'the version'),
      need(values.to, '--to <alias>'),
      values.reason,
    );
    io.print(values.json ? JSON.stringify(move, null, 2) : describeMove(move, 'now points at'));
  },
};

/** `mlops rollback`. */
export const rollbackCommand: CliCommand = {
  usage: ['mlops rollback <name> [--alias production] [--reason TEXT] [--json]'],
  async run(context, argv, io) {
    const { values, positionals } = flags(argv, { alias: { type: 'string', default: 'production' }, reason: { type: 'string', default: '' } });
    const move = await rollback(context, need(positionals[0], 'the model name'), values.alias, values.reason);
    io.print(values.json ? JSON.stringify(move, null, 2) : describeMove(move, 'rolled back to'));
  },
};
