import type { Usage } from '../../metering/usage.js';

/** Anthropic's usage counters as found in a Message, `message_start.message.usage` or `message_delta.usage`. */
export interface AnthropicUsageCounters {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

/**
 * Reads the counters present in `u`; absent or null counters stay undefined so a stream can
 * overlay a later report on an earlier one (message_delta repeats only some of them).
 */
export function readAnthropicUsage(u: unknown): AnthropicUsageCounters | undefined {
  if (!u || typeof u !== 'object') return undefined;
  const o = u as Record<string, unknown>;
  const details = o.output_tokens_details as { thinking_tokens?: unknown } | null | undefined;
  const out: AnthropicUsageCounters = {};
  const set = <K extends keyof AnthropicUsageCounters>(key: K, v: AnthropicUsageCounters[K] | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  set('input_tokens', count(o.input_tokens));
  set('output_tokens', count(o.output_tokens));
  set('cache_read_input_tokens', count(o.cache_read_input_tokens));
  set('cache_creation_input_tokens', count(o.cache_creation_input_tokens));
  const thinking = count(details && typeof details === 'object' ? details.thinking_tokens : undefined);
  if (thinking !== undefined) out.output_tokens_details = { thinking_tokens: thinking };
  return out;
}

/** Later counters win, counter by counter: Anthropic reports cumulative totals, never increments. */
export function overlayAnthropicUsage(base: AnthropicUsageCounters | undefined, next: AnthropicUsageCounters | undefined): AnthropicUsageCounters | undefined {
  if (!next) return base;
  if (!base) return { ...next };
  return { ...base, ...next };
}

/**
 * Anthropic's `input_tokens` excludes prompt-cache reads and writes, so the gateway's total
 * input is the sum of the three; the cache reads are the cached part.
 */
export function fromAnthropicUsage(u: AnthropicUsageCounters): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  return {
    inputTokens: (u.input_tokens ?? 0) + cacheRead + (u.cache_creation_input_tokens ?? 0),
    outputTokens: u.output_tokens ?? 0,
    cachedInputTokens: cacheRead,
    reasoningTokens: u.output_tokens_details?.thinking_tokens ?? 0,
  };
}

/**
 * Usage for an Anthropic caller. Other formats do not report cache writes, so the whole
 * uncached remainder is `input_tokens` and `cache_creation_input_tokens` is 0.
 */
export function toAnthropicUsage(u: Usage): {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
} {
  const cached = Math.min(u.cachedInputTokens, u.inputTokens);
  return {
    input_tokens: u.inputTokens - cached,
    output_tokens: u.outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}
