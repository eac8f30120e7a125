/**
 * Rate limits and budgets: the contract the request path calls.
 *
 * A request is admitted against every subject it belongs to (its tenant, its gateway key): each
 * subject's every configured limit is checked and, only if all pass, each is charged 1 request and
 * the request's worst-case estimate, in one atomic step. After the response, `reconcile` replaces
 * the estimate with what the request really used.
 */

/** A subject's limits; an absent field is unlimited (and its counter is not kept). */
export interface LimitPolicy {
  /** Requests per minute (sliding window). */
  rpm?: number;
  /** Tokens per minute (sliding window), input + output. */
  tpm?: number;
  /** USD per calendar day (UTC). */
  usdPerDay?: number;
  /** USD per calendar month (UTC). */
  usdPerMonth?: number;
}

export type LimitScope = 'tenant' | 'key';

export interface LimitSubject {
  scope: LimitScope;
  /** Tenant id or key id; it becomes part of the counter keys, so never pass a secret. */
  id: string;
  policy: LimitPolicy;
}

/** Worst case before the call (input estimate + max output tokens, and its cost); actual after it. */
export interface Estimate {
  tokens: number;
  usd: number;
}

export type LimitName = 'rpm' | 'tpm' | 'usd_per_day' | 'usd_per_month';

/** One counter a reservation charged: a minute window's tokens, or a day/month budget. */
export interface ReservedCharge {
  /** The counter key (prefixed with Redis). */
  readonly key: string;
  /** The hash field for minute windows (`t` = tokens); empty for budget counters. */
  readonly field: string;
  readonly unit: 'tokens' | 'micros';
}

/**
 * What `admit` charged, handed back to `reconcile`. Opaque to callers (its shape may change);
 * plain data, so it can be kept on the request's state. Only the token and USD charges are
 * recorded: the request count is final at admission.
 */
export interface Reservation {
  readonly limiter: 'memory' | 'redis';
  /** When the reservation was made (ms since the epoch, as passed to `admit`). */
  readonly atMs: number;
  /** Tokens charged to each tokens counter. */
  readonly tokens: number;
  /** Micro-dollars charged to each budget counter. */
  readonly micros: number;
  readonly charges: readonly ReservedCharge[];
}

/**
 * One subject's own figures as an admission saw them: after its charge when admitted, before it
 * when denied. Only the limits the subject has are present (USD for budgets).
 */
export interface SubjectStanding {
  scope: LimitScope;
  id: string;
  remaining: Partial<Record<LimitName, number>>;
  limits: Partial<Record<LimitName, number>>;
  /** Spend counted in the current UTC day / month, for the budgets the subject has. */
  spentUsd: { day?: number; month?: number };
}

export type Admission =
  | {
      ok: true;
      reservation: Reservation;
      /** Per limit, the tightest remaining across subjects after this reservation (USD for budgets). */
      remaining: Partial<Record<LimitName, number>>;
      /** Per limit, the limit of the subject whose remaining is reported. */
      limits: Partial<Record<LimitName, number>>;
      /** Each subject's own figures (the metrics read the tenant's). */
      standing: SubjectStanding[];
    }
  | {
      ok: false;
      standing: SubjectStanding[];
      limit: LimitName;
      scope: LimitScope;
      id: string;
      /** Whole seconds, at least 1. */
      retryAfterSeconds: number;
      /** Names the limit, e.g. "tokens per minute limit of 10000 for tenant acme reached". */
      message: string;
    };

export interface Limiter {
  readonly kind: 'memory' | 'redis';
  /**
   * Atomically checks every subject's every limit and, only if all pass, charges 1 request and the
   * estimate to all. Throws `LimiterUnavailable` when the backing store cannot be reached (the
   * caller decides between failing closed and open) and `RangeError` on invalid input.
   */
  admit(subjects: LimitSubject[], estimate: Estimate, nowMs?: number): Promise<Admission>;
  /**
   * After the response: replaces the reserved tokens/USD with the actual ones (the delta may be
   * negative), in the same windows that were charged. At most once per reservation (later calls
   * are no-ops; a call that reached Redis and timed out is not repeated, as it may have been
   * applied). A counter that has expired meanwhile is left alone; none goes below zero. Throws
   * `LimiterUnavailable` when the store cannot be reached (a call that was never sent can be retried).
   */
  reconcile(reservation: Reservation, actual: Estimate): Promise<void>;
  healthy(): boolean;
  close(): Promise<void>;
}

/** The limiter's store cannot be reached (Redis down, hung, or refusing the script). */
export class LimiterUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LimiterUnavailable';
  }
}
