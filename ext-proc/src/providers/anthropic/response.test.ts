import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { parseAnthropicResponse, renderAnthropicResponse, toolInputObject } from './response.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const ctx = { id: 'msg_gateway01', model: 'claude-caller-name', created: 1_700_000_000 };

describe('parseAnthropicResponse', () => {
  it('reads a text answer and its usage', () => {
    expect(parseAnthropicResponse(fixture('messages-response.json'))).toEqual({
      id: 'msg_013Zva2CMHLNnXjNJJKqJ2EF',
      model: 'claude-sonnet-4-5-20250929',
      content: [{ type: 'text', text: 'Hi! My name is Claude.' }],
      finishReason: 'stop',
      usage: { inputTokens: 2095, outputTokens: 503, cachedInputTokens: 0, reasoningTokens: 0 },
    });
  });

  it('reads tool_use blocks as tool calls with JSON text arguments; cache reads and writes count as input', () => {
    expect(parseAnthropicResponse(fixture('messages-response-tool-use.json'))).toEqual({
      id: 'msg_01Aq9w938a90dw8q',
      model: 'claude-sonnet-4-5-20250929',
      content: [
        { type: 'text', text: "I'll check the current weather in San Francisco for you." },
        { type: 'tool_call', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
      ],
      finishReason: 'tool_calls',
      usage: { inputTokens: 50 + 1500 + 20000, outputTokens: 12, cachedInputTokens: 20000, reasoningTokens: 0 },
    });
  });

  it('leaves thinking blocks out and reports thinking tokens as reasoning', () => {
    const out = parseAnthropicResponse(fixture('messages-response-thinking.json'));
    expect(out.content).toEqual([{ type: 'text', text: 'Yes, there are infinitely many such primes.' }]);
    expect(out.usage).toEqual({ inputTokens: 42, outputTokens: 310, cachedInputTokens: 0, reasoningTokens: 280 });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['refusal', 'content_filter'],
    ['pause_turn', 'stop'],
    [null, 'stop'],
  ])('stop_reason %s is %s', (stop_reason, finish) => {
    const body = { ...(fixture('messages-response.json') as object), stop_reason };
    expect(parseAnthropicResponse(body).finishReason).toBe(finish);
  });

  it('has no usage when the backend sent none', () => {
    const { usage: _ignored, ...body } = fixture('messages-response.json') as Record<string, unknown>;
    expect(parseAnthropicResponse(body).usage).toBeUndefined();
  });

  it.each([
    [null],
    ['text'],
    [{ type: 'error', error: { type: 'api_error', message: 'x' } }],
    [{ id: 'm', type: 'message', model: 'x' }],
    [{ id: 'm', model: 'x', content: [] }],
  ])('throws an upstream error for %j', (body) => {
    let err: unknown;
    try {
      parseAnthropicResponse(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).kind).toBe('upstream');
  });
});

describe('renderAnthropicResponse', () => {
  it('renders a Message with the caller-facing id and model, cached input split out', () => {
    const out = renderAnthropicResponse(
      {
        id: 'chatcmpl-backend',
        model: 'gpt-4o-2024-08-06',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_call', id: 'call_abc', name: 'get_weather', arguments: '{"city":"Paris"}' },
        ],
        finishReason: 'tool_calls',
        usage: { inputTokens: 120, outputTokens: 30, cachedInputTokens: 100, reasoningTokens: 0 },
      },
      ctx,
    );
    expect(out).toEqual({
      id: 'msg_gateway01',
      type: 'message',
      role: 'assistant',
      model: 'claude-caller-name',
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_abc', name: 'get_weather', input: { city: 'Paris' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 20, output_tokens: 30, cache_creation_input_tokens: 0, cache_read_input_tokens: 100 },
    });
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
    ['error', 'end_turn'],
  ] as const)('finish %s renders as %s', (finishReason, stop) => {
    expect(renderAnthropicResponse({ id: 'x', model: 'y', content: [], finishReason }, ctx).stop_reason).toBe(stop);
  });

  it('renders zero usage when the backend reported none', () => {
    expect(renderAnthropicResponse({ id: 'x', model: 'y', content: [], finishReason: 'stop' }, ctx).usage).toEqual({
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it('round-trips a backend Message through the canonical form', () => {
    const canonical = parseAnthropicResponse(fixture('messages-response-tool-use.json'));
    const rendered = renderAnthropicResponse(canonical, { ...ctx, id: canonical.id, model: canonical.model });
    expect(parseAnthropicResponse(rendered)).toEqual(canonical);
  });
});

describe('toolInputObject', () => {
  it('parses object arguments and renders anything else as the empty object', () => {
    expect(toolInputObject('{"a":[1,{"b":null}]}')).toEqual({ a: [1, { b: null }] });
    expect(toolInputObject('')).toEqual({});
    expect(toolInputObject('{"city": "Par')).toEqual({});
    expect(toolInputObject('[1]')).toEqual({});
    expect(toolInputObject('null')).toEqual({});
  });
});
