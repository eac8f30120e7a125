import { describe, expect, it } from 'vitest';
import { decideTier, describeDecision, PRESET_DIALS } from './decide.js';

const p = (simple: number, medium: number, complex: number) => ({ simple, medium, complex });

describe('decideTier', () => {
  it('sends a request up once the probability of the tier above reaches the threshold', () => {
    const dial = { threshold: 0.3, margin: 0 };
    expect(decideTier(p(0.4, 0.29, 0.31), dial).tier).toBe('complex');
    // medium + complex = 0.35 ≥ 0.3: at least medium, though simple is the most probable tier.
    expect(decideTier(p(0.65, 0.2, 0.15), dial).tier).toBe('medium');
    expect(decideTier(p(0.75, 0.15, 0.1), dial).tier).toBe('simple');
  });

  it('with a threshold of 0.5 and no margin is the most probable tier when one has a majority', () => {
    const dial = PRESET_DIALS.cost;
    expect(decideTier(p(0.6, 0.3, 0.1), dial).tier).toBe('simple');
    expect(decideTier(p(0.2, 0.6, 0.2), dial).tier).toBe('medium');
    expect(decideTier(p(0.1, 0.3, 0.6), dial).tier).toBe('complex');
  });

  it('an uncertain call goes up a tier, never down', () => {
    const dial = { threshold: 0.5, margin: 0.1 };
    const d = decideTier(p(0.05, 0.5, 0.45), dial);
    expect(d).toEqual({ tier: 'complex', byThreshold: 'medium', uncertain: true });
    expect(decideTier(p(0.05, 0.6, 0.35), dial).tier).toBe('medium');
    // A confident complex stays; nothing moves a request below its threshold tier.
    for (const x of [p(0, 0, 1), p(0.49, 0.02, 0.49), p(0.34, 0.33, 0.33)]) {
      const plain = decideTier(x, { threshold: 0.5, margin: 0 });
      const rank = (t: string) => ['simple', 'medium', 'complex'].indexOf(t);
      expect(rank(decideTier(x, dial).tier)).toBeGreaterThanOrEqual(rank(plain.tier));
    }
  });

  it('the presets are ordered: quality never routes below balanced, balanced never below cost', () => {
    const rank = (t: string) => ['simple', 'medium', 'complex'].indexOf(t);
    for (let a = 0; a <= 20; a++) {
      for (let b = 0; a + b <= 20; b++) {
        const x = p(a / 20, b / 20, (20 - a - b) / 20);
        const q = rank(decideTier(x, PRESET_DIALS.quality).tier);
        const bal = rank(decideTier(x, PRESET_DIALS.balanced).tier);
        const c = rank(decideTier(x, PRESET_DIALS.cost).tier);
        expect(q).toBeGreaterThanOrEqual(bal);
        expect(bal).toBeGreaterThanOrEqual(c);
      }
    }
  });

  it('describes the probabilities and the threshold for the route reason', () => {
    const x = p(0.12, 0.31, 0.57);
    const d = decideTier(x, PRESET_DIALS.balanced);
    expect(describeDecision(x, PRESET_DIALS.balanced, 'balanced', d)).toBe(`p=0.12/0.31/0.57 t=${PRESET_DIALS.balanced.threshold.toFixed(2)} balanced`);
  });
});
