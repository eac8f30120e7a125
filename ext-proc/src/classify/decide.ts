/**
 * The tier a request is routed at, from the classifier's calibrated tier probabilities and the
 * routing policy's cost–quality dial.
 *
 * Under-serving a hard request costs more than over-paying for a medium one, so the decision is
 * not the most probable tier: a request goes to `complex` once P(complex) reaches the threshold,
 * else to at least `medium` once P(medium) + P(complex) reaches it, else to `simple`. A threshold
 * under 0.5 leans to quality; 0.5 and above to cost. Then an uncertain call goes up: when the
 * tier above the chosen one is within `margin` of it in probability, the tier above is taken.
 * Nothing ever moves a request down.
 */
import { COMPLEXITY_TIERS } from './types.js';
import type { ComplexityTier } from './types.js';

export interface TierDial {
  /** Probability at which a request is sent up to a tier (cumulative from the top). */
  threshold: number;
  /** A tier above the chosen one within this much probability wins. */
  margin: number;
}

export const QUALITY_BIAS_PRESETS = ['quality', 'balanced', 'cost'] as const;
export type QualityBias = (typeof QUALITY_BIAS_PRESETS)[number];

/**
 * The presets, read off the leave-one-batch-out cost–quality curve (models/classifier/README.md):
 * `quality` is the threshold that kept 99 % of held-out `complex` requests on the premium tier,
 * `balanced` 95 %, `cost` the plain most-probable tier.
 */
export const PRESET_DIALS: Record<QualityBias, TierDial> = {
  quality: { threshold: 0.02, margin: 0.1 },
  balanced: { threshold: 0.13, margin: 0.05 },
  cost: { threshold: 0.5, margin: 0 },
};

export const DEFAULT_QUALITY_BIAS: QualityBias = 'balanced';

export interface TierDecision {
  tier: ComplexityTier;
  /** The tier the threshold gave, before the uncertainty step (for the route reason). */
  byThreshold: ComplexityTier;
  uncertain: boolean;
}

export function decideTier(p: Readonly<Record<ComplexityTier, number>>, dial: TierDial): TierDecision {
  const atLeastMedium = p.medium + p.complex;
  let k = p.complex >= dial.threshold ? 2 : atLeastMedium >= dial.threshold ? 1 : 0;
  const byThreshold = COMPLEXITY_TIERS[k]!;
  let uncertain = false;
  if (k < 2) {
    const here = p[COMPLEXITY_TIERS[k]!];
    const above = p[COMPLEXITY_TIERS[k + 1]!];
    if (above >= here - dial.margin) {
      k++;
      uncertain = true;
    }
  }
  return { tier: COMPLEXITY_TIERS[k]!, byThreshold, uncertain };
}

/** `p=0.12/0.31/0.57 t=0.27 balanced` and `+uncertain` when it went up: for x-gateway-route-reason. */
export function describeDecision(p: Readonly<Record<ComplexityTier, number>>, dial: TierDial, name: string, d: TierDecision): string {
  const probs = COMPLEXITY_TIERS.map((t) => p[t].toFixed(2)).join('/');
  return `p=${probs} t=${dial.threshold.toFixed(2)} ${name}${d.uncertain ? ' +uncertain' : ''}`;
}
