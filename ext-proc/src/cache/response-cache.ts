import type { Logger } from '../log/logger.js';
import type { KvStore } from '../store/kv.js';
import { ENTRY_VERSION, parseEntry, serializeEntry, type CacheEntry } from './entry.js';
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

  /** The entry under `key`; undefined on a miss, an unavailable store, or an entry that is not a valid one (dropped). */
  async get(key: string): Promise<CacheEntry | undefined> {
    const raw = await this.o.store.get(key);
    if (!raw) return undefined;
    const entry = parseEntry(raw);
    // A corrupt entry is a miss; drop it so it is not read again.
    if (!entry) void this.o.store.delete(key);
    return entry;
  }

  /** Stores an entry; false when it is over CACHE_MAX_ENTRY_BYTES or the store failed. */
  put(key: string, entry: CacheEntry, ttlSeconds = this.o.ttlSeconds): Promise<boolean> {
    return this.write(key, serializeEntry(entry), ttlSeconds);
  }

  /** The completion of an `openai` entry. @deprecated Use get(); kept for the current exchange. */
  async lookup(key: string): Promise<ChatCompletion | undefined> {
    const entry = await this.get(key);
    return entry?.kind === 'openai' ? entry.completion : undefined;
  }

  /**
   * Stores an OpenAI completion's JSON (already judged cacheable) as an `openai` entry, wrapped
   * as it is rather than parsed again. @deprecated Use put(); kept for the current exchange.
   */
  save(key: string, completionJson: Buffer, ttlSeconds = this.o.ttlSeconds): Promise<boolean> {
    const bytes = Buffer.concat([LEGACY_HEAD, completionJson, LEGACY_TAIL]);
    return this.write(key, bytes, ttlSeconds);
  }

  private write(key: string, bytes: Buffer, ttlSeconds: number): Promise<boolean> {
    if (bytes.length > this.o.maxEntryBytes) return Promise.resolve(false);
    return this.o.store.set(key, bytes, ttlSeconds);
  }
}

const LEGACY_HEAD = Buffer.from(`{"v":${ENTRY_VERSION},"kind":"openai","completion":`, 'utf8');
const LEGACY_TAIL = Buffer.from('}', 'utf8');
