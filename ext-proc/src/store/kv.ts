/**
 * The gateway's key-value state (response cache now; rate limits and keys later). Two
 * implementations: Redis (shared by every processor instance) and an in-process LRU (the
 * embedded default for a single instance). Neither ever throws on the request path: an
 * unavailable store reads as a miss and a write that did not happen resolves `false`, so a
 * Redis outage degrades the gateway (no cache) instead of failing requests.
 */
export interface KvStore {
  readonly kind: 'memory' | 'redis';
  /** undefined when absent, expired, or the store is unavailable (never throws). */
  get(key: string): Promise<Buffer | undefined>;
  /** Fire-and-forget friendly: resolves false instead of throwing when the store is unavailable. */
  set(key: string, value: Buffer, ttlSeconds: number): Promise<boolean>;
  /**
   * Resolves true once the key is gone (whether or not it existed), false when the store could
   * not be reached (never throws).
   */
  delete(key: string): Promise<boolean>;
  /** True while the store can be used (Redis connected). */
  healthy(): boolean;
  close(): Promise<void>;
}

/** A TTL in seconds as whole milliseconds (at least 1), or undefined when it is not a usable TTL. */
export function ttlMillis(ttlSeconds: number): number | undefined {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) return undefined;
  return Math.max(1, Math.round(ttlSeconds * 1000));
}
