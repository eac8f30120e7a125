import { describe, expect, it } from 'vitest';
import type { Pricing } from '../catalog/load.js';
import { costUsd, formatUsd } from './cost.js';
import type { Usage } from './usage.js';

const usage = (inputTokens: number, outputTokens: number, cachedInputTokens = 0): Usage => ({
  inputTokens,
  outputTokens,
  cachedInputTokens,
  reasoningTokens: 0,
});

const GPT_4O_MINI: Pricing = { inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 };
const NO_CACHE_PRICE: Pricing = { inputPerMTok: 0.59, outputPerMTok: 0.79 };

describe('costUsd', () => {
  it('prices input and output per million tokens', () => {
    expect(costUsd(usage(1_000_000, 0), GPT_4O_MINI)).toBe(0.15);
    expect(costUsd(usage(0, 1_000_000), GPT_4O_MINI)).toBe(0.6);
    expect(costUsd(usage(1000, 500), GPT_4O_MINI)).toBe(0.00045); // 0.00015 + 0.0003
  });

  it('zero usage costs zero', () => {
    expect(costUsd(usage(0, 0), GPT_4O_MINI)).toBe(0);
  });

  it('cached tokens are priced at the cached price, the rest of the input at the input price', () => {
    // 1024 cached at 0.075, 876 uncached at 0.15, 100 output at 0.6
    const expected = (876 * 0.15 + 1024 * 0.075 + 100 * 0.6) / 1e6;
    expect(costUsd(usage(1900, 100, 1024), GPT_4O_MINI)).toBeCloseTo(expected, 10);
    expect(costUsd(usage(1_000_000, 0, 1_000_000), GPT_4O_MINI)).toBe(0.075);
  });

  it('without a cached price, cached tokens fall back to the input price', () => {
    expect(costUsd(usage(1_000_000, 0, 600_000), NO_CACHE_PRICE)).toBe(0.59);
    expect(costUsd(usage(1000, 0, 1000), NO_CACHE_PRICE)).toBe(costUsd(usage(1000, 0, 0), NO_CACHE_PRICE));
  });

  it('cached tokens above the input count are clamped (never a negative uncached part)', () => {
    expect(costUsd(usage(100, 0, 500), GPT_4O_MINI)).toBe(costUsd(usage(100, 0, 100), GPT_4O_MINI));
  });

  it('rounds to a tenth of a micro-dollar without float noise', () => {
    expect(costUsd(usage(10, 3), GPT_4O_MINI)).toBe(0.0000033); // 1.5e-6 + 1.8e-6, exactly 3.3e-6 (no 3.3000000000000003e-6)
    expect(costUsd(usage(1, 0), { inputPerMTok: 0.123, outputPerMTok: 0 })).toBe(0.0000001); // 1.23e-7 rounds down
    expect(costUsd(usage(1, 0), { inputPerMTok: 0.17, outputPerMTok: 0 })).toBe(0.0000002); // 1.7e-7 rounds up
    expect(costUsd(usage(1, 0), { inputPerMTok: 0.04, outputPerMTok: 0 })).toBe(0); // 4e-8 rounds away
    expect(costUsd(usage(3, 0), { inputPerMTok: 0.1, outputPerMTok: 0 })).toBe(0.0000003);
    for (let n = 1; n < 2000; n += 37) {
      const v = costUsd(usage(n, n), GPT_4O_MINI);
      expect(Math.abs(v * 1e7 - Math.round(v * 1e7))).toBeLessThan(1e-6);
    }
  });

  it('handles large calls (a 1M-token context)', () => {
    expect(costUsd(usage(1_047_576, 32_768, 0), { inputPerMTok: 2, outputPerMTok: 8, cachedInputPerMTok: 0.5 })).toBe(2.357296);
  });
});

describe('formatUsd', () => {
  it('prints fixed-point with trailing zeros trimmed', () => {
    expect(formatUsd(0.00045)).toBe('0.00045');
    expect(formatUsd(0.15)).toBe('0.15');
    expect(formatUsd(2.357296)).toBe('2.357296');
    expect(formatUsd(12)).toBe('12.0');
    expect(formatUsd(0)).toBe('0.0');
  });

  it('never uses exponent notation, even for tiny and large costs', () => {
    expect(String(0.0000001)).toBe('1e-7'); // what naive String() would give
    expect(formatUsd(0.0000001)).toBe('0.0000001');
    expect(formatUsd(0.0000029)).toBe('0.0000029');
    expect(formatUsd(1e-9)).toBe('0.0');
    expect(formatUsd(123456789.5)).toBe('123456789.5');
    for (let e = -7; e <= 9; e++) {
      const s = formatUsd(3 * 10 ** e);
      expect(s, String(e)).toMatch(/^\d+\.\d+$/);
      expect(s).not.toMatch(/e/i);
    }
  });

  it('keeps at most 7 decimals', () => {
    expect(formatUsd(0.123456789)).toBe('0.1234568');
  });

  it('round-trips costUsd values', () => {
    for (const v of [0.0000003, 0.00045, 0.000285, 1.5, 2.357296]) expect(Number(formatUsd(v))).toBe(v);
  });
});
