/**
 * A fixed, read-mostly int32 → int32 hash map on typed arrays (open addressing, linear probing).
 * Used for the lexicon lookups on the hot path, where a JS Map costs a little more per word.
 */
export class IntMap {
  private readonly keys: Int32Array;
  private readonly vals: Int32Array;
  private readonly used: Uint8Array;
  private readonly mask: number;

  constructor(entries: Iterable<[number, number]>, expected: number) {
    let cap = 16;
    while (cap < expected * 2) cap <<= 1;
    this.keys = new Int32Array(cap);
    this.vals = new Int32Array(cap);
    this.used = new Uint8Array(cap);
    this.mask = cap - 1;
    for (const [k, v] of entries) this.set(k, v);
  }

  private set(key: number, value: number): void {
    let i = (key ^ (key >>> 15)) & this.mask;
    while (this.used[i] === 1 && this.keys[i] !== key) i = (i + 1) & this.mask;
    this.used[i] = 1;
    this.keys[i] = key;
    this.vals[i] = value;
  }

  /** The value stored for `key`, or 0. */
  get(key: number): number {
    let i = (key ^ (key >>> 15)) & this.mask;
    for (;;) {
      if (this.used[i] === 0) return 0;
      if (this.keys[i] === key) return this.vals[i]!;
      i = (i + 1) & this.mask;
    }
  }
}
