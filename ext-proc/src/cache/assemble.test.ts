import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChatStreamAssembler, isCacheableCompletion } from './assemble.js';
import type { ChatCompletion } from './types.js';

const text = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');
const json = <T = ChatCompletion>(path: string): T => JSON.parse(text(path)) as T;

/** The events of an SSE body: parsed JSON chunks, and 'DONE' for `data: [DONE]`. */
function parseSse(body: string): (unknown | 'DONE')[] {
  const events: (unknown | 'DONE')[] = [];
  for (const block of body.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data === '') continue;
    events.push(data === '[DONE]' ? 'DONE' : JSON.parse(data));
  }
  return events;
}

function assemble(events: (unknown | 'DONE')[]): ChatStreamAssembler {
  const a = new ChatStreamAssembler();
  for (const e of events) {
    if (e === 'DONE') a.done();
    else a.push(e);
  }
  return a;
}

const FIXTURES = [
  ['text answer (include_usage)', './fixtures/text.sse', './fixtures/text.completion.json'],
  ['two parallel tool calls (obfuscation, include_usage)', './fixtures/tool-calls.sse', './fixtures/tool-calls.completion.json'],
  ['n=2, interleaved, no usage', './fixtures/n2.sse', './fixtures/n2.completion.json'],
] as const;

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1700000000,
  model: 'gpt-4o-mini-2024-07-18',
  system_fingerprint: 'fp_1',
  choices,
  ...extra,
});
const choice = (index: number, delta: Record<string, unknown>, finish_reason: string | null = null, logprobs: unknown = null) => ({
  index,
  delta,
  logprobs,
  finish_reason,
});

describe('ChatStreamAssembler', () => {
  it.each(FIXTURES)('assembles %s into the expected completion', (_name, sse, expected) => {
    const a = assemble(parseSse(text(sse)));
    expect(a.problem).toBeUndefined();
    expect(a.result()).toEqual(json(expected));
  });

  it('matches what OpenAI returns without streaming (the documented response, modulo annotations: [])', () => {
    const a = assemble(parseSse(text('./fixtures/text.sse')));
    const c = a.result()!;
    expect(c.object).toBe('chat.completion');
    expect(c.choices[0]!.message).toEqual({
      role: 'assistant',
      content: 'The image shows a wooden boardwalk extending through a lush green meadow.',
      refusal: null,
    });
    expect(c.choices[0]!.logprobs).toBeNull();
    expect(c.usage?.total_tokens).toBe(1131);
  });

  it('is undefined for every proper prefix of a stream', () => {
    for (const [, sse] of FIXTURES) {
      const events = parseSse(text(sse));
      for (let n = 0; n < events.length; n++) {
        const a = assemble(events.slice(0, n));
        expect(a.result(), `${sse} cut after ${n} events`).toBeUndefined();
        expect(a.problem).toBeTypeOf('string');
      }
    }
  });

  it('is undefined without [DONE] even when every choice finished', () => {
    const events = parseSse(text('./fixtures/text.sse')).filter((e) => e !== 'DONE');
    const a = assemble(events);
    expect(a.result()).toBeUndefined();
    expect(a.problem).toMatch(/\[DONE\]/);
  });

  it('is undefined when [DONE] comes but a choice never finished', () => {
    const events = parseSse(text('./fixtures/n2.sse')).filter(
      (e) => !JSON.stringify(e).includes('"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"'),
    );
    const a = assemble(events);
    expect(a.result()).toBeUndefined();
    expect(a.problem).toBe('choice 0 has no finish_reason');
  });

  it('is undefined when a choice index is missing (0 and 2 but no 1)', () => {
    const a = new ChatStreamAssembler();
    a.push(chunk([choice(0, { role: 'assistant', content: 'a' }, 'stop')]));
    a.push(chunk([choice(2, { role: 'assistant', content: 'c' }, 'stop')]));
    a.done();
    expect(a.result()).toBeUndefined();
    expect(a.problem).toBe('choice 1 is missing');
  });

  it('is undefined after an error event in the stream', () => {
    const a = new ChatStreamAssembler();
    a.push(chunk([choice(0, { role: 'assistant', content: 'Hel' })]));
    a.push({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } });
    a.push(chunk([choice(0, {}, 'stop')]));
    a.done();
    expect(a.result()).toBeUndefined();
    expect(a.problem).toMatch(/error/);
  });

  it('is undefined for deltas it cannot replay (audio), but accepts empty ones', () => {
    const audio = new ChatStreamAssembler();
    audio.push(chunk([choice(0, { role: 'assistant', content: null, audio: { id: 'audio_1', data: 'UklGR', transcript: 'Hi' } })]));
    audio.push(chunk([choice(0, {}, 'stop')]));
    audio.done();
    expect(audio.result()).toBeUndefined();
    expect(audio.problem).toMatch(/audio/);

    const empty = new ChatStreamAssembler();
    empty.push(chunk([choice(0, { role: 'assistant', content: 'Hi', refusal: null, annotations: [], audio: null })]));
    empty.push(chunk([choice(0, {}, 'stop')]));
    empty.done();
    expect(empty.result()?.choices[0]?.message.content).toBe('Hi');
  });

  it('concatenates tool call arguments across many deltas, interleaved, merged by index', () => {
    const args = ['{"location":"Paris, France","unit":"celsius"}', '{"location":"東京, 日本","unit":"celsius"}', '{}'];
    const a = new ChatStreamAssembler();
    a.push(chunk([choice(0, { role: 'assistant', content: null, refusal: null })]));
    // Each call opens with id/type/name; later deltas carry only arguments, with the other fields
    // absent or null (how the Python SDK prints them), and the calls interleave.
    args.forEach((_, i) => {
      a.push(chunk([choice(0, { tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name: `fn_${i}`, arguments: '' } }] })]));
    });
    const longest = Math.max(...args.map((s) => s.length));
    for (let p = 0; p < longest; p++) {
      const deltas = args.flatMap((s, i) => (p < s.length ? [{ index: i, id: null, type: null, function: { name: null, arguments: s[p] } }] : []));
      a.push(chunk([choice(0, { tool_calls: deltas.reverse() })])); // several calls in one delta, out of order
    }
    a.push(chunk([choice(0, {}, 'tool_calls')]));
    a.done();
    const c = a.result()!;
    expect(c.choices[0]!.message.content).toBeNull();
    expect(c.choices[0]!.message.tool_calls).toEqual(args.map((s, i) => ({ id: `call_${i}`, type: 'function', function: { name: `fn_${i}`, arguments: s } })));
    expect(c.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('orders tool calls by index whatever order they opened in', () => {
    const a = new ChatStreamAssembler();
    a.push(chunk([choice(0, { role: 'assistant', tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '{}' } }] })]));
    a.push(chunk([choice(0, { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'a', arguments: '{}' } }] })]));
    a.push(chunk([choice(0, {}, 'tool_calls')]));
    a.done();
    expect(a.result()!.choices[0]!.message.tool_calls!.map((t) => t.id)).toEqual(['call_a', 'call_b']);
  });

  it('assembles refusal, the deprecated function_call and logprobs', () => {
    const tok = (t: string) => ({ token: t, logprob: -0.1, bytes: [...Buffer.from(t)], top_logprobs: [] });
    const a = new ChatStreamAssembler();
    a.push(chunk([choice(0, { role: 'assistant', content: '', refusal: null }, null, { content: [tok('Hi')], refusal: null })]));
    a.push(chunk([choice(0, { content: 'Hi' }, null, { content: [tok(' there')], refusal: null })]));
    a.push(chunk([choice(0, { content: ' there' }, 'stop', { content: [], refusal: null })]));
    a.push(chunk([choice(1, { role: 'assistant', content: null, refusal: "I'm sorry" })]));
    a.push(chunk([choice(1, { refusal: ", I can't help with that." })]));
    a.push(chunk([choice(1, {}, 'stop')]));
    a.push(chunk([choice(2, { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '' } })]));
    a.push(chunk([choice(2, { function_call: { arguments: '{"q":' } })]));
    a.push(chunk([choice(2, { function_call: { arguments: '"x"}' } })]));
    a.push(chunk([choice(2, {}, 'function_call')]));
    a.push(chunk([], { usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } }));
    a.done();
    const c = a.result()!;
    expect(c.choices).toEqual([
      {
        index: 0,
        message: { role: 'assistant', content: 'Hi there', refusal: null },
        logprobs: { content: [tok('Hi'), tok(' there')], refusal: null },
        finish_reason: 'stop',
      },
      { index: 1, message: { role: 'assistant', content: null, refusal: "I'm sorry, I can't help with that." }, logprobs: null, finish_reason: 'stop' },
      {
        index: 2,
        message: { role: 'assistant', content: null, refusal: null, function_call: { name: 'lookup', arguments: '{"q":"x"}' } },
        logprobs: null,
        finish_reason: 'function_call',
      },
    ]);
    expect(c.usage).toEqual({ prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 });
    expect(isCacheableCompletion(c)).toBe(true);
  });

  it('takes usage from the last choice chunk when a compatible server puts it there', () => {
    const a = new ChatStreamAssembler();
    a.push(chunk([choice(0, { role: 'assistant', content: 'ok' })]));
    a.push(chunk([choice(0, {}, 'stop')], { usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
    a.push(chunk(null as unknown as unknown[], { usage: null }));
    a.done();
    expect(a.result()?.usage).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 });
  });

  it('ignores chunks after [DONE]', () => {
    const events = parseSse(text('./fixtures/text.sse'));
    const a = assemble(events);
    a.push(chunk([choice(0, { content: ' extra' })]));
    expect(a.result()).toEqual(json('./fixtures/text.completion.json'));
  });

  it('rejects non-object chunks and choices without an index', () => {
    const a = new ChatStreamAssembler();
    a.push('data');
    a.done();
    expect(a.result()).toBeUndefined();
    const b = new ChatStreamAssembler();
    b.push(chunk([{ delta: { content: 'x' }, finish_reason: 'stop' }]));
    b.done();
    expect(b.problem).toMatch(/index/);
  });
});

describe('isCacheableCompletion', () => {
  const text1 = () => json('./fixtures/text.completion.json');
  const tools = () => json('./fixtures/tool-calls.completion.json');
  const withChoice = (f: (ch: Record<string, any>) => void, base = text1()) => {
    f(base.choices[0] as Record<string, any>);
    return base;
  };

  it('accepts finished text and tool call answers', () => {
    expect(isCacheableCompletion(text1())).toBe(true);
    expect(isCacheableCompletion(tools())).toBe(true);
  });

  it("accepts OpenAI's documented non-stream response (message.annotations: [])", () => {
    expect(isCacheableCompletion(json('../providers/openai/fixtures/chat-response.json'))).toBe(true);
  });

  it('accepts n=2 once usage is there, and refuses it without usage', () => {
    const n2 = json('./fixtures/n2.completion.json');
    expect(isCacheableCompletion(n2)).toBe(false);
    expect(isCacheableCompletion({ ...n2, usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 } })).toBe(true);
  });

  it('accepts length (same max_tokens, same truncation), even with cut-off tool arguments', () => {
    expect(isCacheableCompletion(withChoice((ch) => (ch.finish_reason = 'length')))).toBe(true);
    const cut = withChoice((ch) => {
      ch.finish_reason = 'length';
      ch.message.tool_calls[1].function.arguments = '{"location":"Bog';
    }, tools());
    expect(isCacheableCompletion(cut)).toBe(true);
  });

  it('refuses content_filter, a missing or unknown finish_reason', () => {
    for (const fr of ['content_filter', null, undefined, 'something_new']) {
      expect(isCacheableCompletion(withChoice((ch) => (ch.finish_reason = fr))), String(fr)).toBe(false);
    }
  });

  it('refuses a completion with a choice missing, duplicated, or none at all', () => {
    const n2 = { ...json('./fixtures/n2.completion.json'), usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    expect(isCacheableCompletion({ ...n2, choices: [n2.choices[0], { ...n2.choices[1]!, index: 2 }] })).toBe(false);
    expect(isCacheableCompletion({ ...n2, choices: [n2.choices[0], n2.choices[0]] })).toBe(false);
    expect(isCacheableCompletion({ ...n2, choices: [{ ...n2.choices[1]!, index: 1 }] })).toBe(false);
    expect(isCacheableCompletion({ ...n2, choices: [] })).toBe(false);
    expect(isCacheableCompletion({ ...n2, choices: [n2.choices[1], n2.choices[0]] })).toBe(true); // order does not matter
  });

  it('refuses tool calls with arguments that are not JSON when the model says it finished', () => {
    const broken = withChoice((ch) => (ch.message.tool_calls[0].function.arguments = '{"location":"Paris'), tools());
    expect(isCacheableCompletion(broken)).toBe(false);
    expect(isCacheableCompletion(withChoice((ch) => (ch.message.tool_calls[0].id = ''), tools()))).toBe(false);
    expect(isCacheableCompletion(withChoice((ch) => (ch.message.tool_calls = []), tools()))).toBe(false);
  });

  it('refuses what replaySse could not reproduce, and malformed completions', () => {
    expect(isCacheableCompletion(withChoice((ch) => (ch.message.audio = { id: 'audio_1', data: 'UklGR' })))).toBe(false);
    expect(isCacheableCompletion(withChoice((ch) => (ch.message.annotations = [{ type: 'url_citation' }])))).toBe(false);
    expect(isCacheableCompletion(withChoice((ch) => (ch.message.content = null)))).toBe(false); // no answer at all
    expect(isCacheableCompletion(withChoice((ch) => (ch.message.content = [{ type: 'text', text: 'x' }])))).toBe(false);
    expect(isCacheableCompletion(withChoice((ch) => (ch.message.role = 'user')))).toBe(false);
    expect(isCacheableCompletion({ ...text1(), object: 'chat.completion.chunk' })).toBe(false);
    expect(isCacheableCompletion({ ...text1(), usage: { prompt_tokens: 1 } })).toBe(false);
    for (const v of [null, undefined, 'x', 1, [], {}]) expect(isCacheableCompletion(v)).toBe(false);
  });

  it('accepts a refusal', () => {
    const refusal = withChoice((ch) => {
      ch.message.content = null;
      ch.message.refusal = "I'm sorry, I can't help with that.";
    });
    expect(isCacheableCompletion(refusal)).toBe(true);
  });
});
