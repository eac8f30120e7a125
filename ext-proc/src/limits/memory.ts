import { LimiterUnavailable, type Admission, type Estimate, type Limiter, type LimitSubject, type Reservation } from './types.js';
import {
  DAY_TTL_MS,
  DEFAULT_KEY_PREFIX,
  FIELD_REQUESTS,
  FIELD_TOKENS,
  MINUTE_TTL_MS,
  MONTH_TTL_MS,
  failMask,
  planAdmission,
  reconcileDeltas,
  toAdmission,
  type Counters,
  type StoreResult,
} from './windows.js';

export interface MemoryLimiter extends Limiter {
  readonly kind: 'memory';
  /** Counters currently held (for tests and metrics). */
  size(): number;
}

interface Counter {
  value: number;
  /** Same rule as the Redis keys: refreshed to charge time + TTL on every charge. */
  expiresAt: number;
}

/** Expired counters are dropped when read, and all of them at most every this often (by admission time). */
const SWEEP_EVERY_MS = 10_000;

/**
 * The in-process limiter (the single-instance default): the same keys, window math and decisions
 * as the Redis limiter, with counters in a Map. An admission runs synchronously, so it is atomic
 * with respect to every other admission in the process.
 */
export function createMemoryLimiter(options: { keyPrefix?: string } = {}): MemoryLimiter {
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const counters = new Map<string, Counter>();
  const reconciled = new WeakSet<Reservation>();
  let closed = false;
  let lastSweep = Number.NEGATIVE_INFINITY;

  const id = (key: string, field: string): string => (field ? `${key}#${field}` : key);

  const read = (key: string, nowMs: number): number => {
    const c = counters.get(key);
    if (!c) return 0;
    if (c.expiresAt <= nowMs) {
      counters.delete(key);
      return 0;
    }
    return c.value;
  };

  const charge = (key: string, amount: number, ttlMs: number, nowMs: number): number => {
    const c = counters.get(key);
    if (c && c.expiresAt > nowMs) {
      c.value += amount;
      c.expiresAt = nowMs + ttlMs;
      return c.value;
    }
    counters.set(key, { value: amount, expiresAt: nowMs + ttlMs });
    return amount;
  };

  const sweep = (nowMs: number): void => {
    if (nowMs - lastSweep < SWEEP_EVERY_MS) return;
    lastSweep = nowMs;
    for (const [key, c] of counters) if (c.expiresAt <= nowMs) counters.delete(key);
  };

  return {
    kind: 'memory',
    async admit(subjects: LimitSubject[], estimate: Estimate, nowMs: number = Date.now()): Promise<Admission> {
      if (closed) throw new LimiterUnavailable('rate limiter is closed');
      const plan = planAdmission(subjects, estimate, nowMs, keyPrefix);
      sweep(nowMs);
      const { weight, tokens, micros } = plan;
      const result: StoreResult = { ok: true, subjects: [] };
      for (const s of plan.subjects) {
        const minute = s.rpm >= 0 || s.tpm >= 0;
        const c: Counters = [
          minute ? read(id(s.minuteKey, FIELD_REQUESTS), nowMs) : 0,
          minute ? read(id(s.prevMinuteKey, FIELD_REQUESTS), nowMs) : 0,
          minute ? read(id(s.minuteKey, FIELD_TOKENS), nowMs) : 0,
          minute ? read(id(s.prevMinuteKey, FIELD_TOKENS), nowMs) : 0,
          s.dayMicros >= 0 ? read(s.dayKey, nowMs) : 0,
          s.monthMicros >= 0 ? read(s.monthKey, nowMs) : 0,
        ];
        const fail = failMask(s, c, weight, tokens, micros);
        if (fail !== 0) result.ok = false;
        result.subjects.push({ fail, counters: c });
      }
      if (result.ok) {
        plan.subjects.forEach((s, i) => {
          const c = result.subjects[i]!.counters;
          // Both fields of a minute window share the window's expiry, as the Redis hash does.
          const minuteCharged = s.rpm >= 0 || (s.tpm >= 0 && tokens > 0);
          if (s.rpm >= 0) c[0] = charge(id(s.minuteKey, FIELD_REQUESTS), 1, MINUTE_TTL_MS, nowMs);
          if (s.tpm >= 0 && tokens > 0) c[2] = charge(id(s.minuteKey, FIELD_TOKENS), tokens, MINUTE_TTL_MS, nowMs);
          if (minuteCharged) {
            for (const field of [FIELD_REQUESTS, FIELD_TOKENS]) {
              const other = counters.get(id(s.minuteKey, field));
              if (other) other.expiresAt = nowMs + MINUTE_TTL_MS;
            }
          }
          if (s.dayMicros >= 0 && micros > 0) c[4] = charge(s.dayKey, micros, DAY_TTL_MS, nowMs);
          if (s.monthMicros >= 0 && micros > 0) c[5] = charge(s.monthKey, micros, MONTH_TTL_MS, nowMs);
        });
      }
      return toAdmission('memory', plan, result);
    },

    async reconcile(reservation: Reservation, actual: Estimate): Promise<void> {
      if (closed) throw new LimiterUnavailable('rate limiter is closed');
      if (reservation.limiter !== 'memory') throw new RangeError(`limits: a ${reservation.limiter} reservation reconciled on the memory limiter`);
      const deltas = reconcileDeltas(reservation, actual);
      if (reconciled.has(reservation)) return;
      reconciled.add(reservation);
      for (const { key, field, delta } of deltas) {
        // Like the Redis script: a counter that is gone stays gone; none goes below zero.
        const c = counters.get(id(key, field));
        if (c) c.value = Math.max(0, c.value + delta);
      }
    },

    healthy: () => !closed,
    size: () => counters.size,
    async close() {
      closed = true;
      counters.clear();
    },
  };
}
