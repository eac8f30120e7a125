import type { Pricing } from '../catalog/load.js';
import type { Usage } from './usage.js';

/** USD cost of one call: cached input at its own price where the catalog lists one. */
export function costUsd(usage: Usage, pricing: Pricing): number {
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const cachedPrice = pricing.cachedInputPerMTok ?? pricing.inputPerMTok;
  const usd = ((usage.inputTokens - cached) * pricing.inputPerMTok + cached * cachedPrice + usage.outputTokens * pricing.outputPerMTok) / 1e6;
  // Round to a tenth of a micro-dollar: enough for sums over millions of calls, no float noise.
  return Math.round(usd * 1e7) / 1e7;
}

/** Fixed-point text for headers and logs (no exponent notation for tiny costs). */
export function formatUsd(usd: number): string {
  return usd.toFixed(7).replace(/0+$/, '').replace(/\.$/, '.0');
}
