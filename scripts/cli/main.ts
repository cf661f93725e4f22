import { parseArgs } from 'node:util';
import { isPlatformError } from '../../shared/domain/errors.js';
import { createCliContext } from './context.js';
import { UsageError } from './format.js';
import { listModels, modelHistory, showModel } from './models.js';
import { describeMove, promote, rollback } from './promote.js';
import { upload } from './upload.js';

const HELP = `mlops: the platform's command line

  mlops upload <file.onnx> --name <model> [--run-id ID] [--dataset ID] [--metric k=v]... [--param k=v]...
               [--tag k=v]... [--description TEXT] [--no-wait] [--timeout SECONDS] [--json]
  mlops models list [--json]
  mlops models show <name> [--json]
  mlops models history <name> [--json]
  mlops promote <name> <version> --to <alias> [--reason TEXT] [--json]
  mlops rollback <name> [--alias production] [--reason TEXT] [--json]

Talks to the backends the environment configures (MLOPS_PROFILE=local by default: the emulators
that "npm start" runs). Exit codes: 0 done, 1 refused or failed, 2 wrong usage.`;

const OPTIONS = {
  name: { type: 'string' },
  'run-id': { type: 'string' },
  dataset: { type: 'string' },
  description: { type: 'string' },
  metric: { type: 'string', multiple: true },
  param: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  'no-wait': { type: 'boolean', default: false },
  timeout: { type: 'string', default: '30' },
  to: { type: 'string' },
  alias: { type: 'string', default: 'production' },
  reason: { type: 'string', default: '' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Runs one command line and returns the exit code. */
export async function main(
  argv: string[],
  out: (text: string) => void = (text) => void process.stdout.write(text),
  err: (text: string) => void = (text) => void process.stderr.write(text),
): Promise<number> {
  let context: ReturnType<typeof createCliContext> | undefined;
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    const [command, ...rest] = positionals;
    if (values.help || !command) {
      out(`${HELP}\n`);
      return command || values.help ? 0 : 2;
    }
    context = createCliContext();
    const json = values.json;
    const print = (text: string) => out(`${text}\n`);
    const need = (value: string | undefined, what: string) => {
      if (!value) throw new UsageError(`Missing ${what}. See: mlops --help`);
      return value;
    };
    switch (command) {
      case 'upload': {
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
        const result = await upload(context, need(rest[0], 'the file to upload'), options, (line) => (process.stderr.isTTY ? err(line) : undefined));
        if (json) print(JSON.stringify(result, null, 2));
        else
          print(
            result.version
              ? `registered ${result.version.model} version ${result.version.version} (sha256 ${result.version.sha256.slice(0, 12)})`
              : `uploaded ${result.uri}`,
          );
        return 0;
      }
      case 'models': {
        const [sub, name] = rest;
        if (sub === 'list') print(await listModels(context, { json }));
        else if (sub === 'show') print(await showModel(context, need(name, 'the model name'), { json }));
        else if (sub === 'history') print(await modelHistory(context, need(name, 'the model name'), { json }));
        else throw new UsageError(`Unknown "models ${sub ?? ''}": use list, show or history.`);
        return 0;
      }
      case 'promote': {
        const move = await promote(context, need(rest[0], 'the model name'), need(rest[1], 'the version'), need(values.to, '--to <alias>'), values.reason);
        print(json ? JSON.stringify(move, null, 2) : describeMove(move, 'now points at'));
        return 0;
      }
      case 'rollback': {
        const move = await rollback(context, need(rest[0], 'the model name'), values.alias, values.reason);
        print(json ? JSON.stringify(move, null, 2) : describeMove(move, 'rolled back to'));
        return 0;
      }
      default:
        throw new UsageError(`Unknown command "${command}". See: mlops --help`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err(`error: ${(error as Error).message}\n`);
      return 2;
    }
    err(`error: ${isPlatformError(error) ? `${error.message} [${error.code}]` : (error as Error).message}\n`);
    return 1;
  } finally {
    await context?.platform.close();
  }
}
