/**
 * The fail-fast Redis connection every gateway component uses (the response cache's store, the
 * limiter, the key directory, tenant credentials). Every choice here serves one rule: a request
 * never waits on Redis for longer than the command timeout. The component decides what an
 * unusable Redis means for its callers (a miss, LimiterUnavailable, 'unavailable'); this module
 * tracks whether it is usable, and says so in the log once per change.
 */
import { performance } from 'node:perf_hooks';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log/logger.js';

export interface LatencyStats {
  /** Commands that completed (successful replies only). */
  count: number;
  meanMs: number;
  maxMs: number;
}

/** What the connection logs, in the words of the component that owns it. */
export interface RedisConnectionMessages {
  /** Info: the first connect succeeded. */
  connected: string;
  /** Info: connected again after an outage. */
  reconnected: string;
  /** Warning: a working connection went away (or was given up as hung). */
  lost: string;
  /** Warning: the first connect failed. Default: `lost`. */
  unreachable?: string;
  /** Debug: each connection error ioredis reports (every failed reconnect attempt). */
  connectionError: string;
  /**
   * Warning at the first failed command while the connection looks usable (further failures are
   * counted, not logged, until the state changes). Leave out when the component logs failures itself.
   */
  commandFailed?: string;
  /** The `err` of the `lost` warning when a hung connection is given up. */
  hung(timeouts: number, commandTimeoutMs: number): string;
  /** Error: `onStateChange` threw. */
  callbackThrew?: string;
}

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** The component's logger (already bound to it). */
  log: Logger;
  /** How long one command may take before it counts as failed. */
  commandTimeoutMs: number;
  /**
   * After this many command timeouts in a row on a connection that looks open and has sent no
   * bytes for a whole timeout period, the connection is treated as dead (a hung server or a
   * half-open TCP connection) and re-established; until then every command would pay the full
   * timeout. 0 disables. Default 3.
   */
  timeoutsBeforeReconnect?: number;
  /** Called on each change between usable and not; not called once `close()` has begun. */
  onStateChange?: (healthy: boolean) => void;
  messages: RedisConnectionMessages;
}

export interface RedisConnection {
  readonly client: Redis;
  /** True once `close()` has begun. */
  readonly closed: boolean;
  /** Connected, the socket writable, and not suspected hung. */
  healthy(): boolean;
  /**
   * Whether a command may be sent now: `healthy()`, except that while a suspected hang is being
   * checked (until this event-loop turn's socket reads are in, well under a millisecond) it waits
   * for the verdict. A refusal is counted as an error (unless closed).
   */
  usable(): Promise<boolean>;
  /** The last connection or command error, for messages. */
  lastError(): string | undefined;
  errors(): number;
  countError(): void;
  latency(): LatencyStats;
  /** Runs one command on the client: its latency is recorded, or its failure booked and rethrown. */
  command<T>(op: string, run: (client: Redis) => Promise<T>): Promise<T>;
  /** A command that began at `startedAt` (performance.now()) got its reply. */
  succeeded(startedAt: number): void;
  /** A command failed: counted, and timeouts count towards giving the connection up. */
  failed(op: string, err: unknown): void;
  /** QUIT when connected (bounded by the command timeout), then disconnect for good. Idempotent. */
  close(): Promise<void>;
}

const TIMEOUT_MESSAGE = 'Command timed out';

export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  const { url, log, commandTimeoutMs, timeoutsBeforeReconnect = 3, onStateChange, messages } = options;
  const client = new Redis(url, redisClientOptions(commandTimeoutMs));

  let state: 'starting' | 'up' | 'down' = 'starting';
  let warnedInState = false;
  let lastError: string | undefined;
  let errorCount = 0;
  let consecutiveTimeouts = 0;
  /** performance.now() of the last bytes read from the server: a timeout soon after means busy, not hung. */
  let lastReplyAt = 0;
  /** Set while a suspected hang waits for its verdict (see `failed`). */
  let hangCheck: Promise<void> | undefined;
  const watched = new WeakSet<object>();
  const onData = (): void => {
    lastReplyAt = performance.now();
  };
  /** Set when we gave up on a connection that still reports 'ready'; cleared on the next ready. */
  let abandoned = false;
  let closed = false;
  let okCount = 0;
  let okTotalMs = 0;
  let okMaxMs = 0;

  const enter = (next: 'up' | 'down', why?: string): void => {
    if (closed || state === next) return;
    const previous = state;
    state = next;
    warnedInState = next === 'down';
    if (next === 'up') log.info(previous === 'down' ? messages.reconnected : messages.connected);
    else log.warn({ err: why ?? lastError }, previous === 'up' ? messages.lost : (messages.unreachable ?? messages.lost));
    try {
      onStateChange?.(next === 'up');
    } catch (err) {
      log.error({ err }, messages.callbackThrew ?? 'redis onStateChange callback threw');
    }
  };

  /**
   * Usable means: ready, the socket still writable, and not suspected hung (see `failed`). The
   * writable check catches a connection the server has closed before ioredis has delivered its
   * 'close' (within the same turn of the event loop), so the outage is noticed, and logged as one
   * state change, by the first request that meets it.
   */
  const healthy = (): boolean => {
    if (closed || abandoned || hangCheck !== undefined) return false;
    if (client.status === 'ready' && client.stream?.writable === true) return true;
    if (state === 'up') enter('down');
    return false;
  };

  client.on('ready', () => {
    const stream = client.stream;
    if (stream && !watched.has(stream)) {
      watched.add(stream);
      stream.on('data', onData);
    }
    abandoned = false;
    consecutiveTimeouts = 0;
    enter('up');
  });
  client.on('close', () => enter('down'));
  client.on('end', () => enter('down'));
  // Required: without a listener ioredis reports every failed reconnect attempt on stderr.
  client.on('error', (err: Error) => {
    lastError = err.message;
    log.debug({ err: err.message }, messages.connectionError);
  });

  const failed = (op: string, err: unknown): void => {
    errorCount++;
    const message = err instanceof Error ? err.message : String(err);
    lastError = message;
    // The connection went away: that state change is what gets logged, not each failed command.
    if (!healthy()) return;
    // Only timeouts with no bytes from the server for a whole timeout period count towards
    // giving the connection up (a busy connection that still answers is not hung). A timer may
    // fire a fraction of a millisecond early by performance.now(): a millisecond of slack.
    if (message === TIMEOUT_MESSAGE && performance.now() - lastReplyAt >= commandTimeoutMs - 1) {
      consecutiveTimeouts++;
      if (timeoutsBeforeReconnect > 0 && consecutiveTimeouts >= timeoutsBeforeReconnect && hangCheck === undefined) {
        // Timers run before pending socket reads in an event-loop turn: after a long synchronous
        // stretch (a burst of commands), replies may be sitting unread while commands time out.
        // Decide after this turn's reads; meanwhile `healthy()` is false and `usable()` waits.
        const suspectedAt = performance.now();
        hangCheck = new Promise<void>((resolve) => {
          setImmediate(() => {
            hangCheck = undefined;
            try {
              if (closed || abandoned || !healthy()) return;
              if (lastReplyAt >= suspectedAt) {
                consecutiveTimeouts = 0;
                return;
              }
              abandoned = true;
              enter('down', messages.hung(consecutiveTimeouts, commandTimeoutMs));
              client.disconnect(true);
            } finally {
              resolve();
            }
          });
        });
      }
    }
    if (!warnedInState && messages.commandFailed !== undefined) {
      warnedInState = true;
      log.warn({ op, err: message }, messages.commandFailed);
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
    client,
    get closed() {
      return closed;
    },
    healthy,
    async usable() {
      if (hangCheck !== undefined) await hangCheck;
      if (healthy()) return true;
      if (!closed) errorCount++;
      return false;
    },
    lastError: () => lastError,
    errors: () => errorCount,
    countError() {
      errorCount++;
    },
    latency: () => ({ count: okCount, meanMs: okCount === 0 ? 0 : okTotalMs / okCount, maxMs: okMaxMs }),
    async command<T>(op: string, run: (client: Redis) => Promise<T>): Promise<T> {
      const startedAt = performance.now();
      try {
        const value = await run(client);
        succeeded(startedAt);
        return value;
      } catch (err) {
        failed(op, err);
        throw err;
      }
    },
    succeeded,
    failed,
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
 * The ioredis options every gateway client uses: commands fail at once while disconnected (no
 * offline queue, no replay), each command is bounded by `commandTimeoutMs`, and the client
 * reconnects forever in the background.
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
