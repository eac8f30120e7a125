import { describe, expect, it } from 'vitest';
import { kvPenalty, learnCapacity, loadScore, QUEUE_WEIGHT } from './score.js';

describe('loadScore', () => {
  it('counts running requests up to the capacity, and queued ones QUEUE_WEIGHT times', () => {
    expect(loadScore(0, 0, 8)).toBe(0);
    expect(loadScore(4, 0, 8)).toBe(0.5);
    expect(loadScore(8, 0, 8)).toBe(1);
    expect(loadScore(8, 2, 8)).toBe((8 + 2 * QUEUE_WEIGHT) / 8);
    // Running beyond a confirmed capacity is a queue (requests this process sent since the last scrape).
    expect(loadScore(10, 0, 8)).toBe(loadScore(8, 2, 8));
  });

  it('a queue outweighs a fuller batch', () => {
    expect(loadScore(8, 1, 8)).toBeGreaterThan(loadScore(7, 0, 8) + 0.5);
  });

  it('compares endpoints of different sizes by the share of their slots', () => {
    expect(loadScore(4, 0, 16)).toBeLessThan(loadScore(2, 0, 4));
  });

  it('treats overflowing a guessed capacity as more running, not as a queue', () => {
    expect(loadScore(12, 0, 8, false)).toBe(1.5);
    expect(loadScore(12, 1, 8, false)).toBe((12 + QUEUE_WEIGHT) / 8);
  });

  it('survives a zero capacity', () => {
    expect(loadScore(1, 0, 0)).toBe(1);
  });
});

describe('kvPenalty', () => {
  it('is free up to the soft limit, then rises to 1 at a full cache', () => {
    expect(kvPenalty(undefined)).toBe(0);
    expect(kvPenalty(0.5)).toBe(0);
    expect(kvPenalty(0.8)).toBe(0);
    expect(kvPenalty(0.9)).toBeCloseTo(0.5);
    expect(kvPenalty(1)).toBe(1);
  });
});

describe('learnCapacity', () => {
  const guess = { slots: 8, confirmed: false, queued: false };

  it('grows with what is seen running', () => {
    expect(learnCapacity(guess, 12, 0)).toEqual({ slots: 12, confirmed: false, queued: false });
    expect(learnCapacity(guess, 3, 0)).toEqual(guess);
  });

  it('takes the running count as the capacity after two scrapes in a row with a queue', () => {
    const once = learnCapacity(guess, 4, 2);
    expect(once).toEqual({ slots: 8, confirmed: false, queued: true });
    expect(learnCapacity(once, 4, 1)).toEqual({ slots: 4, confirmed: true, queued: true });
  });

  it('a queue seen once, between two idle scrapes, changes nothing', () => {
    let c = learnCapacity(guess, 1, 1);
    c = learnCapacity(c, 2, 0);
    c = learnCapacity(c, 1, 1);
    expect(c.slots).toBe(8);
    expect(c.confirmed).toBe(false);
  });
});
