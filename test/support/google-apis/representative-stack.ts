import type { DeployConfig } from '../../../infra/deploy-config.js';
import { planDeployment } from '../../../infra/plan.js';
import type { Call, Stack, Step } from '../../../infra/plan-steps.js';
import { callsOf, commandPathOf, resourceNamesOf } from './plan-commands.js';

type FunctionSpec = Stack['functions'][number];

/** What a step exercises: its kind and the command path (or API method) of each of its calls. */
export function featuresOf(steps: Step[], config: DeployConfig): Set<string> {
  const names = resourceNamesOf(steps, config);
  const pathOf = (call: Call) => (call.kind === 'api' ? `${call.api} ${call.method}` : commandPathOf(call.argv, names).join(' '));
  return new Set(steps.flatMap((step) => [step.kind, ...callsOf(step).map((call) => `${step.kind}: ${pathOf(call)}`)]));
}

/** A function with the functions whose accounts it acts as, which its plan needs. */
function withActAsTargets(spec: FunctionSpec, stack: Stack): FunctionSpec[] {
  const targets = stack.functions.filter((candidate) => spec.actAs?.includes(candidate.name));
  return [spec, ...targets];
}

/** The stack cut to `functions` and the topics they, the bucket notification and the scheduler jobs use. */
export function stackWith(stack: Stack, functions: FunctionSpec[]): Stack {
  const triggers = functions.flatMap((spec) => (spec.trigger.type === 'topic' ? [spec.trigger.topic] : []));
  const deadLetters = stack.subscriptions.filter((sub) => triggers.includes(sub.topic)).map((sub) => sub.deadLetterTopic);
  const used = new Set<string>([...triggers, ...deadLetters, stack.bucketNotification.topic, ...stack.schedulerJobs.map((job) => job.topic)]);
  return { ...stack, functions, topics: stack.topics.filter((topic) => used.has(topic)) };
}

/**
 * The fewest functions (picked greedily) whose plan holds every step kind, command and API method
 * the whole stack's plan holds: a deploy round trip through them exercises everything a full deploy
 * does, in a fraction of the gcloud runs.
 */
export function representativeStack(stack: Stack, config: DeployConfig): Stack {
  const wanted = featuresOf(planDeployment(stack, config), config);
  const chosen: FunctionSpec[] = [];
  const covered = () => featuresOf(planDeployment(stackWith(stack, chosen), config), config);
  let missing = [...wanted].filter((feature) => !covered().has(feature));
  while (missing.length > 0) {
    const gain = (spec: FunctionSpec) => {
      const features = featuresOf(planDeployment(stackWith(stack, [...chosen, ...withActAsTargets(spec, stack)]), config), config);
      return missing.filter((feature) => features.has(feature)).length;
    };
    const best = stack.functions.filter((spec) => !chosen.includes(spec)).reduce((a, b) => (gain(b) > gain(a) ? b : a));
    if (gain(best) === 0) break;
    for (const spec of withActAsTargets(best, stack)) if (!chosen.includes(spec)) chosen.push(spec);
    const now = covered();
    missing = missing.filter((feature) => !now.has(feature));
  }
  return stackWith(
    stack,
    stack.functions.filter((spec) => chosen.includes(spec)),
  );
}
