import type { Usage } from '../../metering/usage.js';

/*
 * Gemini's `usageMetadata`. Thinking tokens are billed as output but reported apart from
 * `candidatesTokenCount`, so output is their sum. `toolUsePromptTokenCount` (what built-in tools
 * such as Google Search fed back to the model) is billed as input and counted in it.
 */

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

export function fromGeminiUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== 'object' || Array.isArray(u)) return undefined;
  const o = u as Record<string, unknown>;
  const thoughts = num(o.thoughtsTokenCount);
  return {
    inputTokens: num(o.promptTokenCount) + num(o.toolUsePromptTokenCount),
    outputTokens: num(o.candidatesTokenCount) + thoughts,
    cachedInputTokens: num(o.cachedContentTokenCount),
    reasoningTokens: thoughts,
  };
}

export interface GeminiUsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount: number;
  totalTokenCount: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
}

export function toGeminiUsage(u: Usage): GeminiUsageMetadata {
  const out: GeminiUsageMetadata = {
    promptTokenCount: u.inputTokens,
    candidatesTokenCount: Math.max(0, u.outputTokens - u.reasoningTokens),
    totalTokenCount: u.inputTokens + u.outputTokens,
  };
  // Gemini leaves these out when there are none.
  if (u.cachedInputTokens > 0) out.cachedContentTokenCount = u.cachedInputTokens;
  if (u.reasoningTokens > 0) out.thoughtsTokenCount = u.reasoningTokens;
  return out;
}
