/**
 * The index drawn from `weights` for a uniform `random` in [0, 1): each index with a share of the
 * draws proportional to its weight, as Cloud Run splits a service's requests between revisions by
 * percentage. Zero and negative weights are never drawn; when no weight is positive the first
 * index is, so a request still finds a revision. Undefined for an empty list.
 */
export function drawWeighted(weights: readonly number[], random: number): number | undefined {
  if (weights.length === 0) return undefined;
  let total = 0;
  for (const weight of weights) total += Math.max(weight, 0);
  if (total <= 0) return 0;
  let point = random * total;
  for (let index = 0; index < weights.length; index++) {
    const weight = Math.max(weights[index]!, 0);
    if (point < weight) return index;
    point -= weight;
  }
  // random close enough to 1 for rounding to walk past the end: the last index that can be drawn.
  let last = weights.length - 1;
  while (last > 0 && !(weights[last]! > 0)) last--;
  return last;
}
