import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { CanonicalResponse } from '../canonical/types.js';
import { parseOllamaResponse, renderOllamaResponse } from './response.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const ctx = { id: 'chatcmpl-123', model: 'caller-model', created: 1_700_000_000 };
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cachedInputTokens: 0, reasoningTokens: 0 });

describe('parseOllamaResponse', () => {
  it('the documented non-stream answer', () => {
    const res = parseOllamaResponse(fixture('chat-response.json'));
    expect(res.id).toMatch(/^ollama-[0-9a-f]{24}$/);
    expect(res).toEqual({
      id: res.id,
      model: 'llama3.2',
      content: [{ type: 'text', text: 'Hello! How are you today?' }],
      finishReason: 'stop',
      usage: usage(26, 298),
    });
  });

  it('ids differ between answers', () => {
    expect(parseOllamaResponse(fixture('chat-response.json')).id).not.toBe(parseOllamaResponse(fixture('chat-response.json')).id);
  });

  it('the documented tool call answer: done_reason stop with tool_calls is tool_calls, ids call_<n>, arguments as JSON text', () => {
    const res = parseOllamaResponse(fixture('chat-response-tools.json'));
    expect(res.content).toEqual([{ type: 'tool_call', id: 'call_0', name: 'get_current_weather', arguments: '{"format":"celsius","location":"Paris, FR"}' }]);
    expect(res.finishReason).toBe('tool_calls');
    expect(res.usage).toEqual(usage(122, 33));
  });

  it('text and several calls keep their order; arguments missing or null are {}', () => {
    const res = parseOllamaResponse({
      model: 'qwen3',
      message: {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [{ function: { name: 'a', arguments: { x: 1 } } }, { function: { name: 'b' } }, { function: { name: 'c', arguments: null } }],
      },
      done: true,
      done_reason: 'stop',
    });
    expect(res.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_call', id: 'call_0', name: 'a', arguments: '{"x":1}' },
      { type: 'tool_call', id: 'call_1', name: 'b', arguments: '{}' },
      { type: 'tool_call', id: 'call_2', name: 'c', arguments: '{}' },
    ]);
  });

  it.each([
    ['length', false, 'length'],
    ['length', true, 'length'],
    ['stop', false, 'stop'],
    ['load', false, 'stop'],
    ['unload', false, 'stop'],
    ['something_new', false, 'stop'],
    [undefined, false, 'stop'],
    [undefined, true, 'tool_calls'],
  ] as const)('done_reason %s (tool calls: %s) → %s', (doneReason, withCalls, expected) => {
    const res = parseOllamaResponse({
      model: 'm',
      message: { role: 'assistant', content: 'x', ...(withCalls ? { tool_calls: [{ function: { name: 'f', arguments: {} } }] } : {}) },
      done: true,
      ...(doneReason ? { done_reason: doneReason } : {}),
    });
    expect(res.finishReason).toBe(expected);
  });

  it('usage: missing counts are 0 (Ollama omits zeros); no counts at all is no usage', () => {
    const msg = { role: 'assistant', content: 'x' };
    expect(parseOllamaResponse({ model: 'm', message: msg, done: true, eval_count: 5 }).usage).toEqual(usage(0, 5));
    expect(parseOllamaResponse({ model: 'm', message: msg, done: true, prompt_eval_count: 9 }).usage).toEqual(usage(9, 0));
    expect(parseOllamaResponse({ model: 'm', message: msg, done: true }).usage).toBeUndefined();
  });

  it('thinking is dropped; an empty answer has no parts', () => {
    const res = parseOllamaResponse({ model: 'm', message: { role: 'assistant', content: '', thinking: 'hmm' }, done: true, done_reason: 'load' });
    expect(res.content).toEqual([]);
  });

  it.each([
    ['not an object', 'hello'],
    ['null', null],
    ['an error body', { error: 'model "x" not found, try pulling it first' }],
    ['no message', { model: 'm', done: true }],
    ['content not a string', { model: 'm', message: { content: 5 } }],
    ['tool call without name', { model: 'm', message: { content: '', tool_calls: [{ function: {} }] } }],
  ])('%s is a 502', (_name, body) => {
    let err: unknown;
    try {
      parseOllamaResponse(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(502);
  });
});

describe('renderOllamaResponse', () => {
  const res = (extra: Partial<CanonicalResponse> = {}): CanonicalResponse => ({
    id: 'x',
    model: 'backend-model',
    content: [{ type: 'text', text: 'Hello! How are you today?' }],
    finishReason: 'stop',
    usage: usage(26, 298),
    ...extra,
  });

  it('the Ollama answer shape, with the caller-facing model and creation time', () => {
    expect(renderOllamaResponse(res(), ctx)).toEqual({
      model: 'caller-model',
      created_at: '2023-11-14T22:13:20.000Z',
      message: { role: 'assistant', content: 'Hello! How are you today?' },
      done_reason: 'stop',
      done: true,
      total_duration: 0,
      load_duration: 0,
      prompt_eval_count: 26,
      prompt_eval_duration: 0,
      eval_count: 298,
      eval_duration: 0,
    });
  });

  it('tool calls with object arguments, done_reason stop; text parts are concatenated', () => {
    const out = renderOllamaResponse(
      res({
        content: [
          { type: 'text', text: 'Checking ' },
          { type: 'text', text: 'now.' },
          { type: 'tool_call', id: 'toolu_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { type: 'tool_call', id: 'toolu_2', name: 'noop', arguments: '' },
        ],
        finishReason: 'tool_calls',
      }),
      ctx,
    );
    expect(out.message).toEqual({
      role: 'assistant',
      content: 'Checking now.',
      tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris' } } }, { function: { name: 'noop', arguments: {} } }],
    });
    expect(out.done_reason).toBe('stop');
  });

  it.each([
    ['length', 'length'],
    ['content_filter', 'content_filter'],
    ['error', 'error'],
  ] as const)('finish %s → done_reason %s', (finishReason, doneReason) => {
    expect(renderOllamaResponse(res({ finishReason }), ctx).done_reason).toBe(doneReason);
  });

  it('unknown usage leaves the counts out', () => {
    const out = renderOllamaResponse(res({ usage: undefined }), ctx);
    expect('prompt_eval_count' in out).toBe(false);
    expect('eval_count' in out).toBe(false);
    expect(out.done).toBe(true);
  });

  it('arguments that are not a JSON object are a 502, not invented arguments', () => {
    expect(() => renderOllamaResponse(res({ content: [{ type: 'tool_call', id: 'a', name: 'f', arguments: '{"city": "Par' }] }), ctx)).toThrow(GatewayError);
  });

  it('render then parse gives the answer back', () => {
    const original = res({
      content: [
        { type: 'text', text: 'Sure.' },
        { type: 'tool_call', id: 'call_0', name: 'f', arguments: '{"a":[1,2]}' },
      ],
      finishReason: 'tool_calls',
    });
    const back = parseOllamaResponse(renderOllamaResponse(original, ctx));
    expect({ ...back, id: 'x' }).toEqual({ ...original, model: 'caller-model' });
  });
});
