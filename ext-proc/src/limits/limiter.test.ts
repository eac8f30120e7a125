/**
 * One behavioural suite, run against the in-process limiter and the Redis limiter (real
 * redis-server): both must decide alike. Times are injected, so window boundaries are exact.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { createMemoryLimiter } from './memory.js';
import { createRedisLimiter } from './redis.js';
import type { Admission, Estimate, Limiter, LimitPolicy, LimitSubject, Reservation } from './types.js';

const T0 = Date.UTC(2025, 2, 15, 12, 0, 0); // a minute boundary
const MIN = 60_000;
const silent = pino({ level: 'silent' });

let redis: RedisServerHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function until(cond: () => boolean, timeoutMs: number): Promise<void> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const implementations: Array<[string, () => Promise<Limiter>]> = [
  ['memory', async () => createMemoryLimiter()],
  [
    'redis',
    async () => {
      const limiter = createRedisLimiter({ url: redis.url, log: silent });
      await until(() => limiter.healthy(), 3_000);
      return limiter;
    },
  ],
];

type Denied = Extract<Admission, { ok: false }>;
type Admitted = Extract<Admission, { ok: true }>;

function admitted(a: Admission): Admitted {
  if (!a.ok) throw new Error(`expected admission, got denial: ${a.message}`);
  return a;
}
function denied(a: Admission): Denied {
  if (a.ok) throw new Error(`expected a denial, got admission (remaining ${JSON.stringify(a.remaining)})`);
  return a;
}

const uid = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
const tenant = (id: string, policy: LimitPolicy): LimitSubject => ({ scope: 'tenant', id, policy });
const key = (id: string, policy: LimitPolicy): LimitSubject => ({ scope: 'key', id, policy });
const est = (tokens: number, usd = 0): Estimate => ({ tokens, usd });

describe.each(implementations)('%s limiter', (kind, make) => {
  let limiter: Limiter;
  beforeAll(async () => {
    limiter = await make();
  });
  afterAll(async () => {
    await limiter?.close();
  });

  it('reports its kind and health', () => {
    expect(limiter.kind).toBe(kind);
    expect(limiter.healthy()).toBe(true);
  });

  it('rpm: admits N, then denies naming the limit, with a retry-after until enough of the window slides out', async () => {
    const id = uid('acme');
    const subjects = [tenant(id, { rpm: 10 })];
    const at = T0 + 10_000;
    for (let i = 0; i < 10; i++) {
      const a = admitted(await limiter.admit(subjects, est(0), at));
      expect(a.remaining).toEqual({ rpm: 9 - i });
      expect(a.limits).toEqual({ rpm: 10 });
    }
    const d = denied(await limiter.admit(subjects, est(0), at));
    expect(d).toMatchObject({ limit: 'rpm', scope: 'tenant', id });
    expect(d.message).toBe(`requests per minute limit of 10 for tenant ${id} reached`);
    // 10 in this window at 10 s: in the next window (50 s away) 10 × (1 − t/60) + 1 ≤ 10 at t = 6 s.
    expect(d.retryAfterSeconds).toBe(56);
    expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(d.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('rpm: the previous window counts by the fraction of it still inside the last 60 s', async () => {
    const subjects = [tenant(uid('slide'), { rpm: 10 })];
    for (let i = 0; i < 10; i++) admitted(await limiter.admit(subjects, est(0), T0));
    denied(await limiter.admit(subjects, est(0), T0 + 59_999));

    // Halfway through the next window the previous 10 weigh 5: 5 more fit.
    const half = T0 + MIN + 30_000;
    for (let i = 0; i < 5; i++) expect(admitted(await limiter.admit(subjects, est(0), half)).remaining.rpm).toBe(4 - i);
    const d = denied(await limiter.admit(subjects, est(0), half));
    // 5 + 10 × w + 1 ≤ 10 needs w ≤ 0.4, i.e. 36 s into the window: 6 s from now.
    expect(d.retryAfterSeconds).toBe(6);
    denied(await limiter.admit(subjects, est(0), T0 + MIN + 35_999));
    admitted(await limiter.admit(subjects, est(0), T0 + MIN + 36_000));
    denied(await limiter.admit(subjects, est(0), T0 + MIN + 36_000));

    // Two windows on: the previous window holds 6; at 30 s they weigh 3, so 7 fit.
    for (let i = 0; i < 7; i++) admitted(await limiter.admit(subjects, est(0), T0 + 2 * MIN + 30_000));
    denied(await limiter.admit(subjects, est(0), T0 + 2 * MIN + 30_000));

    // Once a whole window has passed with nothing in it, the full limit is back.
    for (let i = 0; i < 10; i++) admitted(await limiter.admit(subjects, est(0), T0 + 4 * MIN));
    denied(await limiter.admit(subjects, est(0), T0 + 4 * MIN));
  });

  it('tpm: charges estimates, and reconcile to a smaller actual makes room', async () => {
    const id = uid('tok');
    const subjects = [tenant(id, { tpm: 10_000 })];
    const at = T0 + 5_000;
    const reservations: Reservation[] = [];
    for (const left of [7_000, 4_000, 1_000]) {
      const a = admitted(await limiter.admit(subjects, est(3_000), at));
      expect(a.remaining).toEqual({ tpm: left });
      expect(a.limits).toEqual({ tpm: 10_000 });
      reservations.push(a.reservation);
    }
    const d = denied(await limiter.admit(subjects, est(3_000), at));
    expect(d).toMatchObject({ limit: 'tpm', scope: 'tenant', id });
    expect(d.message).toBe(`tokens per minute limit of 10000 for tenant ${id} reached`);
    expect(d.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(d.retryAfterSeconds).toBeLessThanOrEqual(60);

    for (const r of reservations) await limiter.reconcile(r, est(500));
    // 1,500 used: two more of 3,000 fit, the third does not.
    expect(admitted(await limiter.admit(subjects, est(3_000), at)).remaining.tpm).toBe(5_500);
    expect(admitted(await limiter.admit(subjects, est(3_000), at)).remaining.tpm).toBe(2_500);
    denied(await limiter.admit(subjects, est(3_000), at));

    // Reconciling the same reservation again changes nothing (it would otherwise free 3,000 more).
    await limiter.reconcile(reservations[0]!, est(0));
    expect(admitted(await limiter.admit(subjects, est(2_500), at)).remaining.tpm).toBe(0);
    denied(await limiter.admit(subjects, est(1), at));
  });

  it('tpm: an actual larger than the estimate is charged too', async () => {
    const subjects = [tenant(uid('over'), { tpm: 10_000 })];
    const a = admitted(await limiter.admit(subjects, est(1_000), T0));
    await limiter.reconcile(a.reservation, est(9_500));
    denied(await limiter.admit(subjects, est(1_000), T0 + 1_000));
    expect(admitted(await limiter.admit(subjects, est(500), T0 + 1_000)).remaining.tpm).toBe(0);
  });

  it('tpm: a request whose estimate alone exceeds the limit is denied for good, and charges nothing', async () => {
    const id = uid('big');
    const subjects = [tenant(id, { tpm: 10_000 })];
    const d = denied(await limiter.admit(subjects, est(12_000), T0));
    expect(d).toMatchObject({ limit: 'tpm', scope: 'tenant', id, retryAfterSeconds: 60 });
    expect(d.message).toMatch(/request of 12000 tokens .* alone exceeds the tokens per minute limit of 10000 for tenant/);
    expect(admitted(await limiter.admit(subjects, est(10_000), T0)).remaining.tpm).toBe(0);
  });

  it('budgets: per UTC day and month, retry-after until the next day or month, rollover', async () => {
    const id = uid('budget');
    const subjects = [tenant(id, { usdPerDay: 1, usdPerMonth: 2 })];
    const day1 = Date.UTC(2025, 2, 29, 22, 0, 0);
    const r: Reservation[] = [];
    for (const [day, month] of [
      [0.7, 1.7],
      [0.4, 1.4],
      [0.1, 1.1],
    ]) {
      const a = admitted(await limiter.admit(subjects, est(100, 0.3), day1));
      expect(a.remaining.usd_per_day).toBeCloseTo(day!, 9);
      expect(a.remaining.usd_per_month).toBeCloseTo(month!, 9);
      expect(a.limits).toEqual({ usd_per_day: 1, usd_per_month: 2 });
      r.push(a.reservation);
    }
    const d = denied(await limiter.admit(subjects, est(100, 0.3), day1));
    expect(d).toMatchObject({ limit: 'usd_per_day', scope: 'tenant', id, retryAfterSeconds: 2 * 3600 });
    expect(d.message).toBe(`daily budget of $1 for tenant ${id} reached`);

    // The first call really cost $0.05: $0.25 back, so one more $0.30 fits today.
    await limiter.reconcile(r[0]!, est(100, 0.05));
    expect(admitted(await limiter.admit(subjects, est(100, 0.3), day1)).remaining.usd_per_day).toBeCloseTo(0.05, 9);

    // Next day: the day budget is fresh, the month keeps counting ($0.95 so far).
    const day2 = Date.UTC(2025, 2, 30, 0, 0, 1);
    for (let i = 0; i < 3; i++) admitted(await limiter.admit(subjects, est(100, 0.3), day2));
    // Both budgets are exceeded now ($1.20 > $1, $2.15 > $2): the month frees up later, so it is the one reported.
    const both = denied(await limiter.admit(subjects, est(100, 0.3), day2));
    expect(both).toMatchObject({ limit: 'usd_per_month', retryAfterSeconds: 2 * 86_400 - 1 });
    expect(both.message).toBe(`monthly budget of $2 for tenant ${id} reached`);

    const day3 = Date.UTC(2025, 2, 31, 0, 0, 0);
    expect(denied(await limiter.admit(subjects, est(100, 0.3), day3))).toMatchObject({ limit: 'usd_per_month', retryAfterSeconds: 86_400 });
    // A new month.
    const a = admitted(await limiter.admit(subjects, est(100, 0.3), Date.UTC(2025, 3, 1, 0, 0, 0)));
    expect(a.remaining.usd_per_month).toBeCloseTo(1.7, 9);
  });

  it('tenant and key together: the key limit names the key, the tenant limit is shared by its keys', async () => {
    const acme = uid('acme');
    const [k1, k2] = [uid('k1'), uid('k2')];
    const t = tenant(acme, { rpm: 5 });
    for (let i = 0; i < 3; i++) admitted(await limiter.admit([t, key(k1, { rpm: 3 })], est(10), T0));
    const byKey = denied(await limiter.admit([t, key(k1, { rpm: 3 })], est(10), T0));
    expect(byKey).toMatchObject({ limit: 'rpm', scope: 'key', id: k1 });
    expect(byKey.message).toBe(`requests per minute limit of 3 for key ${k1} reached`);

    // The denial charged nothing: the tenant has 3 of 5, so k2 gets 2.
    const first = admitted(await limiter.admit([t, key(k2, { rpm: 3 })], est(10), T0));
    expect(first.remaining).toEqual({ rpm: 1 }); // tenant 5 − 4 is tighter than key 3 − 1
    expect(first.limits).toEqual({ rpm: 5 });
    admitted(await limiter.admit([t, key(k2, { rpm: 3 })], est(10), T0));
    const byTenant = denied(await limiter.admit([t, key(k2, { rpm: 3 })], est(10), T0));
    expect(byTenant).toMatchObject({ limit: 'rpm', scope: 'tenant', id: acme });
  });

  it('reports the remaining of each limit from the subject where it is tightest', async () => {
    const a = admitted(
      await limiter.admit(
        [tenant(uid('t'), { rpm: 100, tpm: 50_000, usdPerDay: 10 }), key(uid('k'), { rpm: 10, tpm: 100_000, usdPerMonth: 3 })],
        est(1_000, 0.5),
        T0,
      ),
    );
    expect(a.remaining).toEqual({ rpm: 9, tpm: 49_000, usd_per_day: 9.5, usd_per_month: 2.5 });
    expect(a.limits).toEqual({ rpm: 10, tpm: 50_000, usd_per_day: 10, usd_per_month: 3 });
  });

  it('with several limits exceeded, reports the one that frees up last', async () => {
    const t = tenant(uid('t'), { usdPerDay: 1 });
    const k = key(uid('k'), { rpm: 1 });
    const at = Date.UTC(2025, 5, 10, 18, 0, 0);
    admitted(await limiter.admit([k, t], est(10, 1), at));
    const d = denied(await limiter.admit([k, t], est(10, 0.01), at));
    expect(d).toMatchObject({ limit: 'usd_per_day', scope: 'tenant', retryAfterSeconds: 6 * 3600 });
  });

  it('admits without subjects or limits, and such a reservation reconciles to nothing', async () => {
    const a = admitted(await limiter.admit([], est(1_000, 1), T0));
    expect(a.remaining).toEqual({});
    const b = admitted(await limiter.admit([tenant(uid('free'), {})], est(1_000, 1), T0));
    expect(b.reservation.charges).toEqual([]);
    await limiter.reconcile(b.reservation, est(5, 0.1));
  });

  it('a limit of zero admits nothing', async () => {
    const d = denied(await limiter.admit([tenant(uid('zero'), { rpm: 0 })], est(0), T0));
    expect(d).toMatchObject({ limit: 'rpm', retryAfterSeconds: 60 });
  });

  it('refuses invalid input with a RangeError, not LimiterUnavailable', async () => {
    await expect(limiter.admit([tenant('x', { tpm: -1 })], est(1), T0)).rejects.toThrow(RangeError);
    await expect(limiter.admit([tenant('x', { tpm: 10 })], est(Number.NaN), T0)).rejects.toThrow(RangeError);
    const a = admitted(await limiter.admit([tenant(uid('v'), { tpm: 10 })], est(1), T0));
    await expect(limiter.reconcile(a.reservation, est(-1))).rejects.toThrow(RangeError);
  });
});

describe('memory limiter housekeeping', () => {
  let limiter: ReturnType<typeof createMemoryLimiter> | undefined;
  afterEach(async () => {
    await limiter?.close();
  });

  it('drops counters of windows that can no longer count', async () => {
    limiter = createMemoryLimiter();
    for (let i = 0; i < 50; i++) {
      admitted(await limiter.admit([tenant(`t${i}`, { rpm: 10, tpm: 1_000, usdPerDay: 1, usdPerMonth: 10 })], est(10, 0.01), T0));
    }
    expect(limiter.size()).toBe(50 * 4); // r, t, day, month
    admitted(await limiter.admit([tenant('later', { rpm: 10 })], est(0), T0 + 3 * MIN));
    expect(limiter.size()).toBe(50 * 2 + 1); // minute windows gone, budgets kept
    admitted(await limiter.admit([tenant('later', { rpm: 10 })], est(0), T0 + 40 * 86_400_000));
    expect(limiter.size()).toBe(1);
  });

  it('is unusable after close', async () => {
    limiter = createMemoryLimiter();
    await limiter.close();
    expect(limiter.healthy()).toBe(false);
    await expect(limiter.admit([tenant('t', { rpm: 1 })], est(0), T0)).rejects.toThrow(/closed/);
  });
});
