import { RevisionSupervisor, type ServingNotice } from './revision-supervisor.js';
import { type RevisionInstance, type RevisionLaunch, isServing, startRevisionInstance, stopRevisionInstance } from './serving-revision.js';
import type { ServingRouter } from './serving-router.js';
import { withRolloutEnv } from './traffic-plan.js';

/** A deployed revision: pinned to one version; its process is restarted under the same name (and port) if it dies. */
export interface DeployedRevision {
  name: string;
  version: number;
  /** Where it listens: other revisions of a rollout are told this port. */
  port: number;
  /** The rollout's variables it was started with (see rolloutEnv). */
  rolloutEnv: Record<string, string>;
  supervisor: RevisionSupervisor;
}

/** What a deployed revision is started with, and whom it tells when its process goes down or comes back. */
export interface DeployedRevisionOptions extends Omit<RevisionLaunch, 'port'> {
  rolloutEnv: Record<string, string>;
  /** Runs a restart in turn with the model's routing. */
  schedule(restart: () => Promise<void>): void;
  /** Its process is down, or up again (a restart): the router's targets must follow. */
  onChange(revision: DeployedRevision, restarted?: RevisionInstance): void;
  onNotice(notice: ServingNotice): void;
}

/** How long a replaced revision may take to finish the requests it holds before it is stopped. */
const DRAIN_MS = 10_000;

/** Starts a supervised revision and resolves once it is healthy; throws (with its log's tail) when it does not become so. */
export async function startDeployedRevision({ rolloutEnv, schedule, onChange, onNotice, ...launch }: DeployedRevisionOptions): Promise<DeployedRevision> {
  // The environment is read at each start: a restart takes the deployer's as it is then.
  const start = (port?: number) => startRevisionInstance({ ...launch, env: withRolloutEnv(launch.env, rolloutEnv), port });
  const instance = await start();
  // Its callbacks run only once it is up, when `revision` below is set.
  const supervisor = new RevisionSupervisor(instance, {
    name: launch.name,
    version: launch.version,
    // On its own port, which the primary of a rollout may have been told; a fresh one only when that is taken.
    start: () =>
      start(revision.port).catch((error: Error) => {
        if (!error.message.includes('EADDRINUSE')) throw error;
        return start();
      }),
    schedule,
    onDown: () => onChange(revision),
    onUp: (restarted) => onChange(revision, restarted),
    onNotice,
  });
  const revision: DeployedRevision = { name: launch.name, version: launch.version, port: instance.port, rolloutEnv, supervisor };
  return revision;
}

/** Whether each revision's process is alive and its /health names its version. */
export async function healthOf(revisions: Iterable<DeployedRevision>): Promise<Map<DeployedRevision, boolean>> {
  const all = [...revisions];
  const serving = await Promise.all(all.map((revision) => isServing(revision.supervisor.instance, revision.version)));
  return new Map(all.map((revision, index) => [revision, serving[index]!]));
}

/** Stops a replaced revision once the router sends it nothing and it finished what it holds; a hung one is not waited for. */
export async function drainAndStop(router: ServingRouter, revision: DeployedRevision, hung: boolean): Promise<void> {
  revision.supervisor.retire();
  const instance = revision.supervisor.instance;
  if (!instance) return;
  const drained = !hung && (await router.drained(instance, DRAIN_MS));
  await stopRevisionInstance(instance, drained ? DRAIN_MS : 1000);
}

/** Stops a revision at once (one started for traffic that could not be set up, or the platform stopping). */
export async function stopDeployedRevision(revision: DeployedRevision, graceMs = 1000): Promise<void> {
  revision.supervisor.retire();
  await stopRevisionInstance(revision.supervisor.instance, graceMs);
}
