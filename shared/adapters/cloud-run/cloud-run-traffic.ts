import { ENV } from '../../config/env.js';
import type { Traffic } from '../../domain/rollout.js';
import {
  type CloudRunRevision,
  type Container,
  pinnedVersion,
  ROUTING_ENV,
  resourceId,
  servingContainerIndex,
  type TrafficTarget,
} from './cloud-run-requests.js';

const BY_REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const LATEST = 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';

/** A revision the traffic needs: one version, run with exactly this routing env, taking `percent` of requests, reachable at `tag` if set. */
export interface Arm {
  version: number;
  routing: Record<string, string>;
  percent: number;
  tag?: string;
}

/** A revision found in a service's traffic (or its latest ready one), with what it is pinned to. */
export interface ServedRevision {
  revision: string;
  model?: string;
  version?: number;
  routing: Record<string, string>;
  percent: number;
  tag?: string;
}

/** The tag of a version's revision: its own URL is `https://v<version>---<service host>`. */
export const versionTag = (version: number): string => `v${version}`;

/** A tag's URL on a service (Cloud Run prefixes the service's host with `<tag>---`). */
export function tagUrl(serviceUri: string | undefined, tag: string): string {
  if (!serviceUri) throw new Error('The service has no URL yet, so its revision tags have none either.');
  const url = new URL(serviceUri);
  return `${url.protocol}//${tag}---${url.host}`;
}

/** Throws what Cloud Run cannot express (a version twice, over 100%, fractional splits, a sticky split of several); true for a sticky split. */
export function checkRoutable({ primary, routes, shadow, stickyKey }: Traffic): boolean {
  const versions = [primary, ...routes.map((route) => route.version), ...(shadow ? [shadow.version] : [])];
  if (new Set(versions).size !== versions.length) throw new Error(`Each version may take one part of the traffic; got versions ${versions.join(', ')}.`);
  const routed = routes.reduce((sum, route) => sum + route.percent, 0);
  if (routed > 100) throw new Error(`The routes take ${routed}% of the traffic; at most 100% can be routed.`);
  const sticky = stickyKey !== null && routes.length > 0;
  if (sticky && routes.length > 1) throw new Error(`A sticky split has one candidate; got ${routes.length} routes.`);
  if (!sticky && routes.some((route) => !Number.isInteger(route.percent))) {
    throw new Error(`Cloud Run splits traffic in whole percents; got ${routes.map((route) => `${route.percent}%`).join(', ')}.`);
  }
  return sticky;
}

/**
 * The revisions `traffic` needs, primary first: canary routes split by Cloud Run's percentages; a
 * sticky split's candidate at 0% behind its tag, which the primary forwards to; a shadow at 0% behind
 * its tag, which the primary mirrors to. Throws (a permanent fault) what Cloud Run cannot express.
 */
export function armsOf(traffic: Traffic, serviceUri: string | undefined): Arm[] {
  const { primary, routes, shadow, stickyKey } = traffic;
  const sticky = checkRoutable(traffic);
  const routed = routes.reduce((sum, route) => sum + route.percent, 0);
  const routing: Record<string, string> = {};
  if (shadow) Object.assign(routing, { [ENV.shadowUrl]: tagUrl(serviceUri, versionTag(shadow.version)), [ENV.shadowPercent]: String(shadow.percent) });
  const arms: Arm[] = [];
  for (const route of routes) {
    if (!sticky) arms.push({ version: route.version, routing: {}, percent: route.percent, tag: versionTag(route.version) });
    else {
      arms.push({ version: route.version, routing: {}, percent: 0, tag: versionTag(route.version) });
      Object.assign(routing, {
        [ENV.splitUrl]: tagUrl(serviceUri, versionTag(route.version)),
        [ENV.splitPercent]: String(route.percent),
        [ENV.stickyKey]: stickyKey,
      });
    }
  }
  if (shadow) arms.push({ version: shadow.version, routing: { [ENV.serveRole]: 'shadow' }, percent: 0, tag: versionTag(shadow.version) });
  const primaryPercent = sticky ? 100 : 100 - routed;
  // A primary left at 0% keeps a tag, so it stays in the traffic list and a rollback needs no new revision.
  const primaryTag = primaryPercent === 0 ? { tag: versionTag(primary) } : {};
  return [{ version: primary, routing, percent: primaryPercent, ...primaryTag }, ...arms];
}

/** The routing env a container list's serving container runs with. */
export function routingOf(containers: Container[] | undefined): Record<string, string> {
  const env = containers?.[servingContainerIndex(containers)]?.env ?? [];
  return Object.fromEntries(
    env.filter((variable) => ROUTING_ENV.includes(variable.name) && variable.value !== undefined).map((variable) => [variable.name, variable.value!]),
  );
}

/** What a revision resource is pinned to. */
export function servedRevision(revision: CloudRunRevision, target: { revision: string; percent: number; tag?: string }): ServedRevision {
  const containers = revision.containers ?? [];
  const model = containers[servingContainerIndex(containers)]?.env?.find((variable) => variable.name === ENV.serveModel)?.value;
  return { ...target, model, version: pinnedVersion(containers), routing: routingOf(containers) };
}

/** True when a served revision runs `arm`'s version of `model` with exactly its routing env. */
export function runsArm(served: ServedRevision, model: string, arm: Arm): boolean {
  const wanted = Object.entries(arm.routing);
  return (
    served.model === model &&
    served.version === arm.version &&
    wanted.length === Object.keys(served.routing).length &&
    wanted.every(([name, value]) => served.routing[name] === value)
  );
}

/** The service's traffic with `LATEST` resolved to the revision it means (by id), so a new template moves nothing. */
export function explicitTraffic(traffic: TrafficTarget[] | undefined, latestReady: string | undefined): TrafficTarget[] {
  return (traffic ?? []).flatMap((target) => {
    const revision = target.type === LATEST ? latestReady && resourceId(latestReady) : target.revision;
    if (!revision) return [];
    return [{ type: BY_REVISION, revision, percent: target.percent ?? 0, ...(target.tag ? { tag: target.tag } : {}) }];
  });
}

/** The traffic targets of arms whose revisions are known, primary first. */
export function targetsOf(arms: Arm[], revisions: string[]): TrafficTarget[] {
  return arms.map((arm, index) => ({ type: BY_REVISION, revision: revisions[index]!, percent: arm.percent, ...(arm.tag ? { tag: arm.tag } : {}) }));
}

/** True when two traffic lists send the same shares to the same revisions under the same tags (order aside). */
export function sameTraffic(current: TrafficTarget[], wanted: TrafficTarget[]): boolean {
  const key = (target: TrafficTarget) => `${target.revision}|${target.percent ?? 0}|${target.tag ?? ''}`;
  const sorted = (targets: TrafficTarget[]) => targets.map(key).sort().join(',');
  return sorted(current) === sorted(wanted);
}

/** The primary among the served revisions: the one pinned to `version` (the service's label) taking the most traffic, else whichever takes the most. */
export function primaryOf(served: ServedRevision[], version: number | undefined): ServedRevision | undefined {
  const clients = served.filter((candidate) => candidate.routing[ENV.serveRole] !== 'shadow');
  const byShare = (list: ServedRevision[]) => [...list].sort((a, b) => b.percent - a.percent)[0];
  return byShare(clients.filter((candidate) => candidate.version === version)) ?? byShare(clients);
}

/** The Traffic a service's revisions carry out, read back from their routing env and shares. */
export function trafficOfServed(primary: ServedRevision, served: ServedRevision[]): Traffic {
  const others = served.filter((candidate) => candidate !== primary && candidate.version !== undefined && candidate.version !== primary.version);
  const tagged = (url: string | undefined) => others.find((candidate) => candidate.tag && url?.startsWith(`https://${candidate.tag}---`));
  const shadowArm = others.find((candidate) => candidate.routing[ENV.serveRole] === 'shadow');
  const shadowPercent = Number(primary.routing[ENV.shadowPercent]);
  const shadow = shadowArm && primary.routing[ENV.shadowUrl] ? { version: shadowArm.version!, percent: shadowPercent } : null;
  const split = tagged(primary.routing[ENV.splitUrl]);
  if (split) {
    const routes = [{ version: split.version!, percent: Number(primary.routing[ENV.splitPercent]) }];
    return { primary: primary.version!, routes, shadow, stickyKey: primary.routing[ENV.stickyKey] ?? null };
  }
  const routes = others
    .filter((candidate) => candidate !== shadowArm && candidate.percent > 0)
    .map((candidate) => ({ version: candidate.version!, percent: candidate.percent }));
  return { primary: primary.version!, routes, shadow, stickyKey: null };
}
