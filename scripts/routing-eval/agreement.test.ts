import { describe, expect, it } from 'vitest';
import { agreement, cohensKappa } from './agreement.js';
import type { LabelledExample } from '../../ext-proc/src/classify/train.js';

describe("Cohen's kappa", () => {
  it('is 1 for perfect agreement, 0 for agreement at chance, negative below it', () => {
    expect(
      cohensKappa([
        ['a', 'a'],
        ['b', 'b'],
        ['a', 'a'],
        ['b', 'b'],
      ]).kappa,
    ).toBe(1);
    // Each labeller says a/b half the time, independently: observed 0.5 = expected 0.5.
    expect(
      cohensKappa([
        ['a', 'a'],
        ['a', 'b'],
        ['b', 'a'],
        ['b', 'b'],
      ]).kappa,
    ).toBe(0);
    expect(
      cohensKappa([
        ['a', 'b'],
        ['b', 'a'],
      ]).kappa,
    ).toBe(-1);
  });

  it('matches a textbook case', () => {
    // 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 → po 0.7, pe 0.5, kappa 0.4.
    const pairs = [
      ...Array.from({ length: 20 }, () => ['y', 'y'] as const),
      ...Array.from({ length: 5 }, () => ['y', 'n'] as const),
      ...Array.from({ length: 10 }, () => ['n', 'y'] as const),
      ...Array.from({ length: 15 }, () => ['n', 'n'] as const),
    ];
    const k = cohensKappa(pairs);
    expect(k.observed).toBeCloseTo(0.7, 10);
    expect(k.kappa).toBeCloseTo(0.4, 10);
  });

  it('reports the tier boundaries and refuses ids the first labels do not have', () => {
    const ex = (id: string, tier: LabelledExample['tier']) => ({ id, lang: 'en', messages: [], tier, domain: 'general' }) as unknown as LabelledExample;
    const first = new Map([ex('1', 'simple'), ex('2', 'medium'), ex('3', 'complex'), ex('4', 'medium')].map((e) => [e.id, e]));
    const a = agreement(first, [
      { id: '1', tier: 'simple', domain: 'general' },
      { id: '2', tier: 'complex', domain: 'general' },
      { id: '3', tier: 'complex', domain: 'code' },
      { id: '4', tier: 'medium', domain: 'general', unsure: true },
    ]);
    expect(a.simpleVsMediumUp.kappa).toBe(1);
    expect(a.complexVsBelow.observed).toBe(0.75);
    expect(a.unsure).toBe(1);
    expect(() => agreement(first, [{ id: 'x', tier: 'simple', domain: 'general' }])).toThrow(/unknown id x/);
  });
});
