import type { Usage } from '../../metering/usage.js';

interface OpenAIUsage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: unknown } | null;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);

/** Maps OpenAI's `usage` object (chat completion or final stream chunk) to Usage. */
export function fromOpenAIUsage(u: unknown): Usage | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as OpenAIUsage;
  return {
    inputTokens: num(o.prompt_tokens),
    outputTokens: num(o.completion_tokens),
    cachedInputTokens: num(o.prompt_tokens_details?.cached_tokens),
    reasoningTokens: num(o.completion_tokens_details?.reasoning_tokens),
  };
}

/**
 * Usage in OpenAI's documented shape, for a caller of this format. Detail objects are always
 * present so SDK code reading `prompt_tokens_details.cached_tokens` finds a number.
 */
export function toOpenAIUsage(u: Usage): Record<string, unknown> {
  return {
    prompt_tokens: u.inputTokens,
    completion_tokens: u.outputTokens,
    total_tokens: u.inputTokens + u.outputTokens,
    prompt_tokens_details: { cached_tokens: u.cachedInputTokens },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}
