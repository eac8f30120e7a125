import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Usage } from '../metering/usage.js';
import type { CanonicalResponse, FormatId, StreamEvent } from '../providers/canonical/types.js';
import { CanonicalAssembler } from './canonical-assembler.js';
import { StreamCollector, collectWhole, type Collected } from './collect.js';
import type { CacheEntry } from './entry.js';
import { streamLossWatch, wholeAnswerLoss } from './fidelity.js';
import type { ChatCompletion } from './types.js';

const bytes = (path: string): Buffer => readFileSync(new URL(path, import.meta.url));
const json = (path: string): Record<string, any> => JSON.parse(bytes(path).toString('utf8')) as Record<string, any>;

const APIS: FormatId[] = ['openai', 'anthropic', 'gemini', 'ollama'];
const usage = (inputTokens: number, outputTokens: number, cachedInputTokens = 0, reasoningTokens = 0): Usage => ({
  inputTokens,
  outputTokens,
  cachedInputTokens,
  reasoningTokens,
});

/** What an answer says, whatever entry kind holds it. */
interface Summary {
  text: string;
  calls: Array<{ id: string; name: string; args: unknown }>;
  finish: string;
  usage: Usage | undefined;
}

function summarize(entry: CacheEntry): Summary {
  if (entry.kind === 'canonical') return summarizeCanonical(entry.response);
  const m = entry.completion.choices[0]!.message;
  const u = entry.completion.usage!;
  return {
    text: m.content ?? m.refusal ?? '',
    calls: (m.tool_calls ?? []).map((t) => ({ id: t.id, name: t.function.name, args: JSON.parse(t.function.arguments) })),
    finish: entry.completion.choices[0]!.finish_reason,
    usage: usage(
      u.prompt_tokens,
      u.completion_tokens,
      (u.prompt_tokens_details?.cached_tokens as number) ?? 0,
      (u.completion_tokens_details?.reasoning_tokens as number) ?? 0,
    ),
  };
}

function summarizeCanonical(r: CanonicalResponse): Summary {
  return {
    text: r.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join(''),
    calls: r.content.flatMap((p) => (p.type === 'tool_call' ? [{ id: p.id, name: p.name, args: JSON.parse(p.arguments) }] : [])),
    finish: r.finishReason,
    usage: r.usage,
  };
}

/** Ollama names no response, so decoders give each read a fresh id; everything else must match exactly. */
function comparable(c: Collected): Collected {
  if (c.entry?.kind !== 'canonical' || !c.entry.response.id.startsWith('ollama-')) return c;
  return { entry: { ...c.entry, response: { ...c.entry.response, id: 'ollama-*' } } };
}

function collectStream(caller: FormatId, format: FormatId, chunks: Buffer[]): Collected {
  const c = new StreamCollector(caller, format);
  for (const chunk of chunks) c.push(chunk);
  return c.end();
}

interface Case {
  format: FormatId;
  file: string;
  /** The answer, when it is cacheable. */
  expect?: Summary;
  /** Why it is not cacheable, for any caller. */
  problem?: RegExp;
  /** Why a caller of the same API does not get it (a miss would show it more than the canonical form holds). */
  sameApi?: RegExp;
  /** Callers for which the answer cannot exist (OpenAI n > 1 is OpenAI-only). */
  callers?: FormatId[];
}

const WEATHER_CALLS = [
  { id: 'call_9bk0TiT1mp3mjXlBYG2GbJ0R', name: 'get_weather', args: { location: 'Paris, France', unit: 'celsius' } },
  { id: 'call_yOVpiDLLyUo1ZLqnlIIuJsMu', name: 'get_weather', args: { location: 'Bogotá, Colombia', unit: 'celsius' } },
];

const STREAMS: Case[] = [
  {
    format: 'openai',
    file: '../providers/openai/fixtures/chat-stream-usage.sse',
    expect: { text: 'Hello! How can I assist you today?', calls: [], finish: 'stop', usage: usage(19, 10) },
  },
  { format: 'openai', file: '../providers/openai/fixtures/chat-stream.sse', problem: /no usage/ },
  { format: 'openai', file: './fixtures/tool-calls.sse', expect: { text: '', calls: WEATHER_CALLS, finish: 'tool_calls', usage: usage(68, 50) } },
  {
    format: 'openai',
    file: './fixtures/text.sse',
    expect: { text: 'The image shows a wooden boardwalk extending through a lush green meadow.', calls: [], finish: 'stop', usage: usage(1117, 14) },
  },
  { format: 'openai', file: './fixtures/n2.sse', problem: /no usage/, callers: ['openai'] },
  {
    format: 'anthropic',
    file: '../providers/anthropic/fixtures/messages-stream.sse',
    expect: { text: 'Hello! ¿Qué tal? ☀️ 🌍', calls: [], finish: 'stop', usage: usage(25, 15) },
  },
  {
    format: 'anthropic',
    file: '../providers/anthropic/fixtures/messages-stream-tool-use.sse',
    expect: {
      text: "Okay, let's check the weather for San Francisco, CA:",
      calls: [{ id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather', args: { location: 'San Francisco, CA', unit: 'fahrenheit' } }],
      finish: 'tool_calls',
      usage: usage(472, 89),
    },
  },
  {
    format: 'anthropic',
    file: '../providers/anthropic/fixtures/messages-stream-cache.sse',
    expect: { text: 'Cached.', calls: [], finish: 'length', usage: usage(2060, 5, 2048) },
  },
  {
    format: 'anthropic',
    file: '../providers/anthropic/fixtures/messages-stream-thinking.sse',
    expect: { text: 'The greatest common divisor of 1071 and 462 is **21**.', calls: [], finish: 'stop', usage: usage(42, 120, 0, 95) },
    sameApi: /"thinking" content block/,
  },
  { format: 'anthropic', file: '../providers/anthropic/fixtures/messages-stream-error.sse', problem: /error \(529\): Overloaded/ },
  {
    format: 'gemini',
    file: '../providers/gemini/fixtures/stream-text.sse',
    expect: {
      text: 'Here you go!\n\n1.  **English:** Hi\n2.  **Spanish:** Hola\n3.  **French:** Bonjour\n4.  **German:** Hallo\n5.  **Italian:** Ciao',
      calls: [],
      finish: 'stop',
      usage: usage(5, 230, 0, 186),
    },
  },
  {
    format: 'gemini',
    file: '../providers/gemini/fixtures/stream-function-call.sse',
    expect: {
      text: '',
      calls: [{ id: 'call_0', name: 'schedule_meeting', args: { attendees: ['Bob', 'Alice'], date: '2025-03-27', time: '10:00', topic: 'Q3 planning' } }],
      finish: 'tool_calls',
      usage: usage(113, 117, 0, 80),
    },
    sameApi: /function call part field "thoughtSignature"/,
  },
  {
    format: 'ollama',
    file: '../providers/ollama/fixtures/chat-stream.ndjson',
    expect: { text: 'The sky is blue.', calls: [], finish: 'stop', usage: usage(26, 282) },
  },
  {
    format: 'ollama',
    file: '../providers/ollama/fixtures/chat-stream-tools.ndjson',
    expect: {
      text: '',
      calls: [{ id: 'call_0', name: 'get_current_weather', args: { format: 'celsius', location: 'Paris, FR' } }],
      finish: 'tool_calls',
      usage: usage(122, 33),
    },
  },
];

const WHOLES: Case[] = [
  {
    format: 'openai',
    file: '../providers/openai/fixtures/chat-response.json',
    expect: { text: 'Hello! How can I assist you today?', calls: [], finish: 'stop', usage: usage(1900, 100, 1024) },
  },
  {
    format: 'openai',
    file: '../providers/openai/fixtures/chat-response-tool-calls.json',
    expect: { text: '', calls: WEATHER_CALLS, finish: 'tool_calls', usage: usage(68, 50) },
  },
  {
    format: 'openai',
    file: '../providers/openai/fixtures/chat-response-refusal.json',
    expect: { text: "I'm sorry, I cannot assist with that request.", calls: [], finish: 'stop', usage: usage(81, 11) },
  },
  {
    format: 'anthropic',
    file: '../providers/anthropic/fixtures/messages-response.json',
    expect: { text: 'Hi! My name is Claude.', calls: [], finish: 'stop', usage: usage(2095, 503) },
  },
  {
    format: 'anthropic',
    file: '../providers/anthropic/fixtures/messages-response-tool-use.json',
    expect: {
      text: "I'll check the current weather in San Francisco for you.",
      calls: [{ id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', args: { location: 'San Francisco, CA', unit: 'celsius' } }],
      finish: 'tool_calls',
      usage: usage(21550, 12, 20000),
    },
  },
  {
    format: 'anthropic',
    file: '../providers/anthropic/fixtures/messages-response-thinking.json',
    expect: { text: 'Yes, there are infinitely many such primes.', calls: [], finish: 'stop', usage: usage(42, 310, 0, 280) },
    sameApi: /"thinking" content block/,
  },
  {
    format: 'gemini',
    file: '../providers/gemini/fixtures/response-text.json',
    expect: { text: 'AI learns patterns from data to make predictions or decisions.', calls: [], finish: 'stop', usage: usage(8, 407, 0, 395) },
  },
  {
    format: 'gemini',
    file: '../providers/gemini/fixtures/response-function-call.json',
    expect: {
      text: '',
      calls: [{ id: 'call_0', name: 'schedule_meeting', args: { attendees: ['Bob', 'Alice'], date: '2025-03-27', time: '10:00', topic: 'Q3 planning' } }],
      finish: 'tool_calls',
      usage: usage(113, 117, 64, 80),
    },
    sameApi: /thoughtSignature/,
  },
  {
    format: 'ollama',
    file: '../providers/ollama/fixtures/chat-response.json',
    expect: { text: 'Hello! How are you today?', calls: [], finish: 'stop', usage: usage(26, 298) },
  },
  {
    format: 'ollama',
    file: '../providers/ollama/fixtures/chat-response-tools.json',
    expect: {
      text: '',
      calls: [{ id: 'call_0', name: 'get_current_weather', args: { format: 'celsius', location: 'Paris, FR' } }],
      finish: 'tool_calls',
      usage: usage(122, 33),
    },
  },
];

const matrix = (cases: Case[]) => cases.flatMap((c) => (c.callers ?? APIS).map((caller) => [caller, c.format, c.file.split('/').pop()!, c] as const));

function check(got: Collected, caller: FormatId, c: Case): void {
  if (c.problem) {
    expect(got.entry).toBeUndefined();
    expect(got.problem).toMatch(c.problem);
    return;
  }
  if (caller === c.format && c.sameApi) {
    expect(got.entry).toBeUndefined();
    expect(got.problem).toMatch(/^a replay would drop /);
    expect(got.problem).toMatch(c.sameApi);
    return;
  }
  expect(got.problem).toBeUndefined();
  expect(got.entry!.kind).toBe(caller === 'openai' && c.format === 'openai' ? 'openai' : 'canonical');
  expect(summarize(got.entry!)).toEqual(c.expect);
}

describe('collectWhole', () => {
  it.each(matrix(WHOLES))('%s caller, %s answer %s', (caller, format, _file, c) => {
    check(collectWhole(caller, format, bytes(c.file)), caller, c);
  });

  it('keeps the OpenAI completion whole for an OpenAI caller (refusal field, system_fingerprint)', () => {
    const got = collectWhole('openai', 'openai', bytes('../providers/openai/fixtures/chat-response-refusal.json'));
    expect(got.entry).toEqual({ kind: 'openai', completion: json('../providers/openai/fixtures/chat-response-refusal.json') });
  });

  it('stores OpenAI n=2 only for OpenAI callers, and only with usage', () => {
    const n2 = json('./fixtures/n2.completion.json') as ChatCompletion;
    expect(collectWhole('openai', 'openai', JSON.stringify(n2)).problem).toMatch(/not cacheable/);
    const withUsage = { ...n2, usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };
    expect(collectWhole('openai', 'openai', JSON.stringify(withUsage)).entry?.kind).toBe('openai');
  });

  it('refuses what is not an answer', () => {
    for (const caller of APIS) {
      for (const format of APIS) {
        expect(collectWhole(caller, format, 'not json').problem).toBe('the answer is not JSON');
        expect(collectWhole(caller, format, '{"error":{"message":"x"}}').entry).toBeUndefined();
        expect(collectWhole(caller, format, Buffer.from('[]')).entry).toBeUndefined();
      }
    }
  });

  it('refuses filtered answers and answers without usage', () => {
    const blocked = { promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 } };
    expect(collectWhole('openai', 'gemini', JSON.stringify(blocked)).problem).toMatch(/content_filter/);
    const noUsage = { ...json('../providers/ollama/fixtures/chat-response.json') };
    delete noUsage.prompt_eval_count;
    delete noUsage.eval_count;
    expect(collectWhole('anthropic', 'ollama', JSON.stringify(noUsage)).problem).toMatch(/no usage/);
  });
});

describe('StreamCollector', () => {
  it.each(matrix(STREAMS))('%s caller, %s stream %s, in one chunk', (caller, format, _file, c) => {
    check(collectStream(caller, format, [bytes(c.file)]), caller, c);
  });

  // Callers of other APIs than F share one path (F's decoder, no loss check): one of them stands for all.
  const splitMatrix = matrix(STREAMS).filter(([caller, format, , c]) => caller === format || caller === (c.callers ?? APIS).find((api) => api !== format));

  it.each(splitMatrix)('%s caller, %s stream %s, split at every byte offset and byte by byte', (caller, format, _file, c) => {
    const all = bytes(c.file);
    const whole = comparable(collectStream(caller, format, [all]));
    for (let k = 0; k <= all.length; k++) {
      expect(comparable(collectStream(caller, format, [all.subarray(0, k), all.subarray(k)])), `split at ${k}`).toEqual(whole);
    }
    const single = [...all].map((b) => Buffer.from([b]));
    expect(comparable(collectStream(caller, format, single))).toEqual(whole);
  });

  it.each(matrix(STREAMS.filter((c) => c.expect)))('%s caller, %s stream %s: a cut-off stream never yields a partial answer', (caller, format, _file, c) => {
    const all = bytes(c.file);
    let refused = 0;
    for (let k = 0; k < all.length; k += 7) {
      const got = collectStream(caller, format, [all.subarray(0, k)]);
      // Only once finish and usage are both in may a cut stream be stored (OpenAI's [DONE] or
      // Anthropic's message_stop may still be missing), and then it is the whole answer.
      if (got.entry) expect(summarize(got.entry), `cut at ${k}`).toEqual(c.expect);
      else refused++;
    }
    expect(refused).toBeGreaterThan(all.length / 7 / 2);
    expect(collectStream(caller, format, [all.subarray(0, Math.floor(all.length / 3))]).entry).toBeUndefined();
  });

  it('pushes after end() change nothing', () => {
    const c = new StreamCollector('anthropic', 'ollama');
    c.push(bytes('../providers/ollama/fixtures/chat-stream.ndjson'));
    const first = comparable(c.end());
    c.push(Buffer.from('{"model":"x","message":{"role":"assistant","content":"more"},"done":false}\n'));
    expect(comparable(c.end())).toEqual(first);
  });
});

describe('CanonicalAssembler', () => {
  const start: StreamEvent = { type: 'start', id: 'r1', model: 'm' };
  const assemble = (events: StreamEvent[], end = true) => {
    const a = new CanonicalAssembler();
    a.push(events);
    if (end) a.end();
    return a;
  };

  it('keeps parts in the order they began, joins text, fills tool calls by index', () => {
    const a = assemble([
      start,
      { type: 'text', text: 'Let me ' },
      { type: 'text', text: '' },
      { type: 'text', text: 'check.' },
      { type: 'tool_call_start', index: 0, id: 'a', name: 'f' },
      { type: 'tool_call_start', index: 1, id: 'b', name: 'g' },
      { type: 'tool_call_delta', index: 1, arguments: '{"y":' },
      { type: 'tool_call_delta', index: 0, arguments: '{"x":1}' },
      { type: 'tool_call_delta', index: 1, arguments: '2}' },
      { type: 'text', text: 'Done.' },
      { type: 'usage', usage: usage(1, 1) },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: usage(3, 9) },
    ]);
    expect(a.problem).toBeUndefined();
    expect(a.result()).toEqual({
      id: 'r1',
      model: 'm',
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_call', id: 'a', name: 'f', arguments: '{"x":1}' },
        { type: 'tool_call', id: 'b', name: 'g', arguments: '{"y":2}' },
        { type: 'text', text: 'Done.' },
      ],
      finishReason: 'tool_calls',
      usage: usage(3, 9),
    });
  });

  it('is undefined until the stream ends, and without a finish', () => {
    expect(assemble([start, { type: 'text', text: 'x' }, { type: 'finish', reason: 'stop' }], false).problem).toBe('the stream has not ended');
    const cut = assemble([start, { type: 'text', text: 'x' }, { type: 'usage', usage: usage(1, 1) }]);
    expect(cut.result()).toBeUndefined();
    expect(cut.problem).toMatch(/cut off/);
  });

  it('is undefined after an error event, whatever follows', () => {
    const a = assemble([start, { type: 'text', text: 'x' }, { type: 'error', message: 'boom', status: 502 }, { type: 'finish', reason: 'stop' }]);
    expect(a.result()).toBeUndefined();
    expect(a.problem).toBe('the stream carried an error (502): boom');
  });

  it('refuses arguments for a call that never started, and a call started twice', () => {
    expect(assemble([start, { type: 'tool_call_delta', index: 0, arguments: '{}' }, { type: 'finish', reason: 'stop' }]).problem).toMatch(/never started/);
    const twice = assemble([
      { type: 'tool_call_start', index: 0, id: 'a', name: 'f' },
      { type: 'tool_call_start', index: 0, id: 'b', name: 'f' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
    expect(twice.problem).toMatch(/started twice/);
  });

  it('ignores events after end()', () => {
    const a = assemble([start, { type: 'text', text: 'x' }, { type: 'finish', reason: 'stop' }]);
    a.push([
      { type: 'text', text: 'late' },
      { type: 'error', message: 'late', status: 500 },
    ]);
    expect(a.result()?.content).toEqual([{ type: 'text', text: 'x' }]);
  });
});

describe('same-API fidelity', () => {
  const anthropicSse = (events: object[]) => events.map((e) => `event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`).join('');
  const watch = (format: 'anthropic' | 'gemini' | 'ollama', text: string) => {
    const w = streamLossWatch(format);
    w.push(Buffer.from(text, 'utf8'));
    w.end();
    return w.loss;
  };
  const message = json('../providers/anthropic/fixtures/messages-response.json');
  const geminiText = json('../providers/gemini/fixtures/response-text.json');
  const ollama = json('../providers/ollama/fixtures/chat-response.json');

  it('finds nothing lost in plain answers', () => {
    expect(wholeAnswerLoss('anthropic', message)).toBeUndefined();
    expect(wholeAnswerLoss('gemini', geminiText)).toBeUndefined();
    expect(wholeAnswerLoss('ollama', ollama)).toBeUndefined();
    expect(wholeAnswerLoss('anthropic', json('../providers/anthropic/fixtures/messages-response-tool-use.json'))).toBeUndefined();
    expect(wholeAnswerLoss('ollama', json('../providers/ollama/fixtures/chat-response-tools.json'))).toBeUndefined();
  });

  it('Anthropic: other blocks, citations, a matched stop sequence, unknown fields', () => {
    expect(wholeAnswerLoss('anthropic', { ...message, stop_reason: 'stop_sequence', stop_sequence: '\n\nHuman:' })).toBe('stop_reason "stop_sequence"');
    expect(wholeAnswerLoss('anthropic', { ...message, stop_reason: 'pause_turn' })).toBe('stop_reason "pause_turn"');
    expect(wholeAnswerLoss('anthropic', { ...message, content: [{ type: 'text', text: 'x', citations: [{ type: 'char_location' }] }] })).toBe('text citations');
    expect(wholeAnswerLoss('anthropic', { ...message, content: [{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }] })).toBe(
      'a "server_tool_use" content block',
    );
    expect(wholeAnswerLoss('anthropic', { ...message, container: { id: 'c1' } })).toBe('the Message field "container"');
    expect(wholeAnswerLoss('anthropic', { ...message, container: null, content: [{ type: 'text', text: 'x', citations: null }] })).toBeUndefined();
  });

  it('Anthropic streams: thinking and citation deltas, stop sequences, unknown events', () => {
    const head = {
      type: 'message_start',
      message: { id: 'm', type: 'message', role: 'assistant', content: [], model: 'c', stop_reason: null, stop_sequence: null, usage: {} },
    };
    const text = [
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
    ];
    const tail = (reason: string) => [
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: reason, stop_sequence: null }, usage: { output_tokens: 2 } },
      { type: 'message_stop' },
    ];
    expect(watch('anthropic', anthropicSse([head, ...text, { type: 'ping' }, ...tail('end_turn')]))).toBeUndefined();
    expect(watch('anthropic', anthropicSse([head, ...text, ...tail('stop_sequence')]))).toBe('stop_reason "stop_sequence"');
    expect(
      watch(
        'anthropic',
        anthropicSse([head, text[0]!, { type: 'content_block_delta', index: 0, delta: { type: 'citations_delta', citation: {} } }, ...tail('end_turn')]),
      ),
    ).toBe('a "citations_delta" delta');
    expect(watch('anthropic', anthropicSse([head, ...text, { type: 'something_new' }, ...tail('end_turn')]))).toBe('a "something_new" event');
    expect(watch('anthropic', bytes('../providers/anthropic/fixtures/messages-stream-thinking.sse').toString())).toBe('a "thinking" content block');
  });

  it('Gemini: candidates, thoughts, function-call signatures, grounding; text signatures may go', () => {
    const cand = geminiText.candidates[0];
    const withParts = (parts: object[], extra: object = {}) => ({ ...geminiText, candidates: [{ ...cand, ...extra, content: { role: 'model', parts } }] });
    expect(wholeAnswerLoss('gemini', { ...geminiText, candidates: [cand, { ...cand, index: 1 }] })).toBe('more than one candidate');
    expect(wholeAnswerLoss('gemini', withParts([{ text: 'thinking…', thought: true }, { text: 'Hi' }]))).toBe('a thought part');
    expect(wholeAnswerLoss('gemini', withParts([{ text: 'Hi', thoughtSignature: 'sig' }]))).toBeUndefined();
    expect(wholeAnswerLoss('gemini', withParts([{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'sig' }]))).toBe(
      'the function call part field "thoughtSignature"',
    );
    expect(wholeAnswerLoss('gemini', withParts([{ executableCode: { code: '1+1' } }]))).toBe('a part holding "executableCode"');
    expect(wholeAnswerLoss('gemini', withParts([{ text: 'Hi' }], { citationMetadata: { citationSources: [{ uri: 'x' }] } }))).toBe(
      'the candidate field "citationMetadata"',
    );
    expect(
      wholeAnswerLoss(
        'gemini',
        withParts([{ text: 'Hi' }], { safetyRatings: [{ category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' }], avgLogprobs: -0.2 }),
      ),
    ).toBeUndefined();
    const twoCandidates = `data: ${JSON.stringify({ ...geminiText, candidates: [cand, { ...cand, index: 1 }] })}\r\n\r\n`;
    expect(watch('gemini', twoCandidates)).toBe('more than one candidate');
    expect(watch('gemini', bytes('../providers/gemini/fixtures/stream-text.sse').toString())).toBeUndefined();
  });

  it('Ollama: thinking, logprobs, unknown done reasons and fields', () => {
    expect(wholeAnswerLoss('ollama', { ...ollama, message: { ...ollama.message, thinking: 'hmm' } })).toBe('the message field "thinking"');
    expect(wholeAnswerLoss('ollama', { ...ollama, message: { ...ollama.message, thinking: '' } })).toBeUndefined();
    expect(wholeAnswerLoss('ollama', { ...ollama, logprobs: [{ token: 'x', logprob: -1 }] })).toBe('the field "logprobs"');
    expect(wholeAnswerLoss('ollama', { ...ollama, done_reason: 'load' })).toBe('done_reason "load"');
    const lines = bytes('../providers/ollama/fixtures/chat-stream.ndjson').toString().split('\n');
    lines.splice(1, 0, JSON.stringify({ model: 'llama3.2', message: { role: 'assistant', content: '', thinking: 'Let me think' }, done: false }));
    expect(watch('ollama', lines.join('\n'))).toBe('the message field "thinking"');
    expect(collectStream('ollama', 'ollama', [Buffer.from(lines.join('\n'))]).problem).toBe('a replay would drop the message field "thinking"');
    expect(collectStream('openai', 'ollama', [Buffer.from(lines.join('\n'))]).entry?.kind).toBe('canonical');
  });
});
