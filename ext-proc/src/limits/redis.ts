import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { describeRedisUrl, redisClientOptions } from '../store/redis.js';
import { ADMIT, RECONCILE, type LuaScript } from './scripts.js';
import { LimiterUnavailable, type Admission, type Estimate, type Limiter, type LimitSubject, type Reservation } from './types.js';
import {
  DAY_TTL_MS,
  DEFAULT_KEY_PREFIX,
  MINUTE_MS,
  MINUTE_TTL_MS,
  MONTH_TTL_MS,
  planAdmission,
  reconcileDeltas,
  toAdmission,
  type Counters,
  type StoreResult,
} from './windows.js';

export interface RedisLimiterOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  log: Logger;
  /**
   * How long one admission may wait for Redis before it fails with LimiterUnavailable. Default
   * 100 ms (a script call is a single round trip, well under 1 ms on a healthy local Redis).
   */
  commandTimeoutMs?: number;
  /** Prefix of every counter key. Default `llmgw:rl:`. */
  keyPrefix?: string;
  /**
   * After this many timeouts in a row on a connection that looks open, the connection is dropped
   * and re-established (a hung server); until then every admission would wait the full timeout.
   * 0 disables. Default 3.
   */
  timeoutsBeforeReconnect?: number;
}

export interface RedisLimiter extends Limiter {
  readonly kind: 'redis';
  /** Admissions and reconciliations that failed because Redis could not be used. */
  errors(): number;
}

const TIMEOUT_MESSAGE = 'Command timed out';

/**
 * Limits shared by every processor replica: counters live in Redis, and each admission is one Lua
 * script (EVALSHA, falling back to EVAL when the server does not have it cached, e.g. after a
 * restart), so check-and-charge is atomic across replicas. The client is built like the store's:
 * no offline queue, bounded commands, reconnecting forever; while Redis cannot be used, `admit`
 * throws LimiterUnavailable at once instead of waiting.
 *
 * Times come from the caller (`nowMs`, the replica's clock): replicas need synchronized clocks
 * (NTP); a skew of a second shifts a sliding window's weighting by 1/60 and nothing else.
 * All of a request's keys are touched by one script, so with Redis Cluster they must share a
 * slot: give a keyPrefix with a hash tag (e.g. `{llmgw:rl}:`).
 */
export function createRedisLimiter(options: RedisLimiterOptions): RedisLimiter {
  const { url, commandTimeoutMs = 100, keyPrefix = DEFAULT_KEY_PREFIX, timeoutsBeforeReconnect = 3 } = options;
  const target = describeRedisUrl(url);
  const log = options.log.child({ component: 'limits', limiter: 'redis', redis: target });
  const client = new Redis(url, redisClientOptions(commandTimeoutMs));
  const reconciled = new WeakSet<Reservation>();

  type State = 'starting' | 'up' | 'down';
  let state: State = 'starting';
  let warnedInState = false;
  let lastError: string | undefined;
  let errorCount = 0;
  let consecutiveTimeouts = 0;
  /** performance.now() of the last bytes read from the server: a timeout soon after means busy, not hung. */
  let lastReplyAt = 0;
  let hangCheckPending = false;
  const watched = new WeakSet<object>();
  const onData = (): void => {
    lastReplyAt = performance.now();
  };
  /** Set when we gave up on a connection that still reports 'ready'; cleared on the next ready. */
  let abandoned = false;
  let closed = false;

  const enter = (next: 'up' | 'down', why?: string): void => {
    if (closed || state === next) return;
    const previous = state;
    state = next;
    warnedInState = false;
    if (next === 'up') {
      log.info(previous === 'down' ? 'limiter redis reconnected' : 'limiter redis connected');
      return;
    }
    warnedInState = true;
    log.warn(
      { err: why ?? lastError },
      previous === 'up'
        ? 'limiter redis connection lost; admissions fail (LimiterUnavailable) until it reconnects'
        : 'limiter redis unreachable; admissions fail (LimiterUnavailable) until it connects',
    );
  };

  /** Usable: connected, the socket writable, and not suspected hung (see `failed`). */
  const healthy = (): boolean => {
    if (closed || abandoned || hangCheckPending) return false;
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
  client.on('error', (err: Error) => {
    lastError = err.message;
    log.debug({ err: err.message }, 'limiter redis connection error');
  });

  const unavailable = (op: string, cause?: unknown): LimiterUnavailable => {
    errorCount++;
    const reason = closed ? 'limiter closed' : cause instanceof Error ? cause.message : (lastError ?? 'not connected');
    return new LimiterUnavailable(`rate limiter store (redis) unavailable for ${op}: ${reason}`, cause === undefined ? undefined : { cause });
  };

  /** Bookkeeping for a failed command; returns the error to throw. */
  const failed = (op: string, err: unknown): LimiterUnavailable => {
    const error = unavailable(op, err);
    const message = err instanceof Error ? err.message : String(err);
    lastError = message;
    if (!healthy()) return error; // the state change is what gets logged
    // Only timeouts with no bytes from the server for a whole timeout period count towards
    // giving the connection up (a busy connection that still answers is not hung).
    if (message === TIMEOUT_MESSAGE && performance.now() - lastReplyAt >= commandTimeoutMs) {
      consecutiveTimeouts++;
      if (timeoutsBeforeReconnect > 0 && consecutiveTimeouts >= timeoutsBeforeReconnect && !hangCheckPending) {
        // Timers run before pending socket reads in an event-loop turn: after a long synchronous
        // stretch (a burst of admissions), replies may be sitting unread while commands time out.
        // Decide after this turn's reads; admissions meanwhile fail fast.
        hangCheckPending = true;
        const suspectedAt = performance.now();
        setImmediate(() => {
          hangCheckPending = false;
          if (closed || abandoned || !healthy()) return;
          if (lastReplyAt >= suspectedAt) {
            consecutiveTimeouts = 0;
            return;
          }
          abandoned = true;
          enter('down', `${consecutiveTimeouts} limiter commands in a row timed out after ${commandTimeoutMs} ms with no reply`);
          client.disconnect(true);
        });
      }
    }
    if (!warnedInState) {
      warnedInState = true;
      log.warn({ op, err: message }, 'limiter redis command failed (further failures are counted, not logged, until the connection state changes)');
    }
    return error;
  };

  const replied = (): void => {
    consecutiveTimeouts = 0;
  };

  /** EVALSHA; on NOSCRIPT (a restarted or flushed server) EVAL, which also caches it again. */
  const run = async (script: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> => {
    try {
      return await client.evalsha(script.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await client.eval(script.lua, keys.length, ...keys, ...args);
    }
  };

  return {
    kind: 'redis',
    healthy,
    errors: () => errorCount,

    async admit(subjects: LimitSubject[], estimate: Estimate, nowMs: number = Date.now()): Promise<Admission> {
      const plan = planAdmission(subjects, estimate, nowMs, keyPrefix);
      if (plan.subjects.length === 0) return toAdmission('redis', plan, { ok: true, subjects: [] });
      if (!healthy()) throw unavailable('admit');
      const keys: string[] = [];
      const args: Array<string | number> = [String(MINUTE_MS - plan.elapsedMs), plan.tokens, plan.micros, MINUTE_TTL_MS, DAY_TTL_MS, MONTH_TTL_MS];
      for (const s of plan.subjects) {
        keys.push(s.minuteKey, s.prevMinuteKey, s.dayKey, s.monthKey);
        args.push(String(s.rpm), String(s.tpm), s.dayMicros, s.monthMicros);
      }
      let reply: unknown;
      try {
        reply = await run(ADMIT, keys, args);
      } catch (err) {
        throw failed('admit', err);
      }
      replied();
      return toAdmission('redis', plan, parseAdmitReply(reply, plan.subjects.length));
    },

    async reconcile(reservation: Reservation, actual: Estimate): Promise<void> {
      if (reservation.limiter !== 'redis') throw new RangeError(`limits: a ${reservation.limiter} reservation reconciled on the redis limiter`);
      const deltas = reconcileDeltas(reservation, actual);
      if (reconciled.has(reservation)) return;
      if (deltas.length === 0) {
        reconciled.add(reservation);
        return;
      }
      if (!healthy()) throw unavailable('reconcile');
      // At most once: a timed-out call may still have been applied, so it is not retried either.
      reconciled.add(reservation);
      const args: string[] = [];
      for (const { field, delta } of deltas) args.push(field, String(delta));
      try {
        await run(
          RECONCILE,
          deltas.map((d) => d.key),
          args,
        );
      } catch (err) {
        throw failed('reconcile', err);
      }
      replied();
    },

    async close() {
      if (closed) return;
      const wasReady = healthy();
      closed = true;
      if (wasReady) {
        try {
          await client.quit();
        } catch {
          // gone meanwhile; disconnect below
        }
      }
      client.disconnect();
    },
  };
}

function parseAdmitReply(reply: unknown, subjects: number): StoreResult {
  if (!Array.isArray(reply) || reply.length !== 1 + 7 * subjects || !reply.every((v) => typeof v === 'number')) {
    throw new LimiterUnavailable(`rate limiter store (redis) gave an unexpected reply to the admission script`);
  }
  const values = reply as number[];
  const result: StoreResult = { ok: values[0] === 1, subjects: [] };
  for (let i = 0; i < subjects; i++) {
    const o = 1 + 7 * i;
    result.subjects.push({ fail: values[o]!, counters: values.slice(o + 1, o + 7) as Counters });
  }
  return result;
}
