import { describe, expect, it } from 'vitest';
import { hash32, hrwWeight } from './hrw.js';

const ENDPOINTS = ['10.0.0.1:8000', '10.0.0.2:8000', '10.0.0.3:8000'];

function winner(key: string, endpoints: string[]): string {
  let best = '';
  let weight = -1;
  for (const e of endpoints) {
    const w = hrwWeight(hash32(key), hash32(e));
    if (w > weight) {
      weight = w;
      best = e;
    }
  }
  return best;
}

describe('rendezvous hashing', () => {
  it('is deterministic', () => {
    expect(hash32('conversation-1')).toBe(hash32('conversation-1'));
    expect(hash32('a')).not.toBe(hash32('b'));
    expect(winner('k', ENDPOINTS)).toBe(winner('k', ENDPOINTS));
  });

  it('spreads keys roughly evenly', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const w = winner(`prefix-${i}`, ENDPOINTS);
      counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    for (const e of ENDPOINTS) {
      expect(counts.get(e)).toBeGreaterThan(800);
      expect(counts.get(e)).toBeLessThan(1200);
    }
  });

  it('moves only the keys of an endpoint that leaves', () => {
    const gone = ENDPOINTS[1]!;
    const rest = ENDPOINTS.filter((e) => e !== gone);
    let moved = 0;
    for (let i = 0; i < 1000; i++) {
      const before = winner(`k${i}`, ENDPOINTS);
      const after = winner(`k${i}`, rest);
      if (before !== gone) expect(after).toBe(before);
      else moved++;
    }
    expect(moved).toBeGreaterThan(0);
  });
});
