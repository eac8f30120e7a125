import type { Model } from '../catalog/load.js';
import type { PrincipalWithPolicy } from '../auth/principal.js';
import { costUsd } from '../metering/cost.js';
import type { TenantPolicy } from '../tenants/policy.js';
import type { Estimate, LimitName, LimitSubject } from './types.js';

/** Output tokens reserved when a request sets no max_tokens (capped by the model's own maximum). */
export const DEFAULT_RESERVED_OUTPUT_TOKENS = 4096;

/** The tenant's and the key's limits, each counted on its own. */
export function limitSubjects(principal: PrincipalWithPolicy, policy: TenantPolicy | undefined): LimitSubject[] {
  const out: LimitSubject[] = [];
  if (policy && Object.keys(policy.limits).length > 0) out.push({ scope: 'tenant', id: principal.tenant, policy: policy.limits });
  if (principal.limits && Object.keys(principal.limits).length > 0) out.push({ scope: 'key', id: principal.keyId, policy: principal.limits });
  return out;
}

/** The most answers one call may ask for (OpenAI's own cap on `n`). */
export const MAX_CHOICES = 128;

/**
 * Worst case for one call, reserved before it goes out and reconciled with the real usage after:
 * input ≈ body bytes / 4 (an over-estimate: JSON syntax counts too — no tokenizer on the hot
 * path) plus the most output the call may produce. The caller's numbers are clamped to what the
 * model can produce: a tiny or negative one must not shrink the reservation below one answer,
 * nor a huge one overflow the limiter's arithmetic.
 */
export function worstCase(
  bodyBytes: number,
  req: { max_tokens?: number | null; max_completion_tokens?: number | null; n?: number | null },
  model: Model,
): Estimate {
  const input = Math.ceil(bodyBytes / 4);
  const asked = req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_RESERVED_OUTPUT_TOKENS;
  const perChoice = clampInt(asked, 1, model.maxOutputTokens);
  const output = perChoice * clampInt(req.n ?? 1, 1, MAX_CHOICES);
  return { tokens: input + output, usd: costUsd({ inputTokens: input, outputTokens: output, cachedInputTokens: 0, reasoningTokens: 0 }, model.pricing) };
}

/** A whole number within [min, max]; anything not a finite number reads as max, the safe side. */
function clampInt(v: number, min: number, max: number): number {
  if (!Number.isFinite(v)) return max;
  return Math.min(max, Math.max(min, Math.ceil(v)));
}

/** Remaining quota as response headers, in the style providers use (`x-ratelimit-*`). */
export function quotaHeaders(remaining: Partial<Record<LimitName, number>>, limits: Partial<Record<LimitName, number>>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const pair = (name: LimitName, header: string) => {
    if (limits[name] === undefined || remaining[name] === undefined) return;
    out.push([`x-ratelimit-limit-${header}`, String(limits[name])], [`x-ratelimit-remaining-${header}`, String(remaining[name])]);
  };
  pair('rpm', 'requests');
  pair('tpm', 'tokens');
  pair('usd_per_day', 'usd-day');
  pair('usd_per_month', 'usd-month');
  return out;
}
