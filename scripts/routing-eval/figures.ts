/** Figures of a routing decision rule over held-out requests: accuracy, recall, cost. */
import type { Model } from '../../ext-proc/src/catalog/load.js';
import { languageGroup } from '../../ext-proc/src/classify/batches.js';
import { decideTier } from '../../ext-proc/src/classify/decide.js';
import type { TierDial } from '../../ext-proc/src/classify/decide.js';
import { COMPLEXITY_TIERS, DOMAINS } from '../../ext-proc/src/classify/types.js';
import type { Classification, ComplexityTier } from '../../ext-proc/src/classify/types.js';
import { costUsd } from '../../ext-proc/src/metering/cost.js';
import { tierIndex, tierProbabilities } from './lobo.js';
import type { Scored } from './lobo.js';

/** Assumed output tokens per request, by labelled tier (the answer's length belongs to the request). */
export const OUTPUT_TOKENS: Record<ComplexityTier, number> = { simple: 150, medium: 600, complex: 1500 };

export interface CostRouter {
  premium: Model;
  pick(tier: ComplexityTier, c: Classification, input: number, output: number): { model: Model; fallback: boolean };
}

export interface Figures {
  n: number;
  accuracy: number;
  confusion: number[][];
  recallComplex: number;
  /** Share of labelled-medium requests sent to complex. */
  mediumToComplex: number;
  /** Share of requests routed below their labelled tier. */
  under: number;
  domainAccuracy: number;
  costUsd: number;
  premiumUsd: number;
  /** With the labelled tiers (a perfect classifier). */
  oracleUsd: number;
}

/** What a request of these tokens costs on a model, at catalog prices (no cached input, no reasoning). */
export function requestCost(m: Model, input: number, output: number): number {
  return costUsd({ inputTokens: input, outputTokens: output, cachedInputTokens: 0, reasoningTokens: 0 }, m.pricing);
}

export function tierOf(s: Scored, temperature: number, dial: TierDial): ComplexityTier {
  const [simple, medium, complex] = tierProbabilities(s.tierLogits, temperature);
  return decideTier({ simple: simple!, medium: medium!, complex: complex! }, dial).tier;
}

export function figures(scored: readonly Scored[], temperature: number, dial: TierDial, router: CostRouter): Figures {
  const confusion = COMPLEXITY_TIERS.map(() => COMPLEXITY_TIERS.map(() => 0));
  let ok = 0;
  let domainOk = 0;
  let under = 0;
  let costSum = 0;
  let premium = 0;
  let oracle = 0;
  for (const s of scored) {
    const tier = tierOf(s, temperature, dial);
    const t = tierIndex(s.ex.tier);
    const p = tierIndex(tier);
    confusion[t]![p]!++;
    if (t === p) ok++;
    if (p < t) under++;
    if (DOMAINS[s.domainPred] === s.ex.domain) domainOk++;
    const c = { tier, domain: DOMAINS[s.domainPred]!, capabilities: s.capabilities, estimatedTokens: s.estimatedTokens, language: 'en' } as Classification;
    const out = OUTPUT_TOKENS[s.ex.tier];
    costSum += requestCost(router.pick(tier, c, s.estimatedTokens, out).model, s.estimatedTokens, out);
    oracle += requestCost(router.pick(s.ex.tier, c, s.estimatedTokens, out).model, s.estimatedTokens, out);
    premium += requestCost(router.premium, s.estimatedTokens, out);
  }
  const rowSum = (r: number[]) => r.reduce((a, b) => a + b, 0);
  const n = scored.length;
  return {
    n,
    accuracy: n ? ok / n : 0,
    confusion,
    recallComplex: rowSum(confusion[2]!) ? confusion[2]![2]! / rowSum(confusion[2]!) : 0,
    mediumToComplex: rowSum(confusion[1]!) ? confusion[1]![2]! / rowSum(confusion[1]!) : 0,
    under: n ? under / n : 0,
    domainAccuracy: n ? domainOk / n : 0,
    costUsd: costSum,
    premiumUsd: premium,
    oracleUsd: oracle,
  };
}

export function byGroup<K extends string>(scored: readonly Scored[], key: (s: Scored) => K): Map<K, Scored[]> {
  const m = new Map<K, Scored[]>();
  for (const s of scored) {
    const k = key(s);
    const list = m.get(k);
    if (list) list.push(s);
    else m.set(k, [s]);
  }
  return m;
}

export const byLanguage = (scored: readonly Scored[]) => byGroup(scored, (s) => languageGroup(s.ex.lang));
export const byBatch = (scored: readonly Scored[]) => byGroup(scored, (s) => s.batch);

export interface CurvePoint {
  threshold: number;
  recallComplex: number;
  accuracy: number;
  costUsd: number;
  /** Cost as a share of always-premium. */
  costShare: number;
}

/** The threshold swept from all-premium (0) to all-cheap (1), no uncertainty margin. */
export function costQualityCurve(scored: readonly Scored[], temperature: number, router: CostRouter, step = 0.01): CurvePoint[] {
  const out: CurvePoint[] = [];
  for (let i = 0; i * step <= 1 + 1e-9; i++) {
    const threshold = Number((i * step).toFixed(4));
    const f = figures(scored, temperature, { threshold, margin: 0 }, router);
    out.push({ threshold, recallComplex: f.recallComplex, accuracy: f.accuracy, costUsd: f.costUsd, costShare: f.premiumUsd ? f.costUsd / f.premiumUsd : 0 });
  }
  return out;
}

/** The cheapest point of the curve that keeps at least `recall` of complex requests premium. */
export function cheapestAtRecall(curve: readonly CurvePoint[], recall: number): CurvePoint | undefined {
  let best: CurvePoint | undefined;
  for (const p of curve) if (p.recallComplex >= recall && (!best || p.costUsd < best.costUsd)) best = p;
  return best;
}
