import { LRUCache } from 'lru-cache';
import { ttlMillis, type KvStore } from './kv.js';

export interface MemoryStoreOptions {
  /** Upper bound on the bytes held (sum of key and value lengths); least recently used go first. */
  maxBytes: number;
}

/**
 * The in-process store: an LRU bounded by bytes, each entry with its own TTL. Expired entries
 * are dropped when read or when evicted for room (no timers per entry). Values are copied in
 * and out, so callers may reuse or mutate their buffers, as with Redis.
 */
export function createMemoryStore({ maxBytes }: MemoryStoreOptions): KvStore {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`memory store maxBytes must be a positive integer, got ${maxBytes}`);
  }
  const cache = new LRUCache<string, Buffer>({
    maxSize: maxBytes,
    // lru-cache needs a positive integer; an empty key and value still occupy an entry.
    sizeCalculation: (value, key) => Math.max(1, value.length + Buffer.byteLength(key, 'utf8')),
  });
  let closed = false;

  return {
    kind: 'memory',
    async get(key) {
      if (closed) return undefined;
      const value = cache.get(key);
      return value === undefined ? undefined : Buffer.from(value);
    },
    async set(key, value, ttlSeconds) {
      const ttl = ttlMillis(ttlSeconds);
      if (closed || ttl === undefined) return false;
      const status: LRUCache.Status<string, Buffer> = {};
      cache.set(key, Buffer.from(value), { ttl, status });
      // An entry larger than the whole cache is refused (and any older value for the key dropped).
      return status.set !== 'miss';
    },
    async delete(key) {
      if (closed) return false;
      cache.delete(key);
      return true;
    },
    healthy: () => !closed,
    async close() {
      closed = true;
      cache.clear();
    },
  };
}
