import type { ApiContext } from './apis.js';
import { ApiError, ok, type Route } from './http-router.js';
import { applyFieldMask } from './field-mask.js';
import type { Resource } from './resource-store.js';

/** Cloud Scheduler (v1, REST as the client library's fallback mode sends it): jobs, validated and stored with the fields Google adds. */
export function schedulerRoutes({ store }: ApiContext): Route[] {
  const job = (params: Record<string, string>) => `projects/${params.project}/locations/${params.location}/jobs/${params.job}`;
  return [
    { method: 'GET', pattern: '/v1/projects/{project}/locations/{location}/jobs/{job}', handle: ({ params }) => ok(store.get('cloudscheduler', job(params))) },
    {
      method: 'POST',
      pattern: '/v1/projects/{project}/locations/{location}/jobs',
      handle: ({ params, body }) => {
        const name = String(body?.name ?? '');
        if (!name.startsWith(`projects/${params.project}/locations/${params.location}/jobs/`))
          throw new ApiError(400, 'INVALID_ARGUMENT', `Job name ${name} is not under the parent.`);
        return ok(store.create('cloudscheduler', name, withServerFields(validated(body ?? {}))));
      },
    },
    {
      method: 'PATCH',
      pattern: '/v1/projects/{project}/locations/{location}/jobs/{job}',
      handle: ({ params, body, query }) => {
        const current = store.get('cloudscheduler', job(params));
        const mask = query.get('updateMask') ?? Object.keys(body ?? {}).join(',');
        return ok(store.put('cloudscheduler', job(params), withServerFields(validated(applyFieldMask(current, body, mask)))));
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/projects/{project}/locations/{location}/jobs/{job}',
      handle: ({ params }) => {
        store.delete('cloudscheduler', job(params));
        return ok({});
      },
    },
  ];
}

/** Google refuses a job without a five-field schedule or with an unknown time zone. */
function validated(job: Resource): Resource {
  if (
    String(job.schedule ?? '')
      .trim()
      .split(/\s+/).length !== 5
  )
    throw new ApiError(400, 'INVALID_ARGUMENT', `Schedule "${job.schedule}" is not a valid cron expression.`);
  try {
    new Intl.DateTimeFormat('en', { timeZone: String(job.timeZone ?? 'Etc/UTC') });
  } catch {
    throw new ApiError(400, 'INVALID_ARGUMENT', `Invalid time zone ${job.timeZone}.`);
  }
  return job;
}

function withServerFields(job: Resource): Resource {
  const now = new Date().toISOString();
  return {
    state: 'ENABLED',
    attemptDeadline: '180s',
    retryConfig: { maxBackoffDuration: '3600s', maxDoublings: 5, maxRetryDuration: '0s', minBackoffDuration: '5s' },
    ...job,
    userUpdateTime: now,
    scheduleTime: now,
  };
}
