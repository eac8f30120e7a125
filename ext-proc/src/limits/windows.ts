/**
 * The window math and bookkeeping both limiters share; only the counter storage differs (an
 * in-process Map, or Redis through one Lua script that mirrors `failMask` and the charging rules).
 *
 * Per-minute limits (requests, tokens) use the **sliding window approximation** over two fixed
 * 60 s windows: the windows are aligned to the epoch minute, and the usage "in the last 60 s" is
 *
 *     current window's count + previous window's count × (60 s − time elapsed in the current window) / 60 s
 *
 * i.e. the previous window is assumed to have been spread evenly, and only the part of it still
 * inside the last 60 s counts. It needs two counters per subject and limit, never over-admits by
 * more than what the even-spread assumption gets wrong, and has no burst at window boundaries
 * (unlike a single fixed window, where 2× the limit can pass around the boundary).
 *
 * Budgets are plain counters per calendar day and calendar month in UTC, kept as integer
 * micro-dollars (so increments are exact integer arithmetic in Redis and here).
 *
 * A request is admitted when, for every subject and every limit the subject has,
 *     usage + this request's charge ≤ limit
 * (charge: 1 request, the estimated tokens, the estimated micro-dollars). Because checking and
 * charging happen in one atomic step, concurrent admissions can never overshoot a limit by more
 * than the one request's reservation that `reconcile` later corrects upward.
 */
import type { Admission, Estimate, LimitName, LimitScope, LimitSubject, Reservation, ReservedCharge, SubjectStanding } from './types.js';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
/** A minute window is read as "previous" until the end of the next one. */
export const MINUTE_TTL_MS = 2 * MINUTE_MS;
export const DAY_TTL_MS = 2 * DAY_MS;
export const MONTH_TTL_MS = 32 * DAY_MS;
export const MICROS_PER_USD = 1_000_000;
export const DEFAULT_KEY_PREFIX = 'llmgw:rl:';
/** The "no limit" marker in plans and in the Lua script's arguments. */
export const NO_LIMIT = -1;

/** Bits of a subject's failure mask (the Lua script returns the same). */
export const FAIL_RPM = 1;
export const FAIL_TPM = 2;
export const FAIL_DAY = 4;
export const FAIL_MONTH = 8;

/** Hash fields of a minute window: request count and token count. */
export const FIELD_REQUESTS = 'r';
export const FIELD_TOKENS = 't';

export interface SubjectPlan {
  scope: LimitScope;
  id: string;
  /** Current minute window (hash r/t), previous minute window, day budget, month budget. */
  minuteKey: string;
  prevMinuteKey: string;
  dayKey: string;
  monthKey: string;
  /** Limits; NO_LIMIT when absent. Budgets in micro-dollars. */
  rpm: number;
  tpm: number;
  dayMicros: number;
  monthMicros: number;
}

export interface AdmitPlan {
  nowMs: number;
  /** Milliseconds elapsed in the current minute window, 0..59_999. */
  elapsedMs: number;
  /** Weight of the previous minute window: (60_000 − elapsedMs) / 60_000. */
  weight: number;
  tokens: number;
  micros: number;
  subjects: SubjectPlan[];
}

/** A subject's counters: requests cur/prev, tokens cur/prev, day micros, month micros. */
export type Counters = [rc: number, rp: number, tc: number, tp: number, day: number, month: number];

/** What the store reports: pre-charge counters on a denial, post-charge counters on admission. */
export interface StoreResult {
  ok: boolean;
  subjects: Array<{ fail: number; counters: Counters }>;
}

export function minuteIndex(nowMs: number): number {
  return Math.floor(nowMs / MINUTE_MS);
}

/** Builds the keys and integer limits for one admission; throws RangeError on invalid input. */
export function planAdmission(subjects: readonly LimitSubject[], estimate: Estimate, nowMs: number, keyPrefix: string): AdmitPlan {
  if (!Number.isFinite(nowMs) || nowMs < 0) throw new RangeError(`limits: invalid time ${nowMs}`);
  const tokens = nonNegative(estimate.tokens, 'estimate.tokens', Math.ceil);
  const micros = usdToMicros(estimate.usd, 'estimate.usd');
  const minute = minuteIndex(nowMs);
  const elapsedMs = nowMs - minute * MINUTE_MS;
  const day = new Date(nowMs);
  const y = day.getUTCFullYear();
  const m = String(day.getUTCMonth() + 1).padStart(2, '0');
  const d = String(day.getUTCDate()).padStart(2, '0');
  const seen = new Set<string>();
  const plans: SubjectPlan[] = [];
  for (const subject of subjects) {
    if (subject.scope !== 'tenant' && subject.scope !== 'key') throw new RangeError(`limits: invalid scope ${String(subject.scope)}`);
    if (typeof subject.id !== 'string' || subject.id.length === 0) throw new RangeError('limits: a subject needs a non-empty id');
    const base = `${keyPrefix}${subject.scope}:${encodeURIComponent(subject.id)}:`;
    if (seen.has(base)) throw new RangeError(`limits: ${subject.scope} ${subject.id} given twice`);
    seen.add(base);
    const { policy } = subject;
    const plan: SubjectPlan = {
      scope: subject.scope,
      id: subject.id,
      minuteKey: `${base}m:${minute}`,
      prevMinuteKey: `${base}m:${minute - 1}`,
      dayKey: `${base}d:${y}${m}${d}`,
      monthKey: `${base}mo:${y}${m}`,
      rpm: limitOf(policy.rpm, 'rpm'),
      tpm: limitOf(policy.tpm, 'tpm'),
      dayMicros: policy.usdPerDay === undefined ? NO_LIMIT : usdToMicros(policy.usdPerDay, 'usdPerDay'),
      monthMicros: policy.usdPerMonth === undefined ? NO_LIMIT : usdToMicros(policy.usdPerMonth, 'usdPerMonth'),
    };
    // A subject without limits has nothing to check or charge.
    if (plan.rpm === NO_LIMIT && plan.tpm === NO_LIMIT && plan.dayMicros === NO_LIMIT && plan.monthMicros === NO_LIMIT) continue;
    plans.push(plan);
  }
  return { nowMs, elapsedMs, weight: (MINUTE_MS - elapsedMs) / MINUTE_MS, tokens, micros, subjects: plans };
}

/**
 * Which of the subject's limits this request would exceed. The Lua script evaluates the very same
 * expressions (same operands, same order), so both limiters decide alike to the last bit.
 */
export function failMask(s: SubjectPlan, c: Counters, weight: number, tokens: number, micros: number): number {
  const [rc, rp, tc, tp, d, m] = c;
  let fail = 0;
  if (s.rpm >= 0 && rc + rp * weight + 1 > s.rpm) fail += FAIL_RPM;
  if (s.tpm >= 0 && (tokens > s.tpm || tc + tp * weight + tokens > s.tpm)) fail += FAIL_TPM;
  if (s.dayMicros >= 0 && d + micros > s.dayMicros) fail += FAIL_DAY;
  if (s.monthMicros >= 0 && m + micros > s.monthMicros) fail += FAIL_MONTH;
  return fail;
}

/** Turns the store's answer into the caller's admission (reservation, remaining, or the denial). */
export function toAdmission(kind: Reservation['limiter'], plan: AdmitPlan, result: StoreResult): Admission {
  const standing = plan.subjects.map((s, i) => {
    const counters = result.subjects[i]?.counters;
    if (!counters) throw new Error('limits: store answered for fewer subjects than asked');
    return standingOf(plan, s, counters);
  });
  if (!result.ok) return { ...denial(plan, result), standing };
  const charges: ReservedCharge[] = [];
  const remaining: Partial<Record<LimitName, number>> = {};
  const limits: Partial<Record<LimitName, number>> = {};
  plan.subjects.forEach((s, i) => {
    const own = standing[i]!;
    for (const name of Object.keys(own.remaining) as LimitName[]) {
      const left = own.remaining[name]!;
      const current = remaining[name];
      if (current === undefined || left < current) {
        remaining[name] = left;
        limits[name] = own.limits[name]!;
      }
    }
    if (s.tpm >= 0 && plan.tokens > 0) charges.push({ key: s.minuteKey, field: FIELD_TOKENS, unit: 'tokens' });
    if (s.dayMicros >= 0 && plan.micros > 0) charges.push({ key: s.dayKey, field: '', unit: 'micros' });
    if (s.monthMicros >= 0 && plan.micros > 0) charges.push({ key: s.monthKey, field: '', unit: 'micros' });
  });
  const reservation: Reservation = { limiter: kind, atMs: plan.nowMs, tokens: plan.tokens, micros: plan.micros, charges };
  return { ok: true, reservation, remaining, limits, standing };
}

/** One subject's remaining, limits and budget spend from its counters (rpm, tpm, day, month order). */
function standingOf(plan: AdmitPlan, s: SubjectPlan, c: Counters): SubjectStanding {
  const [rc, rp, tc, tp, d, m] = c;
  const out: SubjectStanding = { scope: s.scope, id: s.id, remaining: {}, limits: {}, spentUsd: {} };
  const put = (name: LimitName, left: number, limit: number): void => {
    out.remaining[name] = left;
    out.limits[name] = limit;
  };
  if (s.rpm >= 0) put('rpm', Math.max(0, Math.floor(s.rpm - (rc + rp * plan.weight))), s.rpm);
  if (s.tpm >= 0) put('tpm', Math.max(0, Math.floor(s.tpm - (tc + tp * plan.weight))), s.tpm);
  if (s.dayMicros >= 0) {
    put('usd_per_day', Math.max(0, s.dayMicros - d) / MICROS_PER_USD, s.dayMicros / MICROS_PER_USD);
    out.spentUsd.day = d / MICROS_PER_USD;
  }
  if (s.monthMicros >= 0) {
    put('usd_per_month', Math.max(0, s.monthMicros - m) / MICROS_PER_USD, s.monthMicros / MICROS_PER_USD);
    out.spentUsd.month = m / MICROS_PER_USD;
  }
  return out;
}

/** A denial before the subjects' standing is added to it. */
type Denial = Omit<Extract<Admission, { ok: false }>, 'standing'>;

const LIMIT_ORDER: Array<[bit: number, name: LimitName]> = [
  [FAIL_RPM, 'rpm'],
  [FAIL_TPM, 'tpm'],
  [FAIL_DAY, 'usd_per_day'],
  [FAIL_MONTH, 'usd_per_month'],
];

/**
 * Of all the limits the request exceeds, the one that frees up last is reported: retrying any
 * sooner would be denied again. Ties go to the first subject given, then rpm, tpm, day, month.
 */
function denial(plan: AdmitPlan, result: StoreResult): Denial {
  let best: Denial | undefined;
  plan.subjects.forEach((s, i) => {
    const r = result.subjects[i];
    if (!r || r.fail === 0) return;
    for (const [bit, name] of LIMIT_ORDER) {
      if ((r.fail & bit) === 0) continue;
      const candidate = denialFor(plan, s, r.counters, name);
      if (!best || candidate.retryAfterSeconds > best.retryAfterSeconds) best = candidate;
    }
  });
  if (!best) throw new Error('limits: store denied the request without naming a limit');
  return best;
}

function denialFor(plan: AdmitPlan, s: SubjectPlan, c: Counters, name: LimitName): Denial {
  const [rc, rp, tc, tp] = c;
  const who = `${s.scope} ${s.id}`;
  const deny = (retryAfterSeconds: number, message: string) => ({ ok: false, limit: name, scope: s.scope, id: s.id, retryAfterSeconds, message }) as const;
  switch (name) {
    case 'rpm':
      return deny(slidingRetryAfterSeconds(rc, rp, 1, s.rpm, plan.elapsedMs), `requests per minute limit of ${s.rpm} for ${who} reached`);
    case 'tpm':
      if (plan.tokens > s.tpm) {
        return deny(
          60,
          `request of ${plan.tokens} tokens (estimated, including max output tokens) alone exceeds the tokens per minute limit of ${s.tpm} for ${who}`,
        );
      }
      return deny(slidingRetryAfterSeconds(tc, tp, plan.tokens, s.tpm, plan.elapsedMs), `tokens per minute limit of ${s.tpm} for ${who} reached`);
    case 'usd_per_day':
      return deny(secondsUntil(nextUtcDay(plan.nowMs), plan.nowMs), `daily budget of ${formatUsd(s.dayMicros)} for ${who} reached`);
    case 'usd_per_month':
      return deny(secondsUntil(nextUtcMonth(plan.nowMs), plan.nowMs), `monthly budget of ${formatUsd(s.monthMicros)} for ${who} reached`);
  }
}

/**
 * Seconds until `cost` fits under `limit` again if nothing else is charged meanwhile: first the
 * previous window slides out of the current one; if the current window alone is already too full,
 * it has to become the previous window and slide out in turn. Between 1 and 60.
 */
export function slidingRetryAfterSeconds(cur: number, prev: number, cost: number, limit: number, elapsedMs: number): number {
  let waitMs: number;
  const room = limit - cur - cost; // what the previous window's weighted share may still be
  if (room >= 0) {
    // prev × (60 s − t) / 60 s ≤ room  ⇔  t ≥ 60 s × (1 − room / prev)
    waitMs = prev > 0 ? MINUTE_MS * (1 - room / prev) - elapsedMs : 0;
  } else if (cur > 0 && limit - cost >= 0) {
    // In the next window the current count is the previous one: cur × (60 s − t) / 60 s + cost ≤ limit.
    waitMs = MINUTE_MS - elapsedMs + MINUTE_MS * (1 - (limit - cost) / cur);
  } else {
    waitMs = MINUTE_MS;
  }
  // The epsilon keeps float noise (36000.000000001 ms) from adding a whole second.
  return Math.min(60, Math.max(1, Math.ceil(waitMs / 1000 - 1e-9)));
}

export function nextUtcDay(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

export function nextUtcMonth(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

function secondsUntil(atMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((atMs - nowMs) / 1000));
}

/** `$5`, `$0.25`, `$0.000125`: the budget as configured, without float noise. */
export function formatUsd(micros: number): string {
  return `$${Number((micros / MICROS_PER_USD).toFixed(6))}`;
}

/** The counters `reconcile` adjusts, with the delta for each (zero deltas left out). */
export function reconcileDeltas(r: Reservation, actual: Estimate): Array<{ key: string; field: string; delta: number }> {
  const tokens = nonNegative(actual.tokens, 'actual.tokens', Math.ceil);
  const micros = usdToMicros(actual.usd, 'actual.usd');
  const out: Array<{ key: string; field: string; delta: number }> = [];
  for (const charge of r.charges) {
    const delta = charge.unit === 'tokens' ? tokens - r.tokens : micros - r.micros;
    if (delta !== 0) out.push({ key: charge.key, field: charge.field, delta });
  }
  return out;
}

export function usdToMicros(usd: number, what: string): number {
  nonNegative(usd, what, (n) => n);
  return nonNegative(usd * MICROS_PER_USD, what, Math.round);
}

function limitOf(value: number | undefined, what: string): number {
  if (value === undefined) return NO_LIMIT;
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`limits: ${what} must be a non-negative number, got ${value}`);
  return value;
}

function nonNegative(value: number, what: string, round: (n: number) => number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`limits: ${what} must be a non-negative number, got ${String(value)}`);
  }
  const n = round(value);
  if (n > Number.MAX_SAFE_INTEGER) throw new RangeError(`limits: ${what} is too large (${value})`);
  return n;
}
