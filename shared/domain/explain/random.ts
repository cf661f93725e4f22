/** A seeded pseudo-random source, so a sampled explanation can be reproduced from its seed. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** A whole number in [0, below). */
  integer(below: number): number;
}

/** mulberry32: tiny, fast and good enough for drawing permutations and background rows. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, integer: (below) => Math.floor(next() * below) };
}

/** 0..count-1 in a seeded random order (Fisher-Yates). */
export function randomOrder(count: number, random: Random): number[] {
  const order = Array.from({ length: count }, (_, index) => index);
  for (let index = count - 1; index > 0; index--) {
    const other = random.integer(index + 1);
    [order[index], order[other]] = [order[other]!, order[index]!];
  }
  return order;
}
