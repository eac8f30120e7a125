import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { CanonicalResponse } from '../canonical/types.js';
import { fromGeminiFinish, toGeminiFinish } from './finish.js';
import { parseGeminiResponse, renderGeminiResponse } from './response.js';
import { fromGeminiUsage, toGeminiUsage } from './usage.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const ctx = { id: 'resp-1', model: 'gemini-via-gateway', created: 1_700_000_000 };

describe('parseGeminiResponse', () => {
  it('a text answer with thinking tokens (documented example)', () => {
    expect(parseGeminiResponse(fixture('response-text.json'))).toEqual({
      id: 'kEBOaNmGGKqdqtsP_JzhqAo',
      model: 'gemini-2.5-flash',
      content: [{ type: 'text', text: 'AI learns patterns from data to make predictions or decisions.' }],
      finishReason: 'stop',
      usage: { inputTokens: 8, outputTokens: 12 + 395, cachedInputTokens: 0, reasoningTokens: 395 },
    });
  });

  it('a function call: STOP becomes tool_calls, the id is synthesised, args become JSON text', () => {
    expect(parseGeminiResponse(fixture('response-function-call.json'))).toEqual({
      id: 'BtVRaO2pM8ucqtsP7dK_uAc',
      model: 'gemini-2.5-flash',
      content: [
        {
          type: 'tool_call',
          id: 'call_0',
          name: 'schedule_meeting',
          arguments: '{"attendees":["Bob","Alice"],"date":"2025-03-27","time":"10:00","topic":"Q3 planning"}',
        },
      ],
      finishReason: 'tool_calls',
      usage: { inputTokens: 113, outputTokens: 117, cachedInputTokens: 64, reasoningTokens: 80 },
    });
  });

  it('skips thought parts and empty text, numbers parallel calls, keeps a given call id', () => {
    const res = parseGeminiResponse({
      candidates: [
        {
          content: {
            role: 'model',
            parts: [
              { text: 'Let me think', thought: true },
              { text: '' },
              { text: 'Sure.' },
              { functionCall: { name: 'a', args: { x: 1 } } },
              { functionCall: { name: 'b', id: 'fc-9' } },
              { functionCall: { name: 'c' } },
            ],
          },
          finishReason: 'STOP',
        },
      ],
      modelVersion: 'models/gemini-2.5-pro',
    });
    expect(res.content).toEqual([
      { type: 'text', text: 'Sure.' },
      { type: 'tool_call', id: 'call_0', name: 'a', arguments: '{"x":1}' },
      { type: 'tool_call', id: 'fc-9', name: 'b', arguments: '{}' },
      { type: 'tool_call', id: 'call_2', name: 'c', arguments: '{}' },
    ]);
    expect(res.model).toBe('gemini-2.5-pro');
    expect(res.id).toBe('');
    expect(res.usage).toBeUndefined();
  });

  it('a blocked prompt has no candidates: content_filter, usage still read', () => {
    const res = parseGeminiResponse({ promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } });
    expect(res).toMatchObject({ content: [], finishReason: 'content_filter', usage: { inputTokens: 7, outputTokens: 0 } });
  });

  it('MAX_TOKENS and SAFETY', () => {
    const one = (finishReason: string) => parseGeminiResponse({ candidates: [{ content: { parts: [{ text: 'a' }] }, finishReason }] }).finishReason;
    expect(one('MAX_TOKENS')).toBe('length');
    expect(one('SAFETY')).toBe('content_filter');
    expect(one('OTHER')).toBe('stop');
  });

  it.each([null, 'text', [], { foo: 1 }])('throws on something that is not a GenerateContentResponse (%j)', (body) => {
    expect(() => parseGeminiResponse(body)).toThrow(GatewayError);
  });
});

describe('renderGeminiResponse', () => {
  const res = (extra: Partial<CanonicalResponse> = {}): CanonicalResponse => ({
    id: 'x',
    model: 'claude',
    content: [{ type: 'text', text: 'Hi!' }],
    finishReason: 'stop',
    ...extra,
  });

  it('renders the documented shape with the caller-facing model and id', () => {
    const out = renderGeminiResponse(res({ usage: { inputTokens: 10, outputTokens: 5, cachedInputTokens: 0, reasoningTokens: 0 } }), ctx);
    expect(JSON.stringify(out)).toBe(
      JSON.stringify({
        candidates: [{ content: { parts: [{ text: 'Hi!' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
        modelVersion: 'gemini-via-gateway',
        responseId: 'resp-1',
      }),
    );
  });

  it('tool calls become functionCall parts with their ids; tool_calls finishes as STOP', () => {
    const out = renderGeminiResponse(
      res({
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_call', id: 'toolu_01', name: 'get_weather', arguments: '{"city":"Paris"}' },
        ],
        finishReason: 'tool_calls',
      }),
      ctx,
    );
    expect(out.candidates).toEqual([
      {
        content: { parts: [{ text: 'Let me check.' }, { functionCall: { id: 'toolu_01', name: 'get_weather', args: { city: 'Paris' } } }], role: 'model' },
        finishReason: 'STOP',
        index: 0,
      },
    ]);
  });

  it('a call whose arguments are not an object is left out and finishes as MALFORMED_FUNCTION_CALL (unless cut by length)', () => {
    const call = { type: 'tool_call' as const, id: 'c', name: 'f', arguments: '{"city":"Par' };
    const out = renderGeminiResponse(res({ content: [call], finishReason: 'tool_calls' }), ctx);
    expect(out.candidates).toEqual([{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'MALFORMED_FUNCTION_CALL', index: 0 }]);
    const cut = renderGeminiResponse(res({ content: [call], finishReason: 'length' }), ctx);
    expect((cut.candidates as Array<{ finishReason: string }>)[0]!.finishReason).toBe('MAX_TOKENS');
  });

  it('reasoning and cached tokens', () => {
    const out = renderGeminiResponse(res({ usage: { inputTokens: 100, outputTokens: 50, cachedInputTokens: 40, reasoningTokens: 30 } }), ctx);
    expect(out.usageMetadata).toEqual({
      promptTokenCount: 100,
      candidatesTokenCount: 20,
      totalTokenCount: 150,
      cachedContentTokenCount: 40,
      thoughtsTokenCount: 30,
    });
  });

  it('an empty answer is one empty text part; a filtered one has no content', () => {
    expect(renderGeminiResponse(res({ content: [] }), ctx).candidates).toEqual([
      { content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 },
    ]);
    expect(renderGeminiResponse(res({ content: [], finishReason: 'content_filter' }), ctx).candidates).toEqual([{ finishReason: 'SAFETY', index: 0 }]);
    expect(renderGeminiResponse(res({ finishReason: 'error' }), ctx).candidates).toMatchObject([{ finishReason: 'OTHER' }]);
    expect(renderGeminiResponse(res(), ctx)).not.toHaveProperty('usageMetadata');
  });

  it('parse(render(x)) keeps content, finish and usage', () => {
    const original = res({
      content: [
        { type: 'text', text: 'a' },
        { type: 'tool_call', id: 'call_0', name: 'f', arguments: '{"k":[1,{"z":null}]}' },
      ],
      finishReason: 'tool_calls',
      usage: { inputTokens: 3, outputTokens: 9, cachedInputTokens: 1, reasoningTokens: 4 },
    });
    const back = parseGeminiResponse(renderGeminiResponse(original, ctx));
    expect(back).toEqual({ ...original, id: 'resp-1', model: 'gemini-via-gateway' });
  });
});

describe('usage and finish mappings', () => {
  it('fromGeminiUsage: thoughts count as output, tool-use prompt tokens as input, junk as 0', () => {
    expect(
      fromGeminiUsage({
        promptTokenCount: 10,
        candidatesTokenCount: 5,
        thoughtsTokenCount: 7,
        cachedContentTokenCount: 4,
        toolUsePromptTokenCount: 3,
        totalTokenCount: 25,
      }),
    ).toEqual({
      inputTokens: 13,
      outputTokens: 12,
      cachedInputTokens: 4,
      reasoningTokens: 7,
    });
    expect(fromGeminiUsage({ promptTokenCount: -1, candidatesTokenCount: 'x' })).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      reasoningTokens: 0,
    });
    expect(fromGeminiUsage(undefined)).toBeUndefined();
    expect(fromGeminiUsage([1])).toBeUndefined();
  });

  it('toGeminiUsage leaves zero cache and thought counts out', () => {
    expect(toGeminiUsage({ inputTokens: 1, outputTokens: 2, cachedInputTokens: 0, reasoningTokens: 0 })).toEqual({
      promptTokenCount: 1,
      candidatesTokenCount: 2,
      totalTokenCount: 3,
    });
  });

  it.each([
    ['STOP', false, 'stop'],
    ['STOP', true, 'tool_calls'],
    ['MAX_TOKENS', true, 'length'],
    ['SAFETY', false, 'content_filter'],
    ['RECITATION', false, 'content_filter'],
    ['BLOCKLIST', false, 'content_filter'],
    ['PROHIBITED_CONTENT', false, 'content_filter'],
    ['SPII', false, 'content_filter'],
    ['OTHER', true, 'stop'],
    ['MALFORMED_FUNCTION_CALL', false, 'stop'],
    ['FINISH_REASON_UNSPECIFIED', false, 'stop'],
  ] as const)('fromGeminiFinish(%s, called functions: %s) → %s', (reason, called, expected) => {
    expect(fromGeminiFinish(reason, called)).toBe(expected);
  });

  it.each([
    ['stop', 'STOP'],
    ['tool_calls', 'STOP'],
    ['length', 'MAX_TOKENS'],
    ['content_filter', 'SAFETY'],
    ['error', 'OTHER'],
  ] as const)('toGeminiFinish(%s) → %s', (reason, expected) => {
    expect(toGeminiFinish(reason)).toBe(expected);
  });
});
