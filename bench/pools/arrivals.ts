/**
 * Arrival times of an open-loop load: a Poisson process (exponential gaps) from a seeded
 * generator, so every policy faces exactly the same sequence of requests at a given rate.
 */

/** mulberry32: small, fast, and good enough to draw exponential gaps. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Offsets in milliseconds from the start, for `rate` requests per second over `durationS`. */
export function poissonArrivals(rate: number, durationS: number, seed: number): number[] {
  const next = rng(seed);
  const out: number[] = [];
  let t = 0;
  for (;;) {
    t += (-Math.log(1 - next()) / rate) * 1000;
    if (t >= durationS * 1000) return out;
    out.push(t);
  }
}
