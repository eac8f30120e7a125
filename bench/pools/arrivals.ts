/**
 * Arrival times of an open-loop load: a Poisson process (exponential gaps) from a seeded
 * generator, so every policy faces exactly the same sequence of requests at a given rate.
 */
import { mulberry32 } from '../../ext-proc/src/util/mulberry32.js';

/** Offsets in milliseconds from the start, for `rate` requests per second over `durationS`. */
export function poissonArrivals(rate: number, durationS: number, seed: number): number[] {
  const next = mulberry32(seed);
  const out: number[] = [];
  let t = 0;
  for (;;) {
    t += (-Math.log(1 - next()) / rate) * 1000;
    if (t >= durationS * 1000) return out;
    out.push(t);
  }
}
