import { createHash } from 'node:crypto';
import { ApiError, notFound } from './http-router.js';

/** A JSON resource as an API stores and returns it. */
export type Resource = Record<string, unknown>;

/** An IAM policy: bindings of members to roles, versioned by an etag as Google does. */
export interface Policy {
  version?: number;
  etag: string;
  bindings: { role: string; members: string[]; condition?: unknown }[];
}

/** Who made a resource: a client's request, or Google on its own (a function's service, a build's image). */
export type Origin = 'request' | 'google';

/** What the fake holds: resources by `<api>:<name>`, their IAM policies, and finished operations. */
export class ResourceStore {
  private readonly resources = new Map<string, Resource>();
  private readonly origins = new Map<string, Origin>();
  private readonly policies = new Map<string, Policy>();
  private readonly operations = new Map<string, Resource>();
  private operationCount = 0;
  private changeCounter = 0;

  /** Grows with every change to a resource or a policy (rewriting a resource unchanged is no change). */
  get changes(): number {
    return this.changeCounter;
  }

  /** The resource or undefined. */
  find(api: string, name: string): Resource | undefined {
    return this.resources.get(`${api}:${name}`);
  }

  /** The resource, or a 404 as the API answers it. */
  get(api: string, name: string): Resource {
    const found = this.find(api, name);
    if (!found) throw notFound(name);
    return found;
  }

  /** Stores a new resource; 409 when it exists. */
  create(api: string, name: string, resource: Resource, origin: Origin = 'request'): Resource {
    if (this.find(api, name)) throw new ApiError(409, 'ALREADY_EXISTS', `Resource already exists: ${name}`);
    return this.put(api, name, resource, origin);
  }

  /** Stores a resource whether or not it exists; a replaced resource keeps its origin. */
  put(api: string, name: string, resource: Resource, origin: Origin = 'request'): Resource {
    const key = `${api}:${name}`;
    if (!this.origins.has(key)) this.origins.set(key, origin);
    if (JSON.stringify(this.resources.get(key)) !== JSON.stringify(resource)) this.changeCounter += 1;
    this.resources.set(key, resource);
    return resource;
  }

  /** Removes a resource and its policy; 404 when it is absent. */
  delete(api: string, name: string): Resource {
    const found = this.get(api, name);
    this.changeCounter += 1;
    this.resources.delete(`${api}:${name}`);
    this.origins.delete(`${api}:${name}`);
    this.policies.delete(`${api}:${name}`);
    return found;
  }

  /** Resources of an API whose name starts with `prefix` and matches `pattern` when given. */
  list(api: string, prefix: string, pattern?: RegExp): [string, Resource][] {
    const entries = [...this.resources].filter(([key]) => key.startsWith(`${api}:${prefix}`));
    return entries.map(([key, value]) => [key.slice(api.length + 1), value] as [string, Resource]).filter(([name]) => !pattern || pattern.test(name));
  }

  /** A resource's IAM policy (empty when none was set). */
  policy(api: string, name: string): Policy {
    return this.policies.get(`${api}:${name}`) ?? { etag: etagOf([]), bindings: [] };
  }

  /** Replaces a policy; a stale etag is refused with 409 ABORTED, as Google refuses concurrent edits. */
  setPolicy(api: string, name: string, policy: Partial<Policy>): Policy {
    const current = this.policy(api, name);
    if (policy.etag && policy.etag !== current.etag)
      throw new ApiError(409, 'ABORTED', 'There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.');
    const bindings = (policy.bindings ?? []).filter((binding) => binding.members.length > 0);
    const stored: Policy = { ...(policy.version !== undefined && { version: policy.version }), etag: etagOf(bindings), bindings };
    if (stored.etag !== current.etag) this.changeCounter += 1;
    this.policies.set(`${api}:${name}`, stored);
    return stored;
  }

  /** What Google does to bindings when a service account is deleted: the member stays, renamed `deleted:...?uid=`. */
  markMemberDeleted(member: string, uniqueId: string): void {
    for (const policy of this.policies.values()) {
      for (const binding of policy.bindings) {
        if (!binding.members.includes(member)) continue;
        binding.members = binding.members.map((name) => (name === member ? `deleted:${member}?uid=${uniqueId}` : name));
        this.changeCounter += 1;
      }
    }
  }

  /** Resources Google made on its own, as inventory lines. */
  madeByGoogle(): string[] {
    return [...this.origins]
      .filter(([, origin]) => origin === 'google')
      .map(([key]) => key)
      .sort();
  }

  /** A finished long-running operation carrying `response`, named under `parent` (`op-<n>` unless `id`) and kept for polling. */
  operation(parent: string, response: unknown, metadata?: Resource, id?: string): Resource {
    this.operationCount += 1;
    const name = `${parent ? `${parent}/` : ''}operations/${id ?? `op-${this.operationCount}`}`;
    const operation = { name, done: true, ...(metadata && { metadata }), response };
    this.operations.set(name, operation);
    return operation;
  }

  /** A stored operation, as polling reads it. */
  getOperation(name: string): Resource {
    const found = this.operations.get(name);
    if (!found) throw notFound(name);
    return found;
  }

  /** Every resource and role binding, one line each (`<api>:<name>`, `<api>:<name> <role> <member>`), sorted. */
  inventory(): string[] {
    const lines = [...this.resources.keys()];
    for (const [key, policy] of this.policies) {
      for (const binding of policy.bindings) for (const member of binding.members) lines.push(`${key} ${binding.role} ${member}`);
    }
    return lines.sort();
  }
}

function etagOf(bindings: Policy['bindings']): string {
  // Letters and digits only: gcloud decodes the etag as bytes and re-encodes it URL-safe, which must give it back unchanged.
  return `BwY${createHash('sha256').update(JSON.stringify(bindings)).digest('hex').slice(0, 13)}`;
}
