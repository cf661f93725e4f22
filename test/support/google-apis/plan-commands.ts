import type { DeployConfig } from '../../../infra/deploy-config.js';
import type { Call, Step } from '../../../infra/plan-steps.js';
import { variablesIn } from '../../../infra/plan-steps.js';
import { substitute } from '../../../scripts/lib/deploy/apply-plan.js';

/** Every call a step can make: its check, apply, update and destroy calls. */
export function callsOf(step: Step): Call[] {
  return [step.check?.call, step.apply, step.update, ...(step.destroy ?? [])].filter((call): call is Call => call !== undefined);
}

/** The gcloud argv of every call of these steps, each `${VAR}` replaced from `values` (an unknown one fails the plan's own way). */
export function gcloudCommands(steps: Step[], values: Map<string, string>): string[][] {
  return steps.flatMap((step) => callsOf(step).flatMap((call) => (call.kind === 'command' ? [substitute(call, values).argv] : [])));
}

/**
 * Values a lookup could really return, by what the variable names: a trigger or subscription path,
 * a service agent, the project number. A variable of a new kind gets a placeholder, which the gcloud
 * check then reports if gcloud refuses it.
 */
export function plausibleValues(steps: Step[], { project, region }: DeployConfig, projectNumber = '123456789012'): Map<string, string> {
  const names = [...new Set(steps.flatMap((step) => variablesIn(callsOf(step))))];
  const plausibleValueOf = (name: string) => {
    const base = name
      .replace(/_(TRIGGER|SUBSCRIPTION)$/, '')
      .toLowerCase()
      .replace(/_/g, '-');
    if (name === 'PROJECT_NUMBER') return projectNumber;
    if (name.endsWith('_TRIGGER')) return `projects/${project}/locations/${region}/triggers/${base}-123456`;
    if (name.endsWith('_SUBSCRIPTION')) return `projects/${project}/subscriptions/eventarc-${region}-${base}-123456-sub-789`;
    if (name.endsWith('_AGENT')) return `service-${projectNumber}@gs-project-accounts.iam.gserviceaccount.com`;
    return `placeholder-${name.toLowerCase()}`;
  };
  return new Map(names.map((name) => [name, plausibleValueOf(name)]));
}

/**
 * What decides how gcloud parses a command: its command path and positional words, each flag's
 * name, and the shape of each value (runs of name characters folded to `a`). Resource names (the
 * steps' own names, the project) count as values, so `topics describe a` and `topics describe b`
 * share a shape while `topics describe` and `topics create` do not.
 */
export function commandShape(argv: string[], resourceNames: ReadonlySet<string>): string {
  const fold = (value: string) => value.replace(/[A-Za-z0-9_-]+/g, 'a');
  return argv
    .map((token) => {
      const flag = /^(--[a-z0-9-]+)(?:=([\s\S]*))?$/.exec(token);
      if (flag) return flag[2] === undefined ? flag[1] : `${flag[1]}=${fold(flag[2])}`;
      return resourceNames.has(token) || /[^a-z-]/.test(token) ? `<${fold(token)}>` : token;
    })
    .join(' ');
}

/** The command path of a gcloud argv: its words up to the flags, without `gcloud` and without resource names. */
export function commandPathOf(argv: string[], resourceNames: ReadonlySet<string>): string[] {
  return argv.slice(1).filter((token) => !token.startsWith('-') && !resourceNames.has(token) && !/[^a-z-]/.test(token));
}

/** The distinct command paths of the steps' gcloud calls, as the zygote warms them up. */
export function commandPathsOf(steps: Step[], config: DeployConfig): string[][] {
  const names = resourceNamesOf(steps, config);
  const paths = steps.flatMap((step) => callsOf(step).flatMap((call) => (call.kind === 'command' ? [commandPathOf(call.argv, names)] : [])));
  return [...new Map(paths.map((path) => [path.join(' '), path])).values()];
}

/** The names a plan gives its resources, which commandShape treats as values. */
export function resourceNamesOf(steps: Step[], config: DeployConfig): Set<string> {
  return new Set([config.project, config.region, ...steps.filter((step) => step.kind !== 'lookup').map((step) => step.name)]);
}

/** One command per shape, the first of each, in plan order. */
export function representativeCommands(commands: string[][], resourceNames: ReadonlySet<string>): string[][] {
  const byShape = new Map<string, string[]>();
  for (const argv of commands) {
    const shape = commandShape(argv, resourceNames);
    if (!byShape.has(shape)) byShape.set(shape, argv);
  }
  return [...byShape.values()];
}
