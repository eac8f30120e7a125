import type { Logger } from '../log/logger.js';
import type { KvStore } from './kv.js';
import { createMemoryStore } from './memory.js';
import { createRedisStore, describeRedisUrl } from './redis.js';

export interface OpenStoreOptions {
  /** REDIS_URL; absent or blank selects the in-process store. */
  redisUrl?: string;
  /** Size bound of the in-process store (ignored with Redis). */
  memoryMaxBytes: number;
  log: Logger;
}

/** The store the processor runs with: Redis when a URL is configured, else the in-process LRU. */
export function openStore({ redisUrl, memoryMaxBytes, log }: OpenStoreOptions): KvStore {
  const url = redisUrl?.trim();
  if (url) {
    const store = createRedisStore({ url, log });
    log.info({ store: 'redis', redis: describeRedisUrl(url) }, 'store: redis (cache and limits shared by every instance)');
    return store;
  }
  const store = createMemoryStore({ maxBytes: memoryMaxBytes });
  log.info({ store: 'memory', maxBytes: memoryMaxBytes }, 'store: in-process memory (REDIS_URL not set): cache and limits are per process');
  return store;
}
