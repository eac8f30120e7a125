import { performance } from 'node:perf_hooks';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { ttlMillis, type KvStore } from './kv.js';

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
   * After this many command timeouts in a row on a connection that looks open, the connection is
   * treated as dead (a hung server or a half-open TCP connection) and re-established; until then
   * every request would pay the full command timeout. 0 disables. Default 3.
   */
  timeoutsBeforeReconnect?: number;
}

export interface LatencyStats {
  /** Commands that completed (successful replies only). */
  count: number;
  meanMs: number;
  maxMs: number;
}

export interface RedisKvStore extends KvStore {
  readonly kind: 'redis';
  /** Operations that failed: unavailable, timed out, or refused by Redis. */
  errors(): number;
  latency(): LatencyStats;
}

const TIMEOUT_MESSAGE = 'Command timed out';

/**
 * The shared store. Every choice here serves one rule: a request never waits on Redis for longer
 * than the command timeout, and an outage turns into cache misses, not errors.
 */
export function createRedisStore(options: RedisStoreOptions): RedisKvStore {
  const { url, commandTimeoutMs = 50, onStateChange, timeoutsBeforeReconnect = 3 } = options;
  const target = describeRedisUrl(url);
  const log = options.log.child({ component: 'store', store: 'redis', redis: target });

  const client = new Redis(url, redisClientOptions(commandTimeoutMs));

  type State = 'starting' | 'up' | 'down';
  let state: State = 'starting';
  let warnedInState = false;
  let lastError: string | undefined;
  let errorCount = 0;
  let consecutiveTimeouts = 0;
  /** Set when we have given up on a connection that still reports 'ready'; cleared on the next ready. */
  let abandoned = false;
  let closed = false;
  let okCount = 0;
  let okTotalMs = 0;
  let okMaxMs = 0;

  const enter = (next: 'up' | 'down', why?: string): void => {
    if (closed || state === next) return;
    const previous = state;
    state = next;
    warnedInState = false;
    if (next === 'up') {
      log.info(previous === 'down' ? 'redis reconnected' : 'redis connected');
    } else {
      warnedInState = true;
      const message =
        previous === 'up'
          ? 'redis connection lost; cache reads miss and writes are skipped until it reconnects'
          : 'redis unreachable; cache reads miss and writes are skipped until it connects';
      log.warn({ err: why ?? lastError }, message);
    }
    try {
      onStateChange?.(next === 'up');
    } catch (err) {
      log.error({ err }, 'store onStateChange callback threw');
    }
  };

  /**
   * Usable means: ready, and the socket still writable. The second part catches a connection the
   * server has closed before ioredis has delivered its 'close' (within the same turn of the event
   * loop), so the outage is noticed, and logged as one state change, by the first request that
   * meets it.
   */
  const healthy = (): boolean => {
    if (closed || abandoned) return false;
    if (client.status === 'ready' && client.stream?.writable === true) return true;
    if (state === 'up') enter('down');
    return false;
  };

  client.on('ready', () => {
    abandoned = false;
    consecutiveTimeouts = 0;
    enter('up');
  });
  client.on('close', () => enter('down'));
  client.on('end', () => enter('down'));
  // Required: without a listener ioredis reports every failed reconnect attempt on stderr.
  client.on('error', (err: Error) => {
    lastError = err.message;
    log.debug({ err: err.message }, 'redis connection error');
  });

  const failed = (op: string, err: unknown): void => {
    errorCount++;
    const message = err instanceof Error ? err.message : String(err);
    lastError = message;
    // The connection went away: that state change is what gets logged, not each failed command.
    if (!healthy()) return;
    if (message === TIMEOUT_MESSAGE) {
      consecutiveTimeouts++;
      if (timeoutsBeforeReconnect > 0 && consecutiveTimeouts >= timeoutsBeforeReconnect) {
        abandoned = true;
        enter('down', `${consecutiveTimeouts} commands in a row timed out after ${commandTimeoutMs} ms`);
        client.disconnect(true);
        return;
      }
    }
    if (!warnedInState) {
      warnedInState = true;
      log.warn({ op, err: message }, 'redis command failed; treated as a miss (further failures are counted, not logged, until the connection state changes)');
    }
  };

  const succeeded = (startedAt: number): void => {
    consecutiveTimeouts = 0;
    const ms = performance.now() - startedAt;
    okCount++;
    okTotalMs += ms;
    if (ms > okMaxMs) okMaxMs = ms;
  };

  return {
    kind: 'redis',
    healthy,
    async get(key) {
      if (!healthy()) {
        if (!closed) errorCount++;
        return undefined;
      }
      const startedAt = performance.now();
      try {
        const value = await client.getBuffer(key);
        succeeded(startedAt);
        return value ?? undefined;
      } catch (err) {
        failed('get', err);
        return undefined;
      }
    },
    async set(key, value, ttlSeconds) {
      const ttl = ttlMillis(ttlSeconds);
      if (ttl === undefined) return false;
      if (!healthy()) {
        if (!closed) errorCount++;
        return false;
      }
      const startedAt = performance.now();
      try {
        await client.set(key, value, 'PX', ttl);
        succeeded(startedAt);
        return true;
      } catch (err) {
        failed('set', err);
        return false;
      }
    },
    async delete(key) {
      if (!healthy()) {
        if (!closed) errorCount++;
        return false;
      }
      const startedAt = performance.now();
      try {
        await client.del(key);
        succeeded(startedAt);
        return true;
      } catch (err) {
        failed('delete', err);
        return false;
      }
    },
    errors: () => errorCount,
    latency: () => ({ count: okCount, meanMs: okCount === 0 ? 0 : okTotalMs / okCount, maxMs: okMaxMs }),
    async close() {
      if (closed) return;
      const wasReady = healthy();
      closed = true;
      if (wasReady) {
        try {
          await client.quit(); // bounded by the command timeout
        } catch {
          // the connection went away meanwhile; disconnect below
        }
      }
      client.disconnect();
    },
  };
}

/**
 * The ioredis options every gateway client uses (the store, the limiter): commands fail at once
 * while disconnected (no offline queue, no replay), each command is bounded by `commandTimeoutMs`,
 * and the client reconnects forever in the background.
 */
export function redisClientOptions(commandTimeoutMs: number): RedisOptions {
  return {
    lazyConnect: false,
    // Commands issued while disconnected fail at once instead of queueing for the reconnect.
    enableOfflineQueue: false,
    // Commands in flight when the connection drops fail at once instead of being replayed later.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    // Reconnect forever, backing off to one attempt every 2 s.
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
    // A TCP connect that hangs (unroutable host) is abandoned and retried; requests fail fast meanwhile.
    connectTimeout: 1_000,
    // When we drop a connection that stopped answering, do not wait long for the server's FIN.
    disconnectTimeout: 200,
    keepAlive: 30_000,
    // Nothing depends on a reply to a failed command; a bad reply is an error like any other.
    reconnectOnError: null,
  };
}

/** The URL without credentials, for logs. Throws on a URL that is not redis:// or rediss://. */
export function describeRedisUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('REDIS_URL is not a valid URL (expected redis://host:port)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must use redis:// or rediss://, got ${parsed.protocol}//`);
  }
  const port = parsed.port || '6379';
  const db = parsed.pathname && parsed.pathname !== '/' ? parsed.pathname : '';
  return `${parsed.protocol}//${parsed.hostname}:${port}${db}`;
}
