import { GatewayError } from '../errors.js';
import type { LedgerRecord } from './record.js';

/*
 * A tenant's usage over a time range, grouped one way: the question `GET /v1/usage` and
 * `npm run usage` ask, answered alike from the local file and from PostgreSQL.
 */

export const GROUP_BY = ['day', 'model', 'provider', 'key'] as const;
export type GroupBy = (typeof GROUP_BY)[number];

export interface UsageQuery {
  tenant: string;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  groupBy: GroupBy;
}

/** One group's totals. */
export interface UsageBucket {
  /** The day (YYYY-MM-DD, UTC), model, provider or key id. */
  key: string;
  requests: number;
  /** Calls answered with a status of 400 or more. */
  errors: number;
  /** Calls whose exchange ended before the answer did. */
  aborted: number;
  cache_hits: number;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  reasoning_tokens: number;
  cost_usd: number;
  saved_usd: number;
}

export const BUCKET_TOTALS = [
  'requests',
  'errors',
  'aborted',
  'cache_hits',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'reasoning_tokens',
  'cost_usd',
  'saved_usd',
] as const satisfies ReadonlyArray<keyof UsageBucket>;

/** Ranges longer than this are refused (a year and a day). */
export const MAX_RANGE_DAYS = 366;
const DEFAULT_RANGE_DAYS = 30;
const DAY_MS = 86_400_000;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** The name each group's key goes by in answers. */
export function groupKeyName(g: GroupBy): 'day' | 'model' | 'provider' | 'key_id' {
  return g === 'key' ? 'key_id' : g;
}

/**
 * Reads `from`, `to` and `group_by` (a date, YYYY-MM-DD in UTC, or an RFC 3339 time). A date in
 * `to` counts its whole day. Defaults: `to` now, `from` 30 days before `to`, `group_by` day.
 * Throws a 400 naming the parameter.
 */
export function parseUsageParams(
  p: { from?: string | null; to?: string | null; group_by?: string | null },
  tenant: string,
  now = new Date(),
  paramNames: { from: string; to: string; group_by: string } = { from: 'from', to: 'to', group_by: 'group_by' },
): UsageQuery {
  const to = p.to ? parseInstant(p.to, paramNames.to, true) : now;
  const from = p.from ? parseInstant(p.from, paramNames.from, false) : new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS);
  if (from.getTime() >= to.getTime()) {
    throw new GatewayError('invalid_request', `${paramNames.from} must be before ${paramNames.to} (got ${from.toISOString()} and ${to.toISOString()}).`, {
      param: paramNames.from,
      code: 'invalid_range',
    });
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) {
    throw new GatewayError('invalid_request', `The range from ${paramNames.from} to ${paramNames.to} is longer than ${MAX_RANGE_DAYS} days: ask in parts.`, {
      param: paramNames.to,
      code: 'invalid_range',
    });
  }
  const g = p.group_by ?? 'day';
  if (!(GROUP_BY as readonly string[]).includes(g)) {
    throw new GatewayError('invalid_request', `${paramNames.group_by} must be one of ${GROUP_BY.join(', ')} (got ${JSON.stringify(g.slice(0, 40))}).`, {
      param: paramNames.group_by,
      code: 'invalid_parameter',
    });
  }
  return { tenant, from, to, groupBy: g as GroupBy };
}

function parseInstant(raw: string, param: string, endOfDay: boolean): Date {
  const bad = () =>
    new GatewayError(
      'invalid_request',
      `${param} must be a date (2025-06-01) or an RFC 3339 time (2025-06-01T12:00:00Z), got ${JSON.stringify(raw.slice(0, 40))}.`,
      {
        param,
        code: 'invalid_parameter',
      },
    );
  if (DATE.test(raw)) {
    const d = new Date(`${raw}T00:00:00Z`);
    // Date rolls 2025-02-30 over to March: a day that does not exist is refused.
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== raw) throw bad();
    return endOfDay ? new Date(d.getTime() + DAY_MS) : d;
  }
  if (!DATE_TIME.test(raw)) throw bad();
  const d = new Date(raw);
  if (Number.isNaN(d.getTime())) throw bad();
  return d;
}

/** The group a record falls in. */
export function groupKey(r: Pick<LedgerRecord, 'ts' | 'model' | 'provider' | 'key_id'>, g: GroupBy): string {
  switch (g) {
    case 'day':
      return r.ts.slice(0, 10);
    case 'model':
      return r.model;
    case 'provider':
      return r.provider;
    case 'key':
      return r.key_id;
  }
}

export function emptyBucket(key: string): UsageBucket {
  return {
    key,
    requests: 0,
    errors: 0,
    aborted: 0,
    cache_hits: 0,
    input_tokens: 0,
    output_tokens: 0,
    cached_input_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: 0,
    saved_usd: 0,
  };
}

/** Folds records into groups (the file's query; PostgreSQL does the same in SQL). */
export class UsageAccumulator {
  private readonly groups = new Map<string, UsageBucket>();

  constructor(private readonly q: UsageQuery) {}

  /** Whether the record belongs to the query: its tenant, within the range. */
  matches(r: Pick<LedgerRecord, 'tenant' | 'ts'>): boolean {
    if (r.tenant !== this.q.tenant) return false;
    const t = Date.parse(r.ts);
    return t >= this.q.from.getTime() && t < this.q.to.getTime();
  }

  add(r: LedgerRecord): void {
    const key = groupKey(r, this.q.groupBy);
    let b = this.groups.get(key);
    if (!b) this.groups.set(key, (b = emptyBucket(key)));
    b.requests++;
    if (r.status >= 400) b.errors++;
    if (r.aborted) b.aborted++;
    if (r.cache === 'hit') b.cache_hits++;
    b.input_tokens += r.input_tokens ?? 0;
    b.output_tokens += r.output_tokens ?? 0;
    b.cached_input_tokens += r.cached_input_tokens ?? 0;
    b.reasoning_tokens += r.reasoning_tokens ?? 0;
    b.cost_usd += r.cost_usd ?? 0;
    b.saved_usd += r.saved_usd ?? 0;
  }

  buckets(): UsageBucket[] {
    return sortBuckets([...this.groups.values()], this.q.groupBy);
  }
}

/** Days in order; models, providers and keys by cost, then by requests, then by name. */
export function sortBuckets(buckets: UsageBucket[], g: GroupBy): UsageBucket[] {
  const out = buckets.map((b) => ({ ...b, cost_usd: roundUsd(b.cost_usd), saved_usd: roundUsd(b.saved_usd) }));
  if (g === 'day') return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return out.sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function totalsOf(buckets: UsageBucket[]): Omit<UsageBucket, 'key'> {
  const t = emptyBucket('');
  for (const b of buckets) for (const k of BUCKET_TOTALS) t[k] += b[k];
  const { key: _key, ...rest } = t;
  return { ...rest, cost_usd: roundUsd(t.cost_usd), saved_usd: roundUsd(t.saved_usd) };
}

/** Sums of float prices carry noise in the last digits: 10 decimals are well below a cent's use. */
export function roundUsd(x: number): number {
  return Math.round(x * 1e10) / 1e10;
}

/** The answer's JSON: the query, each group's totals, and the totals of all. */
export function usageAnswer(q: UsageQuery, buckets: UsageBucket[]): Record<string, unknown> {
  const keyName = groupKeyName(q.groupBy);
  return {
    object: 'usage',
    tenant: q.tenant,
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    group_by: q.groupBy,
    data: buckets.map(({ key, ...totals }) => ({ [keyName]: key, ...totals })),
    totals: totalsOf(buckets),
  };
}
