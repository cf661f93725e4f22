import type { Call, Step } from '../../infra/plan-steps.js';
import type { CallPurpose, CallResult, Executor } from '../../scripts/lib/deploy/apply-plan.js';

/** One call the fake cloud received. */
export interface RecordedCall {
  stepId: string;
  purpose: CallPurpose;
  call: Call;
}

/**
 * An in-memory cloud for the deploy runner: a step's resource exists once its apply or update ran
 * (or when the cloud starts full), and its check then returns exactly what the step expects.
 * Every call is recorded, so tests can assert what a run changed.
 */
export class FakeCloud implements Executor {
  readonly calls: RecordedCall[] = [];
  /** Resources by step id, with the output their check returns. */
  readonly resources = new Map<string, string>();

  /** A cloud where everything the plan describes already exists as wanted. */
  static containing(steps: Step[]): FakeCloud {
    const cloud = new FakeCloud();
    for (const step of steps) if (step.kind !== 'lookup') cloud.resources.set(step.id, cloud.wanted(step));
    return cloud;
  }

  async run(call: Call, { step, purpose }: { step: Step; purpose: CallPurpose; expect?: unknown }): Promise<CallResult> {
    this.calls.push({ stepId: step.id, purpose, call });
    switch (purpose) {
      case 'lookup':
        return { ok: true, output: `looked-up-${(step.output ?? step.name).toLowerCase()}\n` };
      case 'check': {
        const output = this.resources.get(step.id);
        return output === undefined ? { ok: false, notFound: true, message: 'NOT_FOUND' } : { ok: true, output };
      }
      case 'apply':
      case 'update':
        this.resources.set(step.id, this.wanted(step));
        return { ok: true, output: '' };
      case 'destroy':
        this.resources.delete(step.id);
        return { ok: true, output: '' };
    }
  }

  /** Calls that changed something (not checks or lookups). */
  changes(): RecordedCall[] {
    return this.calls.filter((call) => call.purpose === 'apply' || call.purpose === 'update' || call.purpose === 'destroy');
  }

  /** What a step's check shows once the resource is as wanted; `${VAR}`s resolve to the fake lookups' values. */
  private wanted(step: Step): string {
    const expect = step.check?.expect;
    const text = expect === undefined ? '{}' : typeof expect === 'string' ? expect : JSON.stringify(expect);
    return text.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => `looked-up-${name.toLowerCase()}`);
  }
}
