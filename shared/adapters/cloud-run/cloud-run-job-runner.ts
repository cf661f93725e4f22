import { GoogleAuth } from 'google-auth-library';
import { ENV } from '../../config/env.js';
import type { RetrainRequested } from '../../domain/retrain.js';
import type { RetrainTarget } from '../../ports/retrain-target.port.js';
import { CloudRunAdminClient, type RequestSigner } from './cloud-run-admin-client.js';

/** Options of the Cloud Run job target. */
export interface CloudRunJobTargetOptions {
  /** `projects/<project>/locations/<region>/jobs/<job>`. */
  job: string;
  auth?: RequestSigner;
  fetchImpl?: typeof fetch;
  endpoint?: string;
}

/**
 * A retrain target that starts an execution of a Cloud Run job (Admin API v2 `jobs.run`), the
 * request in a container override of `MLOPS_RETRAIN_REQUEST`. Overriding needs
 * run.jobs.runWithOverrides, which roles/run.developer holds and roles/run.invoker does not
 * (https://cloud.google.com/run/docs/execute/jobs, "Required roles").
 */
export class CloudRunJobTarget implements RetrainTarget {
  readonly name: string;
  private readonly job: string;
  private readonly client: CloudRunAdminClient;

  constructor({ job, auth, fetchImpl = fetch, endpoint = 'https://run.googleapis.com' }: CloudRunJobTargetOptions) {
    this.name = `cloud-run-job:${job}`;
    this.job = job;
    const signer = auth ?? new GoogleAuth({ scopes: 'https://www.googleapis.com/auth/cloud-platform' });
    this.client = new CloudRunAdminClient({ auth: signer, fetchImpl, endpoint, pollIntervalMs: 0, timeoutMs: 0 });
  }

  /** Starts the execution and returns its operation's name; the job's own success is its business, not the delivery's. */
  async deliver(request: RetrainRequested): Promise<string> {
    const overrides = { containerOverrides: [{ env: [{ name: ENV.retrainRequest, value: JSON.stringify(request) }] }] };
    const operation = await this.client.send<{ name?: string }>('POST', `v2/${this.job}:run`, { overrides });
    return `started ${operation.name ?? 'an execution'} of ${this.job}`;
  }
}
