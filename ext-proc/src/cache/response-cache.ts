import type { Logger } from '../log/logger.js';
import type { KvStore } from '../store/kv.js';
import type { ChatCompletion } from './types.js';

/** How a request's `cache-control` header lets it use the cache. */
export type CacheDirective = 'use' | 'refresh' | 'off';

/**
 * `no-store`: neither read nor write. `no-cache`: don't answer from the cache, but store the
 * fresh answer (HTTP's "revalidate" read as "refresh"). Anything else: normal use.
 */
export function cacheDirective(cacheControl: string | undefined): CacheDirective {
  if (!cacheControl) return 'use';
  const v = cacheControl.toLowerCase();
  if (v.includes('no-store')) return 'off';
  if (v.includes('no-cache')) return 'refresh';
  return 'use';
}

export interface ResponseCacheOptions {
  store: KvStore;
  ttlSeconds: number;
  maxEntryBytes: number;
  log: Logger;
}

/** Exact-match answers in a KV store (Redis across replicas, or in-process). Never throws. */
export class ResponseCache {
  constructor(private readonly o: ResponseCacheOptions) {}

  usable(): boolean {
    return this.o.store.healthy();
  }

  async lookup(key: string): Promise<ChatCompletion | undefined> {
    const raw = await this.o.store.get(key);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw.toString('utf8')) as ChatCompletion;
    } catch {
      // A corrupt entry is a miss; drop it so it is not read again.
      void this.o.store.delete(key);
      return undefined;
    }
  }

  /** Stores a complete answer (the completion JSON); false when skipped or the store failed. */
  save(key: string, completionJson: Buffer, ttlSeconds = this.o.ttlSeconds): Promise<boolean> {
    if (completionJson.length > this.o.maxEntryBytes) return Promise.resolve(false);
    return this.o.store.set(key, completionJson, ttlSeconds);
  }
}
