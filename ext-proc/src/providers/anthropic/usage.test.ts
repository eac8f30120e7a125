import { describe, expect, it } from 'vitest';
import { fromAnthropicUsage, overlayAnthropicUsage, readAnthropicUsage, toAnthropicUsage } from './usage.js';

describe('Anthropic usage', () => {
  it('sums uncached input, cache reads and cache writes into input; cache reads are the cached part', () => {
    expect(
      fromAnthropicUsage(readAnthropicUsage({ input_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 7 })!),
    ).toEqual({
      inputTokens: 125,
      outputTokens: 7,
      cachedInputTokens: 100,
      reasoningTokens: 0,
    });
  });

  it('treats null and missing counters as absent', () => {
    expect(readAnthropicUsage({ input_tokens: null, output_tokens: 3, cache_read_input_tokens: null, output_tokens_details: null })).toEqual({
      output_tokens: 3,
    });
    expect(readAnthropicUsage(undefined)).toBeUndefined();
    expect(readAnthropicUsage('12')).toBeUndefined();
    expect(fromAnthropicUsage({})).toEqual({ inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 });
  });

  it('overlays later counters on earlier ones, counter by counter', () => {
    const start = readAnthropicUsage({ input_tokens: 25, cache_read_input_tokens: 10, output_tokens: 1 });
    const delta = readAnthropicUsage({ output_tokens: 15, output_tokens_details: { thinking_tokens: 4 } });
    expect(overlayAnthropicUsage(start, delta)).toEqual({
      input_tokens: 25,
      cache_read_input_tokens: 10,
      output_tokens: 15,
      output_tokens_details: { thinking_tokens: 4 },
    });
    expect(overlayAnthropicUsage(undefined, delta)).toEqual(delta);
    expect(overlayAnthropicUsage(start, undefined)).toBe(start);
  });

  it('renders usage for a caller with cached input split out of input_tokens', () => {
    expect(toAnthropicUsage({ inputTokens: 120, outputTokens: 9, cachedInputTokens: 100, reasoningTokens: 3 })).toEqual({
      input_tokens: 20,
      output_tokens: 9,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 100,
    });
  });

  it('never renders negative input when a backend reports more cached than total input', () => {
    expect(toAnthropicUsage({ inputTokens: 10, outputTokens: 1, cachedInputTokens: 50, reasoningTokens: 0 })).toMatchObject({
      input_tokens: 0,
      cache_read_input_tokens: 10,
    });
  });
});
