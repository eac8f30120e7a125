/**
 * Rendezvous (highest-random-weight) hashing: every endpoint gets a pseudo-random weight per key
 * and the heaviest wins. The same key keeps its endpoint as long as that endpoint is a candidate,
 * and removing any other endpoint moves no key, which is what prefix-cache affinity needs when an
 * endpoint drops out of the candidates for a while.
 */

/** FNV-1a over UTF-16 code units, 32 bits. Computed once per key and once per endpoint. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The weight of an endpoint (by its seed, `hash32(endpoint)`) for a key (by `hash32(key)`). */
export function hrwWeight(keyHash: number, endpointSeed: number): number {
  // murmur3's finaliser: FNV alone mixes the low bits poorly, and the weights must look independent.
  let h = (keyHash ^ Math.imul(endpointSeed, 0x9e3779b1)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
