import { describe, expect, it } from 'vitest';
import { BIN_RATIO, LatencyWindow, MAX_BOUND_MS, binOf, latencyBounds, nearestRank } from './window.js';
import { mulberry32 } from '../util/mulberry32.js';

function exactQuantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[nearestRank(sorted.length, q) - 1]!;
}

const MAX_REL_ERROR = Math.sqrt(BIN_RATIO) - 1; // 4.4 %

describe('latencyBounds', () => {
  it('is log-spaced, ascending, and holds the exact threshold', () => {
    const b = latencyBounds([2000]);
    expect(b).toContain(2000);
    expect(b[0]).toBe(1);
    expect(b[b.length - 1]).toBeCloseTo(MAX_BOUND_MS, 6);
    for (let i = 1; i < b.length; i++) {
      expect(b[i]!).toBeGreaterThan(b[i - 1]!);
      expect(b[i]! / b[i - 1]!).toBeLessThanOrEqual(BIN_RATIO * (1 + 1e-12));
    }
  });

  it('does not leave a sliver bin when the threshold sits on a log bound', () => {
    const plain = latencyBounds();
    const withExact = latencyBounds([plain[8]!]);
    expect(withExact.length).toBe(plain.length);
  });
});

describe('binOf', () => {
  it("puts a value on a bound in that bound's bin and anything past the last bound in the open bin", () => {
    const b = Float64Array.from([1, 10, 100]);
    expect(binOf(b, 0)).toBe(0);
    expect(binOf(b, 1)).toBe(0);
    expect(binOf(b, 1.0001)).toBe(1);
    expect(binOf(b, 10)).toBe(1);
    expect(binOf(b, 100)).toBe(2);
    expect(binOf(b, 100.5)).toBe(3);
  });
});

describe('LatencyWindow quantile', () => {
  const distributions: Record<string, (r: () => number) => number> = {
    uniform: (r) => 50 + r() * 4950,
    exponential: (r) => -Math.log(1 - r()) * 800,
    lognormal: (r) => {
      const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      return Math.exp(Math.log(700) + 0.9 * z);
    },
    bimodal: (r) => (r() < 0.9 ? 200 + r() * 100 : 6000 + r() * 3000),
  };

  for (const [name, draw] of Object.entries(distributions)) {
    it(`estimates p50, p95 and p99 of a ${name} distribution within the documented bound`, () => {
      const r = mulberry32(42);
      const w = new LatencyWindow(latencyBounds([2000]), 2000, 60_000, 0);
      const values: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const v = draw(r);
        values.push(v);
        w.add(1000, v, true);
      }
      for (const q of [0.5, 0.95, 0.99]) {
        const est = w.quantile(1000, q)!;
        const exact = exactQuantile(values, q);
        expect(Math.abs(est / exact - 1)).toBeLessThanOrEqual(MAX_REL_ERROR + 1e-9);
      }
    });
  }

  it('ignores failed calls for latency and is undefined without ok calls', () => {
    const w = new LatencyWindow(latencyBounds([2000]), 2000, 60_000, 0);
    w.add(0, 50_000, false);
    expect(w.quantile(0, 0.95)).toBeUndefined();
    w.add(0, 100, true);
    expect(w.quantile(0, 0.95)).toBeGreaterThan(100 / Math.sqrt(BIN_RATIO) - 1e-9);
    expect(w.quantile(0, 0.95)).toBeLessThan(100 * Math.sqrt(BIN_RATIO));
    expect(w.counts(0)).toEqual({ total: 2, errors: 1, ok: 1, slow: 0 });
  });

  it('counts calls slower than the threshold exactly, a call on the threshold not being slow', () => {
    const w = new LatencyWindow(latencyBounds([2000]), 2000, 60_000, 0);
    for (const v of [1999.9, 2000, 2000.001, 2100, 50]) w.add(0, v, true);
    expect(w.slowCount(0)).toBe(2);
  });

  it('reports the edge bins by their bound', () => {
    const w = new LatencyWindow(latencyBounds(), 1e9, 60_000, 0);
    w.add(0, 0.2, true);
    expect(w.quantile(0, 0.5)).toBe(1);
    w.clear(0);
    w.add(0, 3 * MAX_BOUND_MS, true);
    expect(w.quantile(0, 0.5)).toBeCloseTo(MAX_BOUND_MS, 6);
  });

  it('counts NaN and negative latencies as fast calls rather than losing them', () => {
    const w = new LatencyWindow(latencyBounds(), 1000, 60_000, 0);
    w.add(0, Number.NaN, true);
    w.add(0, -5, true);
    expect(w.counts(0).ok).toBe(2);
    expect(w.quantile(0, 0.95)).toBe(1);
  });
});

describe('LatencyWindow sliding', () => {
  it('forgets samples older than the window, one bucket at a time', () => {
    const w = new LatencyWindow(latencyBounds([2000]), 2000, 60_000, 0);
    expect(w.bucketMs).toBe(1000);
    for (let i = 0; i < 10; i++) w.add(500, 5000, true); // bucket 0: slow
    for (let i = 0; i < 10; i++) w.add(30_500, 100, i < 8); // bucket 30
    expect(w.counts(59_999)).toEqual({ total: 20, errors: 2, ok: 18, slow: 10 });
    // At 60 s bucket 0 is reused for the current second: the slow calls are gone.
    expect(w.counts(60_000)).toEqual({ total: 10, errors: 2, ok: 8, slow: 0 });
    expect(w.quantile(60_000, 0.95)).toBeLessThan(110);
    expect(w.counts(89_999).total).toBe(10);
    expect(w.counts(90_000).total).toBe(0);
    expect(w.quantile(90_000, 0.95)).toBeUndefined();
  });

  it('clears everything after a gap longer than the window, and keeps counting correctly afterwards', () => {
    const w = new LatencyWindow(latencyBounds(), 1000, 10_000, 0);
    for (let i = 0; i < 5; i++) w.add(i * 1000, 3000, true);
    w.add(1_000_000, 10, true);
    expect(w.counts(1_000_000)).toEqual({ total: 1, errors: 0, ok: 1, slow: 0 });
    w.add(1_005_000, 10, false);
    expect(w.counts(1_009_999)).toEqual({ total: 2, errors: 1, ok: 1, slow: 0 });
    expect(w.counts(1_010_000)).toEqual({ total: 1, errors: 1, ok: 0, slow: 0 });
  });

  it('keeps a clock that steps back writing into the current bucket', () => {
    const w = new LatencyWindow(latencyBounds(), 1000, 10_000, 0);
    w.add(5_000, 10, true);
    w.add(2_000, 10, true);
    expect(w.counts(14_999).total).toBe(2);
    expect(w.counts(15_000).total).toBe(0);
  });

  it('uses at most 60 buckets for long windows', () => {
    const w = new LatencyWindow(latencyBounds(), 1000, 3_600_000, 0);
    expect(w.bucketMs).toBe(60_000);
    w.add(0, 10, true);
    expect(w.counts(3_599_999).total).toBe(1);
    expect(w.counts(3_600_000).total).toBe(0);
  });
});

describe('nearestRank', () => {
  it('is ceil(q·n) without floating-point drift', () => {
    expect(nearestRank(20, 0.95)).toBe(19);
    expect(nearestRank(100, 0.95)).toBe(95);
    expect(nearestRank(21, 0.95)).toBe(20);
    expect(nearestRank(1, 0.95)).toBe(1);
    expect(nearestRank(100, 0.07)).toBe(7); // 0.07 × 100 is 7.000000000000001 in floating point
  });
});
