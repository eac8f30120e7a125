import type { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { createRedisConnection, describeRedisUrl, type RedisConnectionMessages } from '../store/redis-connection.js';
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
  /**
   * How long a reconciliation may wait. It runs after the call, off the request path, so it can
   * afford to wait out a busy moment rather than leave a reservation standing. Default 2,000 ms.
   */
  reconcileTimeoutMs?: number;
  /** Prefix of every counter key. Default `llmgw:rl:`. */
  keyPrefix?: string;
  /**
   * After this many timeouts in a row on a connection that looks open (and has sent no bytes for a
   * whole timeout period), the connection is dropped and re-established (a hung server); until then
   * every admission would wait the full timeout. 0 disables. Default 3.
   */
  timeoutsBeforeReconnect?: number;
}

export interface RedisLimiter extends Limiter {
  readonly kind: 'redis';
  /** Admissions and reconciliations that failed because Redis could not be used. */
  errors(): number;
}

const MESSAGES: RedisConnectionMessages = {
  connected: 'limiter redis connected',
  reconnected: 'limiter redis reconnected',
  lost: 'limiter redis connection lost; admissions fail (LimiterUnavailable) until it reconnects',
  unreachable: 'limiter redis unreachable; admissions fail (LimiterUnavailable) until it connects',
  connectionError: 'limiter redis connection error',
  commandFailed: 'limiter redis command failed (further failures are counted, not logged, until the connection state changes)',
  hung: (n, ms) => `${n} limiter commands in a row timed out after ${ms} ms with no reply`,
};

const RECONCILE_MESSAGES: RedisConnectionMessages = {
  connected: 'limiter reconciliation redis connected',
  reconnected: 'limiter reconciliation redis reconnected',
  lost: 'limiter reconciliation redis connection lost; reservations stand until it reconnects',
  unreachable: 'limiter reconciliation redis unreachable',
  connectionError: 'limiter reconciliation redis connection error',
  commandFailed: 'limiter reconciliation failed (further failures are counted, not logged, until the connection state changes)',
  hung: (n, ms) => `${n} limiter reconciliations in a row timed out after ${ms} ms with no reply`,
};

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
  const { keyPrefix = DEFAULT_KEY_PREFIX } = options;
  const log = options.log.child({ component: 'limits', limiter: 'redis', redis: describeRedisUrl(options.url) });
  const conn = createRedisConnection({ ...options, log, commandTimeoutMs: options.commandTimeoutMs ?? 100, messages: MESSAGES });
  // Reconciliations have their own connection with a longer timeout: under load a 100 ms budget
  // would drop some, and each dropped one leaves a call's whole reservation charged.
  const settleConn = createRedisConnection({
    ...options,
    log: log.child({ connection: 'reconcile' }),
    commandTimeoutMs: options.reconcileTimeoutMs ?? 2000,
    messages: RECONCILE_MESSAGES,
  });
  const reconciled = new WeakSet<Reservation>();

  const unavailableError = (op: string, cause?: unknown): LimiterUnavailable => {
    const reason = conn.closed ? 'limiter closed' : cause instanceof Error ? cause.message : (conn.lastError() ?? 'not connected');
    return new LimiterUnavailable(`rate limiter store (redis) unavailable for ${op}: ${reason}`, cause === undefined ? undefined : { cause });
  };

  /** Redis cannot be used at all: counted, and the error to throw. */
  const unavailable = (op: string): LimiterUnavailable => {
    conn.countError();
    return unavailableError(op);
  };

  /** One script call; a failure is booked on the connection and thrown as LimiterUnavailable. */
  const call = async (op: string, script: LuaScript, keys: string[], args: Array<string | number>, on = conn): Promise<unknown> => {
    try {
      return await on.command(op, (client) => run(client, script, keys, args));
    } catch (err) {
      throw unavailableError(op, err);
    }
  };

  return {
    kind: 'redis',
    healthy: conn.healthy,
    errors: () => conn.errors() + settleConn.errors(),

    async admit(subjects: LimitSubject[], estimate: Estimate, nowMs: number = Date.now()): Promise<Admission> {
      const plan = planAdmission(subjects, estimate, nowMs, keyPrefix);
      if (plan.subjects.length === 0) return toAdmission('redis', plan, { ok: true, subjects: [] });
      // Fails fast, also while a suspected hang is being checked.
      if (!conn.healthy()) throw unavailable('admit');
      const keys: string[] = [];
      const args: Array<string | number> = [String(MINUTE_MS - plan.elapsedMs), plan.tokens, plan.micros, MINUTE_TTL_MS, DAY_TTL_MS, MONTH_TTL_MS];
      for (const s of plan.subjects) {
        keys.push(s.minuteKey, s.prevMinuteKey, s.dayKey, s.monthKey);
        args.push(String(s.rpm), String(s.tpm), s.dayMicros, s.monthMicros);
      }
      const reply = await call('admit', ADMIT, keys, args);
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
      if (!settleConn.healthy()) {
        settleConn.countError();
        throw unavailableError('reconcile');
      }
      // At most once: a timed-out call may still have been applied, so it is not retried either.
      reconciled.add(reservation);
      const args: string[] = [];
      for (const { field, delta } of deltas) args.push(field, String(delta));
      await call(
        'reconcile',
        RECONCILE,
        deltas.map((d) => d.key),
        args,
        settleConn,
      );
    },

    async close() {
      await Promise.all([conn.close(), settleConn.close()]);
    },
  };
}

/** EVALSHA; on NOSCRIPT (a restarted or flushed server) EVAL, which also caches it again. */
async function run(client: Redis, script: LuaScript, keys: string[], args: Array<string | number>): Promise<unknown> {
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return await client.eval(script.lua, keys.length, ...keys, ...args);
  }
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
