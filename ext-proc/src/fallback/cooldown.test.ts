import { describe, expect, it } from 'vitest';
import { Cooldowns, parseRetryAfter } from './cooldown.js';

describe('Cooldowns', () => {
  it('cools a backend for its retry-after, then lets it back', () => {
    const c = new Cooldowns();
    expect(c.refuse('a', '2', 1_000)).toBe(2);
    expect(c.cooling('a', 2_999)).toBe(true);
    expect(c.cooling('a', 3_000)).toBe(false);
    expect(c.cooling('b', 1_000)).toBe(false);
  });

  it('uses the default without retry-after, caps long waits, and never shortens a cooldown', () => {
    const c = new Cooldowns({ defaultSeconds: 5, maxSeconds: 60 });
    expect(c.refuse('a', undefined, 0)).toBe(5);
    expect(c.refuse('a', '3600', 0)).toBe(60);
    c.refuse('a', '1', 0);
    expect(c.cooling('a', 59_000)).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
