import { describe, expect, it } from 'vitest';
import { FAIL_DAY, FAIL_MONTH, FAIL_RPM, FAIL_TPM, failMask, formatUsd, nextUtcDay, nextUtcMonth, planAdmission, slidingRetryAfterSeconds } from './windows.js';

const T0 = Date.UTC(2025, 2, 15, 12, 0, 0); // a minute boundary

describe('sliding window retry-after', () => {
  it('waits for the previous window to slide out far enough', () => {
    // 5 in this window, 10 in the previous one, limit 10: room for 4 of the previous → 60 × 0.6 = 36 s into the window.
    expect(slidingRetryAfterSeconds(5, 10, 1, 10, 30_000)).toBe(6);
    expect(slidingRetryAfterSeconds(5, 10, 1, 10, 35_500)).toBe(1); // 0.5 s, rounded up to the 1 s minimum
  });

  it('waits into the next window when the current one alone is full', () => {
    // 10 in this window at 10 s: next window starts in 50 s, then 10 × (1 − t/60) + 1 ≤ 10 needs t ≥ 6 s.
    expect(slidingRetryAfterSeconds(10, 0, 1, 10, 10_000)).toBe(56);
    // Tokens: 9,000 used, 3,000 more wanted, limit 10,000 → 50 s + 60 × (1 − 7/9) = 63.3 s, capped at 60.
    expect(slidingRetryAfterSeconds(9_000, 0, 3_000, 10_000, 10_000)).toBe(60);
    expect(slidingRetryAfterSeconds(9_000, 0, 3_000, 10_000, 40_000)).toBe(34); // 20 + 13.3
  });

  it('stays within 1..60 for anything, including a limit of zero', () => {
    expect(slidingRetryAfterSeconds(0, 0, 1, 0, 0)).toBe(60);
    expect(slidingRetryAfterSeconds(0, 0, 20_000, 10_000, 59_999)).toBe(60);
    for (const [cur, prev, elapsed] of [
      [0, 10, 0],
      [10, 10, 59_999],
      [3, 100, 1],
      [100, 100, 30_000],
    ] as const) {
      const s = slidingRetryAfterSeconds(cur, prev, 1, 10, elapsed);
      expect(s).toBeGreaterThanOrEqual(1);
      expect(s).toBeLessThanOrEqual(60);
    }
  });
});

describe('calendar windows (UTC)', () => {
  it('finds the next day and month, across year ends and leap days', () => {
    expect(nextUtcDay(Date.UTC(2025, 2, 15, 22, 0))).toBe(Date.UTC(2025, 2, 16));
    expect(nextUtcDay(Date.UTC(2025, 11, 31, 23, 59, 59, 999))).toBe(Date.UTC(2026, 0, 1));
    expect(nextUtcDay(Date.UTC(2024, 1, 28, 5))).toBe(Date.UTC(2024, 1, 29));
    expect(nextUtcMonth(Date.UTC(2025, 2, 31, 23))).toBe(Date.UTC(2025, 3, 1));
    expect(nextUtcMonth(Date.UTC(2025, 11, 1))).toBe(Date.UTC(2026, 0, 1));
  });
});

describe('planAdmission', () => {
  it('builds prefixed keys from scope and id (escaped), per minute, day and month', () => {
    const plan = planAdmission(
      [
        { scope: 'tenant', id: 'acme:eu/1', policy: { rpm: 10, usdPerDay: 1.5, usdPerMonth: 20 } },
        { scope: 'key', id: 'k1', policy: { tpm: 1_000 } },
      ],
      { tokens: 10.2, usd: 0.07 },
      T0 + 15_000,
      'llmgw:rl:',
    );
    const minute = (T0 + 15_000 - 15_000) / 60_000;
    expect(plan.tokens).toBe(11);
    expect(plan.micros).toBe(70_000);
    expect(plan.elapsedMs).toBe(15_000);
    expect(plan.weight).toBe(0.75);
    expect(plan.subjects[0]).toMatchObject({
      minuteKey: `llmgw:rl:tenant:acme%3Aeu%2F1:m:${minute}`,
      prevMinuteKey: `llmgw:rl:tenant:acme%3Aeu%2F1:m:${minute - 1}`,
      dayKey: 'llmgw:rl:tenant:acme%3Aeu%2F1:d:20250315',
      monthKey: 'llmgw:rl:tenant:acme%3Aeu%2F1:mo:202503',
      rpm: 10,
      tpm: -1,
      dayMicros: 1_500_000,
      monthMicros: 20_000_000,
    });
    expect(plan.subjects[1]).toMatchObject({ minuteKey: `llmgw:rl:key:k1:m:${minute}`, rpm: -1, tpm: 1_000, dayMicros: -1, monthMicros: -1 });
  });

  it('leaves out subjects without limits, and refuses invalid input', () => {
    expect(planAdmission([{ scope: 'tenant', id: 'a', policy: {} }], { tokens: 1, usd: 0 }, T0, 'p:').subjects).toEqual([]);
    const ok = { scope: 'tenant' as const, id: 'a', policy: { rpm: 1 } };
    expect(() => planAdmission([ok, { ...ok, policy: { tpm: 5 } }], { tokens: 1, usd: 0 }, T0, 'p:')).toThrow(/twice/);
    expect(() => planAdmission([{ ...ok, id: '' }], { tokens: 1, usd: 0 }, T0, 'p:')).toThrow(RangeError);
    expect(() => planAdmission([{ ...ok, policy: { rpm: -1 } }], { tokens: 1, usd: 0 }, T0, 'p:')).toThrow(/rpm/);
    expect(() => planAdmission([{ ...ok, policy: { usdPerDay: Number.NaN } }], { tokens: 1, usd: 0 }, T0, 'p:')).toThrow(/usdPerDay/);
    expect(() => planAdmission([ok], { tokens: -5, usd: 0 }, T0, 'p:')).toThrow(/estimate.tokens/);
    expect(() => planAdmission([ok], { tokens: 5, usd: Number.POSITIVE_INFINITY }, T0, 'p:')).toThrow(/estimate.usd/);
  });
});

describe('failMask', () => {
  const [s] = planAdmission(
    [{ scope: 'tenant', id: 'a', policy: { rpm: 10, tpm: 1_000, usdPerDay: 1, usdPerMonth: 2 } }],
    { tokens: 0, usd: 0 },
    T0,
    'p:',
  ).subjects;

  it('weights the previous window and allows exactly up to the limit', () => {
    // 5 + 10 × 0.4 + 1 = 10 ≤ 10
    expect(failMask(s!, [5, 10, 0, 0, 0, 0], 0.4, 0, 0)).toBe(0);
    expect(failMask(s!, [5, 10, 0, 0, 0, 0], 0.5, 0, 0)).toBe(FAIL_RPM);
    expect(failMask(s!, [0, 0, 400, 1_000, 0, 0], 0.5, 100, 0)).toBe(0);
    expect(failMask(s!, [0, 0, 400, 1_000, 0, 0], 0.5, 101, 0)).toBe(FAIL_TPM);
    expect(failMask(s!, [0, 0, 0, 0, 0, 0], 1, 1_001, 0)).toBe(FAIL_TPM); // alone larger than the limit
    expect(failMask(s!, [0, 0, 0, 0, 700_000, 1_999_999], 1, 0, 300_000)).toBe(FAIL_MONTH);
    expect(failMask(s!, [10, 0, 1_000, 0, 1_000_000, 2_000_000], 0, 1, 1)).toBe(FAIL_RPM + FAIL_TPM + FAIL_DAY + FAIL_MONTH);
  });
});

describe('formatUsd', () => {
  it('prints budgets as configured', () => {
    expect(formatUsd(5_000_000)).toBe('$5');
    expect(formatUsd(250_000)).toBe('$0.25');
    expect(formatUsd(125)).toBe('$0.000125');
  });
});
