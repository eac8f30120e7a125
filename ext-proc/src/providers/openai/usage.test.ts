import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromOpenAIUsage } from './usage.js';

const response = JSON.parse(readFileSync(new URL('./fixtures/chat-response.json', import.meta.url), 'utf8')) as { usage: unknown };

describe('fromOpenAIUsage', () => {
  it('maps a documented chat completion usage object, including token details', () => {
    expect(fromOpenAIUsage(response.usage)).toEqual({ inputTokens: 1900, outputTokens: 100, cachedInputTokens: 1024, reasoningTokens: 0 });
  });

  it('maps reasoning tokens', () => {
    expect(fromOpenAIUsage({ prompt_tokens: 10, completion_tokens: 500, total_tokens: 510, completion_tokens_details: { reasoning_tokens: 448 } })).toEqual({
      inputTokens: 10,
      outputTokens: 500,
      cachedInputTokens: 0,
      reasoningTokens: 448,
    });
  });

  it('missing or null details count as zero', () => {
    expect(fromOpenAIUsage({ prompt_tokens: 3, completion_tokens: 4, prompt_tokens_details: null, completion_tokens_details: null })).toEqual({
      inputTokens: 3,
      outputTokens: 4,
      cachedInputTokens: 0,
      reasoningTokens: 0,
    });
    expect(fromOpenAIUsage({})).toEqual({ inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 });
  });

  it('no usage at all is undefined', () => {
    for (const u of [undefined, null, 0, 'usage', true]) expect(fromOpenAIUsage(u)).toBeUndefined();
  });

  it('garbage counts (negative, NaN, strings, Infinity) become zero rather than poisoning the metrics', () => {
    expect(
      fromOpenAIUsage({
        prompt_tokens: -5,
        completion_tokens: '12',
        prompt_tokens_details: { cached_tokens: Number.NaN },
        completion_tokens_details: { reasoning_tokens: Number.POSITIVE_INFINITY },
      }),
    ).toEqual({ inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 });
  });
});
