import type { Call, Step } from '../../../infra/plan-steps.js';
import { existenceCheck } from '../../../infra/teardown.js';

const SAFE = /^[A-Za-z0-9_./:=@,+%^-]+$/;

/** One argument quoted for a POSIX shell; `${VAR}` references stay expandable inside double quotes. */
export function shellQuote(argument: string): string {
  if (SAFE.test(argument)) return argument;
  if (/\$\{[A-Z0-9_]+\}/.test(argument) && !/["\\`]|\$(?!\{[A-Z0-9_]+\})/.test(argument)) return `"${argument}"`;
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** A call as one line: a shell command, or `api <api> <method> <resource> <body>` for a client-library call. */
export function formatCall(call: Call): string {
  if (call.kind === 'command') return call.argv.map(shellQuote).join(' ');
  const body = call.body === undefined ? '' : ` ${JSON.stringify(call.body)}`;
  return `api ${call.api} ${call.method} ${call.resource}${body}`;
}

function header(step: Step, index: number, total: number): string {
  return `# [${index + 1}/${total}] ${step.component} · ${step.kind}: ${step.summary}`;
}

/**
 * The deploy plan as text, in order: each step's check (skipped when it passes), the command or
 * API call, and the update used when the resource exists but differs. Lookups read as shell
 * assignments, so the commands after them could be pasted into a shell.
 */
export function formatPlan(steps: Step[]): string {
  return steps
    .map((step, index) => {
      const lines = [header(step, index, steps.length)];
      if (step.kind === 'lookup') return [...lines, formatLookup(step)].join('\n');
      if (step.check) {
        lines.push(`#   unchanged if: ${formatCall(step.check.call)}`);
        if (step.check.expect !== undefined) lines.push(`#     shows: ${JSON.stringify(step.check.expect)}`);
      }
      if (step.update) lines.push(`#   if different: ${formatCall(step.update)}`);
      lines.push(formatCall(step.apply));
      return lines.join('\n');
    })
    .join('\n\n');
}

/** A lookup as a shell assignment of its output, or as the bare command when it only makes sure something exists. */
function formatLookup(step: Step): string {
  return step.output ? `${step.output}=$(${formatCall(step.apply)})` : formatCall(step.apply);
}

/** The teardown plan as text: each removal and the check that skips it when the resource is already gone. */
export function formatTeardown(steps: Step[]): string {
  return steps
    .map((step, index) => {
      const lines = [header(step, index, steps.length)];
      if (step.kind === 'lookup') return [...lines, formatLookup(step)].join('\n');
      const check = existenceCheck(step);
      if (check) lines.push(`#   only if present: ${formatCall(check.call)}${check.expect === undefined ? '' : ` shows ${JSON.stringify(check.expect)}`}`);
      lines.push(...(step.destroy ?? []).map(formatCall));
      return lines.join('\n');
    })
    .join('\n\n');
}
