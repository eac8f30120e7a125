/**
 * The request path's view of the gateway keys in Redis (see key-record.ts for their layout).
 *
 * Revocation: `lookup` reads the record from Redis on every call (one HGETALL, ~0.1 ms on a local
 * network) and keeps no local cache, so a revoke is seen by the very next request on every replica.
 * A short cache invalidated over pub/sub would save that round trip but brings back a window:
 * pub/sub is fire-and-forget, so a replica whose subscriber connection is reconnecting misses the
 * message and serves the revoked key until its entry ages out. One key read per request is cheap
 * next to the cache lookup and the upstream call the request is about to make anyway.
 */
import type { Logger } from '../log/logger.js';
import { createRedisConnection, describeRedisUrl, type LatencyStats, type RedisConnectionMessages } from '../store/redis-connection.js';
import { hashKey, keyIdOf } from './keys.js';
import { GENERATED_KEY_RE, keyRecordState, parseRecord, redisKeys, toPrincipal } from './key-record.js';
import type { PrincipalWithPolicy } from './principal.js';

/** For the key directory, `count` is the lookups that got an answer from Redis. */
export type { LatencyStats } from '../store/redis-connection.js';

/** What the request path calls. */
export interface KeyDirectory {
  /**
   * The principal for a presented key; undefined = unknown, revoked or expired (401);
   * 'unavailable' = the directory could not be asked (Redis down): fail closed, 503.
   */
  lookup(key: string, nowMs?: number): Promise<PrincipalWithPolicy | undefined | 'unavailable'>;
}

export interface RedisKeyDirectory extends KeyDirectory {
  /** True while Redis is connected and lookups can be answered. */
  healthy(): boolean;
  /** Lookups that returned 'unavailable' (Redis down, timed out, or refused the command). */
  errors(): number;
  latency(): LatencyStats;
  close(): Promise<void>;
}

export interface RedisKeyDirectoryOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  log: Logger;
  /** How long one lookup may wait for Redis before it counts as 'unavailable'. Default 100 ms. */
  commandTimeoutMs?: number;
  /**
   * Consecutive timeouts on an open-looking connection (with no bytes from the server for a whole
   * timeout period) before it is dropped and re-made. 0 disables. Default 3.
   */
  timeoutsBeforeReconnect?: number;
}

const MESSAGES: RedisConnectionMessages = {
  connected: 'key directory: redis connected',
  reconnected: 'key directory: redis reconnected',
  // Also when the first connect fails.
  lost: 'key directory: redis unavailable; requests with Redis-held keys are refused (503) until it is back',
  connectionError: 'key directory: redis connection error',
  commandFailed: 'key directory: lookup failed (further failures are counted, not logged, until the connection state changes)',
  hung: (n, ms) => `${n} lookups in a row timed out after ${ms} ms`,
};

/**
 * Keys in Redis. Like the response cache's store, it never waits on Redis for longer than the
 * command timeout: while Redis is away, lookups answer 'unavailable' at once (no offline queue, no
 * retries) and the client reconnects in the background.
 */
export function createRedisKeyDirectory(options: RedisKeyDirectoryOptions): RedisKeyDirectory {
  const log = options.log.child({ component: 'key-directory', redis: describeRedisUrl(options.url) });
  const conn = createRedisConnection({ ...options, log, commandTimeoutMs: options.commandTimeoutMs ?? 100, messages: MESSAGES });

  return {
    async lookup(key, nowMs) {
      if (!GENERATED_KEY_RE.test(key)) return undefined;
      if (!(await conn.usable())) return 'unavailable';
      const digest = hashKey(key);
      let fields: Record<string, string>;
      try {
        fields = await conn.command('lookup', (client) => client.hgetall(redisKeys.record(digest)));
      } catch {
        return 'unavailable';
      }

      if (Object.keys(fields).length === 0) return undefined;
      const record = parseRecord(fields);
      if (typeof record === 'string') {
        // Fail closed, loudly: a record we cannot read must not authenticate anyone.
        log.error({ keyId: keyIdOf(digest), problem: record }, 'key directory: malformed key record in Redis; key refused');
        return undefined;
      }
      if (keyRecordState(record, nowMs ?? Date.now()) !== undefined) return undefined;
      return toPrincipal(record);
    },
    healthy: conn.healthy,
    errors: conn.errors,
    latency: conn.latency,
    close: conn.close,
  };
}
