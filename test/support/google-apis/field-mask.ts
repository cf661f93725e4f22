import type { Resource } from './resource-store.js';

/**
 * A copy of `current` with the fields an update mask names (comma-separated dotted paths, snake or
 * camel case) taken from `changes`, as Google's PATCH methods apply them; a named field absent from
 * `changes` is cleared.
 */
export function applyFieldMask(current: Resource, changes: Resource | undefined, updateMask: string): Resource {
  const updated = structuredClone(current);
  for (const path of updateMask.split(',').filter(Boolean)) {
    const keys = camelCase(path);
    setPath(updated, keys, getPath(changes ?? {}, keys));
  }
  return updated;
}

function camelCase(path: string): string[] {
  return path
    .trim()
    .split('.')
    .map((part) => part.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()));
}

function getPath(value: Resource, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Resource | undefined)?.[key], value);
}

function setPath(target: Resource, path: string[], value: unknown): void {
  const parent = path.slice(0, -1).reduce<Resource>((node, key) => {
    node[key] ??= {};
    return node[key] as Resource;
  }, target);
  const last = path.at(-1)!;
  if (value === undefined) delete parent[last];
  else parent[last] = structuredClone(value);
}
