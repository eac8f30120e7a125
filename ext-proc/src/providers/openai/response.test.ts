import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { CanonicalResponse } from '../canonical/types.js';
import { argumentsText, parseChatCompletion, renderChatCompletion } from './response.js';

type Rec = Record<string, unknown>;

const fixture = (name: string): Rec => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Rec;

const completion = (message: Rec, finish_reason: unknown = 'stop', extra: Rec = {}): Rec => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', ...message }, logprobs: null, finish_reason }],
  ...extra,
});

const CTX = { id: 'chatcmpl-gw', model: 'caller-model', created: 1700000000 };

describe('parseChatCompletion', () => {
  it('reads the documented text completion with its usage details', () => {
    expect(parseChatCompletion(fixture('chat-response.json'))).toEqual({
      id: 'chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT',
      model: 'gpt-4o-mini-2024-07-18',
      content: [{ type: 'text', text: 'Hello! How can I assist you today?' }],
      finishReason: 'stop',
      usage: { inputTokens: 1900, outputTokens: 100, cachedInputTokens: 1024, reasoningTokens: 0 },
    });
  });

  it('reads parallel tool calls', () => {
    const res = parseChatCompletion(fixture('chat-response-tool-calls.json'));
    expect(res.finishReason).toBe('tool_calls');
    expect(res.content).toEqual([
      { type: 'tool_call', id: 'call_9bk0TiT1mp3mjXlBYG2GbJ0R', name: 'get_weather', arguments: '{"location":"Paris, France","unit":"celsius"}' },
      { type: 'tool_call', id: 'call_yOVpiDLLyUo1ZLqnlIIuJsMu', name: 'get_weather', arguments: '{"location":"Bogotá, Colombia","unit":"celsius"}' },
    ]);
    expect(res.usage?.inputTokens).toBe(68);
  });

  it('a refusal is the answer text', () => {
    const res = parseChatCompletion(fixture('chat-response-refusal.json'));
    expect(res.content).toEqual([{ type: 'text', text: "I'm sorry, I cannot assist with that request." }]);
    expect(res.usage).toEqual({ inputTokens: 81, outputTokens: 11, cachedInputTokens: 0, reasoningTokens: 0 });
  });

  it('text and tool calls together, text first', () => {
    const res = parseChatCompletion(
      completion({ content: 'Let me look.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] }, 'tool_calls'),
    );
    expect(res.content.map((p) => p.type)).toEqual(['text', 'tool_call']);
  });

  it('missing usage stays missing; empty content gives no parts', () => {
    const res = parseChatCompletion(completion({ content: '' }));
    expect(res.usage).toBeUndefined();
    expect('usage' in res).toBe(false);
    expect(res.content).toEqual([]);
    expect(parseChatCompletion(completion({ content: null })).content).toEqual([]);
  });

  it('finish reasons: documented ones map through, function_call is tool_calls, unknown is stop', () => {
    const f = (r: unknown) => parseChatCompletion(completion({ content: 'x' }, r)).finishReason;
    expect(f('stop')).toBe('stop');
    expect(f('length')).toBe('length');
    expect(f('content_filter')).toBe('content_filter');
    expect(f('function_call')).toBe('tool_calls');
    expect(f('error')).toBe('error');
    expect(f('eos')).toBe('stop');
    expect(f(null)).toBe('stop');
  });

  it('compatible-server quirks: stop beside tool calls, object or empty arguments, missing id, array content', () => {
    const res = parseChatCompletion(
      completion({
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
        tool_calls: [
          { type: 'function', function: { name: 'f', arguments: { city: 'Paris' } } },
          { id: '', type: 'function', function: { name: 'g', arguments: '' } },
          { id: 'bad', type: 'function', function: { arguments: '{}' } },
        ],
      }),
    );
    expect(res.finishReason).toBe('tool_calls');
    expect(res.content).toEqual([
      { type: 'text', text: 'ab' },
      { type: 'tool_call', id: 'call_0', name: 'f', arguments: '{"city":"Paris"}' },
      { type: 'tool_call', id: 'call_1', name: 'g', arguments: '{}' },
    ]);
    expect(argumentsText(undefined)).toBe('{}');
  });

  it('reads the first choice by index', () => {
    const body = completion({ content: 'zero' });
    (body.choices as Rec[]).unshift({ index: 1, message: { role: 'assistant', content: 'one' }, finish_reason: 'stop' });
    expect(parseChatCompletion(body).content).toEqual([{ type: 'text', text: 'zero' }]);
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['no choices', { id: 'x' }],
    ['empty choices', { choices: [] }],
    ['a choice without message', { choices: [{ index: 0, delta: {} }] }],
    ['an error body', { error: { message: 'nope' } }],
  ])('throws a 502 for %s', (_name, body) => {
    let err: unknown;
    try {
      parseChatCompletion(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(502);
  });
});

describe('renderChatCompletion', () => {
  it('renders a text answer in the documented shape with the caller-facing id, model and time', () => {
    const res: CanonicalResponse = {
      id: 'msg_backend',
      model: 'claude-x',
      content: [
        { type: 'text', text: 'Hello' },
        { type: 'text', text: ' there' },
      ],
      finishReason: 'length',
      usage: { inputTokens: 10, outputTokens: 2, cachedInputTokens: 4, reasoningTokens: 1 },
    };
    expect(renderChatCompletion(res, CTX)).toEqual({
      id: 'chatcmpl-gw',
      object: 'chat.completion',
      created: 1700000000,
      model: 'caller-model',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello there', refusal: null }, logprobs: null, finish_reason: 'length' }],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 2,
        total_tokens: 12,
        prompt_tokens_details: { cached_tokens: 4 },
        completion_tokens_details: { reasoning_tokens: 1 },
      },
    });
  });

  it('tool calls only: null content; no usage key without usage; an empty answer is an empty string', () => {
    const out = renderChatCompletion(
      { id: 'x', model: 'y', content: [{ type: 'tool_call', id: 'toolu_1', name: 'f', arguments: '{"a":1}' }], finishReason: 'tool_calls' },
      CTX,
    );
    const choice = (out.choices as Rec[])[0]!;
    expect(choice.message).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
    });
    expect(choice.finish_reason).toBe('tool_calls');
    expect('usage' in out).toBe(false);
    const empty = renderChatCompletion({ id: 'x', model: 'y', content: [], finishReason: 'stop' }, CTX);
    expect(((empty.choices as Rec[])[0]!.message as Rec).content).toBe('');
  });

  it('parse(render(x)) gives x back for the documented completions', () => {
    for (const name of ['chat-response.json', 'chat-response-tool-calls.json']) {
      const parsed = parseChatCompletion(fixture(name));
      const again = parseChatCompletion(renderChatCompletion(parsed, { id: parsed.id, model: parsed.model, created: 1 }));
      expect(again).toEqual(parsed);
    }
  });
});
