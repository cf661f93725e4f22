import type { RetrainRequested } from '../domain/retrain.js';

/**
 * One place a retrain request goes: a webhook, a Cloud Run job, a local command. `name` keys its
 * deliveries (so each target gets a request once); `deliver` resolves when the target took it,
 * saying what happened, and throws when it did not.
 */
export interface RetrainTarget {
  readonly name: string;
  deliver(request: RetrainRequested): Promise<string>;
}
