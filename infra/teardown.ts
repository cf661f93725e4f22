import { type Check, type Step, variablesIn } from './plan-steps.js';

/** Options of planTeardown. */
export interface TeardownOptions {
  /** Also delete what holds data: the bucket, the dataset and its tables, the Firestore database. */
  deleteData?: boolean;
}

/**
 * The steps that undo a deployment plan: the lookups their commands need, then every removable
 * resource in reverse order. Data is kept unless `deleteData`.
 */
export function planTeardown(plan: Step[], { deleteData = false }: TeardownOptions = {}): Step[] {
  const removable = plan.filter((step) => step.destroy && (deleteData || !step.holdsData)).reverse();
  const needed = new Set(removable.flatMap((step) => variablesIn([step.destroy, existenceCheck(step)])));
  const lookups = plan.filter((step) => step.kind === 'lookup' && needed.has(step.output!));
  return [...lookups, ...removable];
}

/**
 * Whether a resource exists, for teardown: a binding exists when the policy holds it; anything
 * else when its describe call succeeds, whatever its settings.
 */
export function existenceCheck(step: Step): Check | undefined {
  if (!step.check) return undefined;
  return step.kind === 'iam-binding' ? step.check : { call: step.check.call };
}
