/**
 * Agreement between the batches' labels and a second, independent labeller's (Cohen's kappa):
 * the ceiling a classifier can reach on these labels. Tier agreement is also given per boundary
 * (simple | medium+, simple+medium | complex), the two decisions routing makes.
 */
import type { LabelledExample } from '../../ext-proc/src/classify/train.js';

export interface Relabel {
  id: string;
  tier: string;
  domain: string;
  unsure?: boolean;
}

export function cohensKappa<T>(pairs: ReadonlyArray<readonly [T, T]>): { kappa: number; observed: number } {
  const n = pairs.length;
  if (n === 0) return { kappa: Number.NaN, observed: Number.NaN };
  const cats = new Set<T>();
  for (const [a, b] of pairs) {
    cats.add(a);
    cats.add(b);
  }
  const observed = pairs.filter(([a, b]) => a === b).length / n;
  let expected = 0;
  for (const c of cats) expected += (pairs.filter(([a]) => a === c).length / n) * (pairs.filter(([, b]) => b === c).length / n);
  return { kappa: expected === 1 ? 1 : (observed - expected) / (1 - expected), observed };
}

export interface Agreement {
  items: number;
  unsure: number;
  tier: { kappa: number; observed: number };
  simpleVsMediumUp: { kappa: number; observed: number };
  complexVsBelow: { kappa: number; observed: number };
  domain: { kappa: number; observed: number };
}

export function agreement(first: ReadonlyMap<string, LabelledExample>, second: readonly Relabel[]): Agreement {
  const pairs = second.map((r) => {
    const ex = first.get(r.id);
    if (!ex) throw new Error(`relabel: unknown id ${r.id}`);
    return { a: ex, b: r };
  });
  return {
    items: pairs.length,
    unsure: second.filter((r) => r.unsure).length,
    tier: cohensKappa(pairs.map(({ a, b }) => [a.tier, b.tier] as const)),
    simpleVsMediumUp: cohensKappa(pairs.map(({ a, b }) => [a.tier === 'simple', b.tier === 'simple'] as const)),
    complexVsBelow: cohensKappa(pairs.map(({ a, b }) => [a.tier === 'complex', b.tier === 'complex'] as const)),
    domain: cohensKappa(pairs.map(({ a, b }) => [a.domain, b.domain] as const)),
  };
}
