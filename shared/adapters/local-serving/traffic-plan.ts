import { ENV } from '../../config/env.js';
import { PlatformError } from '../../domain/errors.js';
import type { Traffic } from '../../domain/rollout.js';

/** The variables a rollout sets on a revision: none of them is inherited from the deployer's own environment. */
const ROLLOUT_ENV = [ENV.serveRole, ENV.shadowUrl, ENV.shadowPercent, ENV.splitUrl, ENV.splitPercent, ENV.stickyKey] as const;

/** A version's share of the requests the stable URL's router splits itself. */
export interface RouterShare {
  version: number;
  percent: number;
}

/** Traffic a model's endpoint can take, checked: each share a percentage, versions distinct, the routes' shares at most 100 in all. */
export function checkTraffic(model: string, traffic: Traffic): Traffic {
  const refuse = (what: string) => new PlatformError('ROLLOUT.INVALID', `Cannot route "${model}": ${what}.`);
  const versions = [traffic.primary, ...traffic.routes.map((route) => route.version), ...(traffic.shadow ? [traffic.shadow.version] : [])];
  if (!versions.every((version) => Number.isInteger(version) && version > 0)) throw refuse(`versions must be whole numbers ≥ 1, got ${versions.join(', ')}`);
  if (new Set(versions).size !== versions.length) throw refuse(`each version may take one part of the traffic, got ${versions.join(', ')}`);
  const shares = [...traffic.routes, ...(traffic.shadow ? [traffic.shadow] : [])].map((share) => share.percent);
  if (!shares.every((percent) => Number.isFinite(percent) && percent > 0 && percent <= 100))
    throw refuse(`every share must be a percentage in (0, 100], got ${shares.join(', ')}`);
  const routed = traffic.routes.reduce((sum, route) => sum + route.percent, 0);
  if (routed > 100) throw refuse(`the routes take ${routed}% of the requests; at most 100% can be routed`);
  if (traffic.stickyKey !== null && traffic.routes.length > 1) throw refuse(`a sticky split has one candidate, got ${traffic.routes.length} routes`);
  return {
    primary: traffic.primary,
    routes: traffic.routes.map(({ version, percent }) => ({ version, percent })),
    shadow: traffic.shadow ? { version: traffic.shadow.version, percent: traffic.shadow.percent } : null,
    stickyKey: traffic.routes.length > 0 ? traffic.stickyKey : null,
  };
}

/** True when two checked traffics send the same requests to the same versions. */
export function sameTraffic(one: Traffic | undefined, other: Traffic): boolean {
  return one !== undefined && JSON.stringify(one) === JSON.stringify(other);
}

/** True when more than the primary takes requests or copies of them: the deployment records the traffic then. */
export function isSplit(traffic: Traffic): boolean {
  return traffic.routes.length > 0 || traffic.shadow !== null;
}

/** Every version that needs a revision, the primary last: its environment names the others' ports. */
export function versionsOf(traffic: Traffic): number[] {
  return [...traffic.routes.map((route) => route.version), ...(traffic.shadow ? [traffic.shadow.version] : []), traffic.primary];
}

/**
 * How the router splits requests (shares above 0 only). A sticky split goes whole to the primary, which forwards a
 * client's requests to the candidate by its key; otherwise each route takes its share and the primary the rest.
 */
export function routerShares(traffic: Traffic): RouterShare[] {
  if (traffic.stickyKey !== null || traffic.routes.length === 0) return [{ version: traffic.primary, percent: 100 }];
  const routed = traffic.routes.reduce((sum, route) => sum + route.percent, 0);
  // A route taking all of it leaves the primary none: the router then hands the connections to that route alone.
  return [{ version: traffic.primary, percent: 100 - routed }, ...traffic.routes].filter((share) => share.percent > 0);
}

/**
 * What a version's revision is told of the rollout: a shadow its role; the primary where its shadow
 * copies and its sticky split's candidate listen (`portOf` the revision of a version), and their shares.
 */
export function rolloutEnv(traffic: Traffic, version: number, portOf: (version: number) => number): Record<string, string> {
  if (traffic.shadow?.version === version) return { [ENV.serveRole]: 'shadow' };
  if (version !== traffic.primary) return {};
  const env: Record<string, string> = {};
  if (traffic.shadow) {
    env[ENV.shadowUrl] = `http://127.0.0.1:${portOf(traffic.shadow.version)}`;
    env[ENV.shadowPercent] = String(traffic.shadow.percent);
  }
  const candidate = traffic.routes[0];
  if (traffic.stickyKey !== null && candidate) {
    env[ENV.splitUrl] = `http://127.0.0.1:${portOf(candidate.version)}`;
    env[ENV.splitPercent] = String(candidate.percent);
    env[ENV.stickyKey] = traffic.stickyKey;
  }
  return env;
}

/** The deployer's environment for a revision with a rollout's variables: the inherited ones dropped, `extra` set. */
export function withRolloutEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const name of ROLLOUT_ENV) delete env[name];
  return { ...env, ...extra };
}

/** True when two rollout environments are the same variables with the same values. */
export function sameEnv(one: Record<string, string>, other: Record<string, string>): boolean {
  const names = Object.keys(one);
  return names.length === Object.keys(other).length && names.every((name) => one[name] === other[name]);
}
