import { readFile } from 'node:fs/promises';
import { PlatformError } from '../../shared/domain/errors.js';
import { validateModelName } from '../../shared/domain/names.js';
import type { Explanation } from '../../shared/services/explainer.js';
import type { CommandDefinition, JsonOption } from './command.js';
import { jsonOption } from './command.js';
import type { CliContext } from './context.js';
import { table, UsageError } from './format.js';
import { callFunction } from './http.js';
import { fileFormat } from './input-file.js';
import { formatNumber } from './report-sections.js';

/** Instances sent per request: the most a serving revision explains in one (MAX_EXPLAIN_INSTANCES in functions/serve/explain-route.ts). */
const INSTANCES_PER_REQUEST = 100;

/** Flags of `mlops explain`. */
interface ExplainFlags extends JsonOption {
  instances?: string;
  samples?: string;
  target?: string;
}

/** What `/explain` answers, and what `--json` prints for the whole file. */
export interface ExplainResult {
  model: string;
  version: number;
  explanations: Explanation[];
  background: { source: 'request' | 'reference'; rows: number };
}

/** `mlops explain <model> --instances file.jsonl`: per-feature attributions of each instance from the model's serving endpoint. */
export const explainCommand: CommandDefinition = (program, { context, io }) => {
  program
    .command('explain')
    .argument('<model>', 'the model name')
    .description("explain predictions: each feature's attribution to each instance's score, from the model's serving endpoint (POST /explain)")
    .option('--instances <file>', 'a .jsonl file, one instance a line as /predict takes it: an array of values or an object by feature name (required)')
    .option('--samples <n>', 'permutations per instance, for a model explained by sampling (1 to 1000; default 64)')
    .option('--target <class>', "the class whose score is explained (default: the binary task's positive class, or the predicted class)")
    .addOption(jsonOption())
    .action(async (name: string, flags: ExplainFlags) => {
      if (!flags.instances) throw new UsageError('Missing --instances <file.jsonl>. See: mlops explain --help');
      const instances = await readInstances(flags.instances);
      const result = await explain(context(), validateModelName(name), instances, flags);
      if (flags.json) return io.print(JSON.stringify(result, null, 2));
      for (const line of explanationLines(result, instances)) io.print(line);
    });
};

/** The instances of a JSON Lines file, one a line (blank lines skipped); a line that is not JSON is a usage error naming it. */
export async function readInstances(file: string): Promise<unknown[]> {
  fileFormat(file, ['jsonl']);
  const instances: unknown[] = [];
  const lines = (await readFile(file, 'utf8')).split('\n');
  lines.forEach((text, index) => {
    if (text.trim() === '') return;
    try {
      instances.push(JSON.parse(text));
    } catch {
      throw new UsageError(
        `${file}: line ${index + 1} is not JSON (${JSON.stringify(text.slice(0, 40))}); write one instance a line, such as [5.1, 3.5, 1.4, 0.2].`,
      );
    }
  });
  if (instances.length === 0) throw new UsageError(`${file} holds no instances: write one a line, such as [5.1, 3.5, 1.4, 0.2].`);
  return instances;
}

/** Sends the instances to the model's serving URL, a request per hundred, and joins the answers. */
async function explain(context: CliContext, model: string, instances: unknown[], flags: ExplainFlags): Promise<ExplainResult> {
  const samples = flags.samples === undefined ? undefined : Number(flags.samples);
  if (samples !== undefined && !(Number.isInteger(samples) && samples >= 1 && samples <= 1000))
    throw new UsageError('--samples must be a whole number of permutations from 1 to 1000.');
  const url = await servingUrl(context, model);
  // The serving endpoint answers as a platform function does: its errors carry a code.
  const endpoint: CliContext = { ...context, functionUrl: () => url };
  let joined: ExplainResult | undefined;
  for (let start = 0; start < instances.length; start += INSTANCES_PER_REQUEST) {
    const body = { instances: instances.slice(start, start + INSTANCES_PER_REQUEST), samples, target: flags.target };
    const answer = await callFunction<ExplainResult>(endpoint, `${model}'s serving endpoint`, '/explain', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    joined = joined ? { ...joined, explanations: [...joined.explanations, ...answer.explanations] } : answer;
  }
  return joined!;
}

async function servingUrl(context: CliContext, model: string): Promise<string> {
  const found = await (await context.platform.registry()).getModel(model);
  if (!found) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${model}". List models with: mlops models list`);
  if (!found.serving)
    throw new PlatformError(
      'SERVING.NO_MODEL',
      `${model} is not served yet: promote a version to production with "mlops promote ${model} <version> --to production".`,
    );
  return found.serving.url;
}

/**
 * Per instance: a line with the output, prediction, baseline and method, then a table of its features
 * by |attribution|, largest first, each with the instance's value and (sampled) its 95% error bound.
 */
export function explanationLines(result: ExplainResult, instances: unknown[]): string[] {
  const lines = [`${result.model} v${result.version}: background of ${result.background.rows} rows (${result.background.source})`];
  result.explanations.forEach((explanation, index) => {
    const method = explanation.method === 'linear' ? 'exact (linear)' : `sampled Shapley, ${explanation.samples} permutations, ±95% bound`;
    lines.push(
      `\ninstance ${index + 1}: ${explanation.output} (${explanation.scale}) prediction ${formatNumber(explanation.prediction)}, ` +
        `baseline ${formatNumber(explanation.baseline)}; ${method}`,
    );
    const features = Object.entries(explanation.attributions).sort(([, a], [, b]) => Math.abs(b) - Math.abs(a));
    const rows = features.map(([feature, attribution]) => [
      feature,
      featureValue(instances[index], feature, Object.keys(explanation.attributions)),
      formatNumber(attribution),
      explanation.errorBound ? `±${formatNumber(explanation.errorBound[feature])}` : '',
    ]);
    lines.push(table(['FEATURE', 'VALUE', 'ATTRIBUTION', 'BOUND'], rows));
  });
  return lines;
}

/** The instance's value of a feature: by name in an object, by position in an array (the explainer lists features in the model's order). */
function featureValue(instance: unknown, feature: string, features: string[]): string {
  let value: unknown;
  if (Array.isArray(instance)) value = instance.length === features.length ? instance[features.indexOf(feature)] : undefined;
  else if (typeof instance === 'object' && instance !== null) value = (instance as Record<string, unknown>)[feature];
  return value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
}
