import type { Logger } from '../log/logger.js';
import { ttlMillis, type KvStore } from './kv.js';
import { createRedisConnection, describeRedisUrl, type LatencyStats, type RedisConnectionMessages } from './redis-connection.js';

export { describeRedisUrl, redisClientOptions, type LatencyStats } from './redis-connection.js';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  log: Logger;
  /** How long one command may take before it counts as failed (the request goes on without it). */
  commandTimeoutMs?: number;
  /**
   * Called on each change between usable and not: connected (true), connection lost or the
   * first connect failed (false). Not called once `close()` has begun.
   */
  onStateChange?: (healthy: boolean) => void;
  /**
   * After this many command timeouts in a row on a connection that looks open (and has sent no
   * bytes for a whole timeout period), the connection is treated as dead (a hung server or a
   * half-open TCP connection) and re-established; until then every request would pay the full
   * command timeout. 0 disables. Default 3.
   */
  timeoutsBeforeReconnect?: number;
}

const MESSAGES: RedisConnectionMessages = {
  connected: 'redis connected',
  reconnected: 'redis reconnected',
  lost: 'redis connection lost; cache reads miss and writes are skipped until it reconnects',
  unreachable: 'redis unreachable; cache reads miss and writes are skipped until it connects',
  connectionError: 'redis connection error',
  commandFailed: 'redis command failed; treated as a miss (further failures are counted, not logged, until the connection state changes)',
  hung: (n, ms) => `${n} commands in a row timed out after ${ms} ms`,
  callbackThrew: 'store onStateChange callback threw',
};

export interface RedisKvStore extends KvStore {
  readonly kind: 'redis';
  /** Operations that failed: unavailable, timed out, or refused by Redis. */
  errors(): number;
  latency(): LatencyStats;
}

/**
 * The shared store. Every choice here serves one rule: a request never waits on Redis for longer
 * than the command timeout, and an outage turns into cache misses, not errors.
 */
export function createRedisStore(options: RedisStoreOptions): RedisKvStore {
  const log = options.log.child({ component: 'store', store: 'redis', redis: describeRedisUrl(options.url) });
  const conn = createRedisConnection({ ...options, log, commandTimeoutMs: options.commandTimeoutMs ?? 50, messages: MESSAGES });

  return {
    kind: 'redis',
    healthy: conn.healthy,
    async get(key) {
      if (!(await conn.usable())) return undefined;
      try {
        return (await conn.command('get', (client) => client.getBuffer(key))) ?? undefined;
      } catch {
        return undefined;
      }
    },
    async set(key, value, ttlSeconds) {
      const ttl = ttlMillis(ttlSeconds);
      if (ttl === undefined) return false;
      if (!(await conn.usable())) return false;
      try {
        await conn.command('set', (client) => client.set(key, value, 'PX', ttl));
        return true;
      } catch {
        return false;
      }
    },
    async delete(key) {
      if (!(await conn.usable())) return false;
      try {
        await conn.command('delete', (client) => client.del(key));
        return true;
      } catch {
        return false;
      }
    },
    errors: conn.errors,
    latency: conn.latency,
    close: conn.close,
  };
}
