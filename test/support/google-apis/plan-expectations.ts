import type { Call, Step } from '../../../infra/plan-steps.js';
import { substitute } from '../../../scripts/lib/deploy/apply-plan.js';
import type { CallPurpose, CallResult, Executor } from '../../../scripts/lib/deploy/apply-plan.js';

/** An executor that passes every call on and keeps what each lookup returned, by its output variable. */
export function recordingLookups(inner: Executor): { executor: Executor; values: Map<string, string> } {
  const values = new Map<string, string>();
  const executor: Executor = {
    async run(call: Call, context: { step: Step; purpose: CallPurpose; expect?: unknown }): Promise<CallResult> {
      const result = await inner.run(call, context);
      if (result.ok && context.purpose === 'lookup' && context.step.output) values.set(context.step.output, result.output.trim());
      return result;
    },
  };
  return { executor, values };
}

const flagValue = (argv: string[], flag: string) => argv.find((token) => token.startsWith(`--${flag}=`))?.slice(flag.length + 3);

/**
 * The fake's name for the resource whose policy a binding step reads (`<api>:<name>`), from the
 * step's own get-iam-policy command: project, topic, bucket, subscription, Cloud Run service or
 * service account.
 */
export function policyKeyOf(step: Step, values: Map<string, string>): string {
  const { argv } = substitute(step.check!.call, values) as { argv: string[] };
  const [, group, collection] = argv;
  const target = argv.find((token, index) => index > 1 && !token.startsWith('-') && !['get-iam-policy', collection].includes(token))!;
  const project = flagValue(argv, 'project');
  if (group === 'projects') return `cloudresourcemanager:projects/${target}`;
  if (group === 'storage') return `storage:b/${target.replace('gs://', '')}`;
  if (group === 'run') return `run:projects/${project}/locations/${flagValue(argv, 'region')}/services/${target}`;
  if (group === 'iam') return `iam:projects/${project}/serviceAccounts/${target}`;
  if (collection === 'subscriptions') return `pubsub:${target}`;
  return `pubsub:projects/${project}/topics/${target}`;
}

/** The inventory line of every role binding the plan's binding steps declare: `<api>:<name> <role> <member>`. */
export function declaredBindings(steps: Step[], values: Map<string, string>): string[] {
  return steps
    .filter((step) => step.kind === 'iam-binding')
    .flatMap((step) => {
      const expected = substitute(step.check!.expect, values) as { bindings: { role: string; members: string[] }[] };
      return expected.bindings.flatMap(({ role, members }) => members.map((member) => `${policyKeyOf(step, values)} ${role} ${member}`));
    })
    .sort();
}

/** The fake's name for what a data-holding step creates: the bucket, the dataset and tables, the Firestore database. */
export function dataResourceKeyOf(step: Step): string {
  const call = step.check!.call;
  if (call.kind === 'api') return `${call.api}:${call.resource}`;
  const bucket = call.argv.find((token) => token.startsWith('gs://'));
  if (bucket) return `storage:b/${bucket.slice('gs://'.length)}`;
  return `firestore:projects/${flagValue(call.argv, 'project')}/databases/${flagValue(call.argv, 'database')}`;
}
