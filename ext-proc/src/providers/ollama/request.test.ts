import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { CanonicalRequest } from '../canonical/types.js';
import { buildOllamaRequest, parseOllamaRequest } from './request.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const PNG_1PX = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const user = (content = 'Hello!', extra: Record<string, unknown> = {}) => ({ role: 'user', content, ...extra });
const base = (extra: Record<string, unknown> = {}) => ({ model: 'llama3.2', messages: [user()], ...extra });

function rejection(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

function expect400(body: unknown, param: string | null) {
  const err = rejection(() => parseOllamaRequest(body));
  expect(err.status).toBe(400);
  expect(err.kind).toBe('invalid_request');
  expect(err.opts.param ?? null).toBe(param);
  return err;
}

const canonical = (extra: Partial<CanonicalRequest> = {}): CanonicalRequest => ({
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
  stream: false,
  sameFormatOnly: [],
  ...extra,
});

describe('parseOllamaRequest: documented requests', () => {
  it('a request without `stream` streams (Ollama streams by default)', () => {
    const out = parseOllamaRequest(fixture('chat-request-stream.json'));
    expect(out).toEqual({
      model: 'llama3.2',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'why is the sky blue?' }] }],
      stream: true,
      sameFormatOnly: [],
    });
  });

  it('stream false, true and null', () => {
    expect(parseOllamaRequest(base({ stream: false })).stream).toBe(false);
    expect(parseOllamaRequest(base({ stream: true })).stream).toBe(true);
    expect(parseOllamaRequest(base({ stream: null })).stream).toBe(true);
  });

  it('history keeps user/assistant turns in order', () => {
    const out = parseOllamaRequest(fixture('chat-request-history.json'));
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'why is the sky blue?' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'due to rayleigh scattering.' }] },
      { role: 'user', content: [{ type: 'text', text: 'how is that different than mie scattering?' }] },
    ]);
  });

  it('images become base64 image parts with the media type read from the data', () => {
    const out = parseOllamaRequest(fixture('chat-request-images.json'));
    expect(out.stream).toBe(false);
    expect(out.messages[0]!.content).toEqual([
      { type: 'text', text: 'what is in this image?' },
      { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: PNG_1PX } },
    ]);
  });

  it('an image-only user message has no empty text part', () => {
    const out = parseOllamaRequest(base({ messages: [user('', { images: [PNG_1PX] })] }));
    expect(out.messages[0]!.content).toEqual([{ type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: PNG_1PX } }]);
  });

  it('format as a JSON schema is json_schema; options.temperature 0 is kept', () => {
    const body = fixture('chat-request-structured.json');
    const out = parseOllamaRequest(body);
    expect(out.responseFormat).toEqual({ type: 'json_schema', schema: body.format });
    expect(out.temperature).toBe(0);
  });

  it('format "json" is json mode; "" and null are no format', () => {
    expect(parseOllamaRequest(base({ format: 'json' })).responseFormat).toEqual({ type: 'json' });
    expect(parseOllamaRequest(base({ format: '' })).responseFormat).toBeUndefined();
    expect(parseOllamaRequest(base({ format: null })).responseFormat).toBeUndefined();
  });

  it('options map to sampling fields; runtime options and keep_alive are dropped, not refused', () => {
    const out = parseOllamaRequest(fixture('chat-request-options.json'));
    expect(out).toEqual({
      model: 'llama3.2',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello!' }] }],
      stream: false,
      maxTokens: 100,
      temperature: 0.8,
      topP: 0.9,
      topK: 20,
      stop: ['\n', 'user:'],
      seed: 42,
      presencePenalty: 1.5,
      frequencyPenalty: 1.0,
      sameFormatOnly: [],
    });
  });

  it.each([-1, -2, 0])('num_predict %i leaves the length open', (n) => {
    expect(parseOllamaRequest(base({ options: { num_predict: n } })).maxTokens).toBeUndefined();
  });

  it('top_k 0 (filter off) leaves topK unset; null options are skipped as Ollama skips them', () => {
    const out = parseOllamaRequest(base({ options: { top_k: 0, temperature: null, stop: null } }));
    expect(out.topK).toBeUndefined();
    expect(out.temperature).toBeUndefined();
    expect(out.stop).toBeUndefined();
  });

  it('sampler options without a canonical field are listed as same-format-only; unknown options are dropped', () => {
    const out = parseOllamaRequest(base({ options: { repeat_penalty: 1.1, min_p: 0.05, mirostat: 2, not_an_option: 1, num_ctx: 8192 } }));
    expect(out.sameFormatOnly).toEqual(['options.min_p', 'options.repeat_penalty', 'options.mirostat']);
  });

  it('think true/level is same-format-only; think false is not (no thinking is what other formats give)', () => {
    expect(parseOllamaRequest(base({ think: true })).sameFormatOnly).toEqual(['think']);
    expect(parseOllamaRequest(base({ think: 'high' })).sameFormatOnly).toEqual(['think']);
    expect(parseOllamaRequest(base({ think: false })).sameFormatOnly).toEqual([]);
  });

  it('logprobs and top_logprobs are same-format-only', () => {
    expect(parseOllamaRequest(base({ logprobs: true, top_logprobs: 3 })).sameFormatOnly).toEqual(['logprobs', 'top_logprobs']);
    expect(parseOllamaRequest(base({ logprobs: false })).sameFormatOnly).toEqual([]);
  });

  it('system messages, wherever they are, are joined into the system prompt', () => {
    const out = parseOllamaRequest(
      base({ messages: [{ role: 'system', content: 'Be terse.' }, user('Hi'), { role: 'system', content: 'Answer in French.' }, user('Again')] }),
    );
    expect(out.system).toBe('Be terse.\n\nAnswer in French.');
    expect(out.messages.map((m) => m.role)).toEqual(['user', 'user']);
  });

  it('tools are function tools', () => {
    const body = fixture('chat-request-tools.json');
    const out = parseOllamaRequest(body);
    const fn = (body.tools as Array<{ function: Record<string, unknown> }>)[0]!.function;
    expect(out.tools).toEqual([{ name: 'get_current_weather', description: fn.description, parameters: fn.parameters }]);
    expect(out.toolChoice).toBeUndefined();
  });

  it('unknown top-level and message fields pass', () => {
    expect(() => parseOllamaRequest(base({ truncate: true, shift: false, messages: [user('x', { future: 1 })] }))).not.toThrow();
  });
});

describe('parseOllamaRequest: tool call ids', () => {
  it('the documented tool round trip: call_0 and its result, matched by tool_name', () => {
    const out = parseOllamaRequest(fixture('chat-request-tool-result.json'));
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is the temperature in New York?' }] },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'call_0', name: 'get_temperature', arguments: '{"city":"New York"}' }] },
      { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_0', name: 'get_temperature', content: '22°C' }] },
    ]);
  });

  const call = (name: string, args: Record<string, unknown> = {}) => ({ function: { name, arguments: args } });
  const ids = (req: CanonicalRequest) =>
    req.messages.flatMap((m) => m.content.flatMap((p) => (p.type === 'tool_result' ? [`${p.name ?? '?'}:${p.toolCallId}`] : [])));

  it('results answer by tool_name even out of order, and in order without tool_name', () => {
    const named = parseOllamaRequest(
      base({
        messages: [
          user('weather and time?'),
          { role: 'assistant', content: 'Checking.', tool_calls: [call('weather'), call('time')] },
          { role: 'tool', tool_name: 'time', content: '10:00' },
          { role: 'tool', tool_name: 'weather', content: 'sunny' },
        ],
      }),
    );
    expect(named.messages[1]!.content).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call', id: 'call_0', name: 'weather', arguments: '{}' },
      { type: 'tool_call', id: 'call_1', name: 'time', arguments: '{}' },
    ]);
    expect(ids(named)).toEqual(['time:call_1', 'weather:call_0']);

    const unnamed = parseOllamaRequest(
      base({
        messages: [
          user('x'),
          { role: 'assistant', content: '', tool_calls: [call('weather'), call('time')] },
          { role: 'tool', content: 'sunny' },
          { role: 'tool', content: '10:00' },
        ],
      }),
    );
    expect(ids(unnamed)).toEqual(['weather:call_0', 'time:call_1']);
  });

  it('two calls of one function are answered in order', () => {
    const out = parseOllamaRequest(
      base({
        messages: [
          user('x'),
          { role: 'assistant', tool_calls: [call('weather', { city: 'A' }), call('weather', { city: 'B' })] },
          { role: 'tool', tool_name: 'weather', content: 'A: sunny' },
          { role: 'tool', tool_name: 'weather', content: 'B: rain' },
        ],
      }),
    );
    expect(ids(out)).toEqual(['weather:call_0', 'weather:call_1']);
  });

  it('ids keep counting across turns; a result only answers the latest assistant turn', () => {
    const out = parseOllamaRequest(
      base({
        messages: [
          user('x'),
          { role: 'assistant', tool_calls: [call('a'), call('b')] },
          { role: 'tool', tool_name: 'a', content: '1' },
          { role: 'assistant', tool_calls: [call('c')] },
          { role: 'tool', content: '3' },
          { role: 'tool', tool_name: 'b', content: 'late' },
        ],
      }),
    );
    // `b` was left unanswered in its own turn: the late result gets an id of its own.
    expect(ids(out)).toEqual(['a:call_0', 'c:call_2', 'b:call_3']);
  });

  it('a tool result with nothing to answer gets a fresh id and keeps its tool_name', () => {
    const out = parseOllamaRequest(base({ messages: [user('x'), { role: 'tool', tool_name: 'lookup', content: '{}' }, { role: 'tool', content: 'y' }] }));
    expect(ids(out)).toEqual(['lookup:call_0', '?:call_1']);
  });

  it('a call without arguments has {} as arguments', () => {
    const out = parseOllamaRequest(
      base({ messages: [user('x'), { role: 'assistant', tool_calls: [{ function: { name: 'now' } }, { function: { name: 'today', arguments: null } }] }] }),
    );
    expect(out.messages[1]!.content).toEqual([
      { type: 'tool_call', id: 'call_0', name: 'now', arguments: '{}' },
      { type: 'tool_call', id: 'call_1', name: 'today', arguments: '{}' },
    ]);
  });

  it('assistant thinking is dropped', () => {
    const out = parseOllamaRequest(base({ messages: [user('x'), { role: 'assistant', content: 'Yes.', thinking: 'hmm' }, user('y')] }));
    expect(out.messages[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Yes.' }] });
  });

  it('images or tool_calls on roles the canonical form cannot carry them on are same-format-only', () => {
    const out = parseOllamaRequest(
      base({
        messages: [
          { role: 'system', content: 'S', images: [PNG_1PX] },
          user('x', { tool_calls: [call('a')] }),
          { role: 'assistant', content: 'A', images: [PNG_1PX] },
        ],
      }),
    );
    expect(out.sameFormatOnly).toEqual(['messages[0].images', 'messages[1].tool_calls', 'messages[2].images']);
  });
});

describe('parseOllamaRequest: refusals name the field', () => {
  it('a body that is not an object', () => {
    for (const body of [null, [], 'x', 3]) expect400(body, null);
  });

  it.each([
    ['missing model', { messages: [user()] }, 'model'],
    ['empty model', { model: '', messages: [user()] }, 'model'],
    ['missing messages', { model: 'm' }, 'messages'],
    ['empty messages (a load request)', { model: 'm', messages: [] }, 'messages'],
    ['unknown role', base({ messages: [user(), { role: 'developer', content: 'x' }] }), 'messages[1].role'],
    ['content not a string', base({ messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] }), 'messages[0].content'],
    ['data URL image', base({ messages: [user('x', { images: [`data:image/png;base64,${PNG_1PX}`] })] }), 'messages[0].images[0]'],
    ['image not base64', base({ messages: [user('x', { images: ['https://example.com/cat.png'] })] }), 'messages[0].images[0]'],
    [
      'tool call arguments as a string',
      base({ messages: [user(), { role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: '{"a":1}' } }] }] }),
      'messages[1].tool_calls[0].function.arguments',
    ],
    [
      'tool call without name',
      base({ messages: [user(), { role: 'assistant', tool_calls: [{ function: { arguments: {} } }] }] }),
      'messages[1].tool_calls[0].function.name',
    ],
    ['stream not a boolean', base({ stream: 'yes' }), 'stream'],
    ['unknown format', base({ format: 'xml' }), 'format'],
    ['options not an object', base({ options: 'fast' }), 'options'],
    ['temperature as text', base({ options: { temperature: '0.2' } }), 'options.temperature'],
    ['num_predict not an integer', base({ options: { num_predict: 1.5 } }), 'options.num_predict'],
    ['stop as a string (Ollama wants an array)', base({ options: { stop: '\n' } }), 'options.stop'],
    ['tool without a name', base({ tools: [{ type: 'function', function: { description: 'x' } }] }), 'tools[0].function.name'],
    ['tool of another type', base({ tools: [{ type: 'retrieval', function: { name: 'f' } }] }), 'tools[0].type'],
    ['unknown think level', base({ think: 'max' }), 'think'],
  ])('%s', (_name, body, param) => {
    const err = expect400(body, param);
    expect(err.message).toContain(param);
  });
});

describe('buildOllamaRequest', () => {
  it('system first, stream always explicit, upstream model name', () => {
    expect(buildOllamaRequest(canonical({ system: 'Be terse.' }), 'llama3.2:3b')).toEqual({
      model: 'llama3.2:3b',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'Hi' },
      ],
      stream: false,
    });
    expect(buildOllamaRequest(canonical({ stream: true }), 'm').stream).toBe(true);
  });

  it('base64 images lose their media type; text parts are joined by newlines', () => {
    const body = buildOllamaRequest(
      canonical({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Compare' },
              { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: PNG_1PX } },
              { type: 'text', text: 'these.' },
            ],
          },
        ],
      }),
      'llava',
    );
    expect(body.messages).toEqual([{ role: 'user', content: 'Compare\nthese.', images: [PNG_1PX] }]);
  });

  it('an image URL is refused naming the message part', () => {
    const err = rejection(() =>
      buildOllamaRequest(
        canonical({
          messages: [
            { role: 'user', content: [{ type: 'text', text: 'hi' }] },
            { role: 'assistant', content: [{ type: 'text', text: 'hello' }] },
            {
              role: 'user',
              content: [
                { type: 'text', text: 'see' },
                { type: 'image', source: { kind: 'url', url: 'https://example.com/a.png' } },
              ],
            },
          ],
        }),
        'llava',
      ),
    );
    expect(err.status).toBe(400);
    expect(err.opts.param).toBe('messages[2].content[1]');
    expect(err.message).toContain('base64');
  });

  const toolConversation = (args: string): CanonicalRequest =>
    canonical({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Paris?' }] },
        { role: 'assistant', content: [{ type: 'tool_call', id: 'call_abc', name: 'get_weather', arguments: args }] },
        { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_abc', content: '{"temp_c":21}', isError: false }] },
      ],
    });

  it('tool call arguments become objects; results become tool messages named after their call', () => {
    const body = buildOllamaRequest(toolConversation('{"city":"Paris"}'), 'qwen3');
    expect(body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Paris' } } }] },
      { role: 'tool', content: '{"temp_c":21}', tool_name: 'get_weather' },
    ]);
  });

  it('blank arguments are an empty object', () => {
    const body = buildOllamaRequest(toolConversation('  '), 'qwen3');
    expect((body.messages as Array<{ tool_calls?: Array<{ function: { arguments: unknown } }> }>)[1]!.tool_calls![0]!.function.arguments).toEqual({});
  });

  it.each(['{"city":', '["Paris"]', '"Paris"', 'null'])('arguments %j are refused naming the field', (args) => {
    const err = rejection(() => buildOllamaRequest(toolConversation(args), 'qwen3'));
    expect(err.status).toBe(400);
    expect(err.opts.param).toBe('messages[1].content[0].arguments');
  });

  it('a result part with its own name keeps it; an unknown call leaves tool_name out', () => {
    const body = buildOllamaRequest(
      canonical({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'x' }] },
          { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'a', name: 'lookup', content: '1' }] },
          { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'zzz', content: '2' }] },
        ],
      }),
      'm',
    );
    expect(body.messages).toEqual([
      { role: 'user', content: 'x' },
      { role: 'tool', content: '1', tool_name: 'lookup' },
      { role: 'tool', content: '2' },
    ]);
  });

  it('tool results inside a user turn (Anthropic style) come first, then the rest of the turn', () => {
    const body = buildOllamaRequest(
      canonical({
        messages: [
          { role: 'assistant', content: [{ type: 'tool_call', id: 't1', name: 'f', arguments: '{}' }] },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'and now?' },
              { type: 'tool_result', toolCallId: 't1', content: 'done' },
            ],
          },
        ],
      }),
      'm',
    );
    expect(body.messages).toEqual([
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'f', arguments: {} } }] },
      { role: 'tool', content: 'done', tool_name: 'f' },
      { role: 'user', content: 'and now?' },
    ]);
  });

  const tools = [{ name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} } }, { name: 'noop' }];

  it('tools are function tools; tool_choice auto keeps them, none leaves them out', () => {
    const expected = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} } } },
      { type: 'function', function: { name: 'noop' } },
    ];
    expect(buildOllamaRequest(canonical({ tools }), 'm').tools).toEqual(expected);
    expect(buildOllamaRequest(canonical({ tools, toolChoice: 'auto' }), 'm').tools).toEqual(expected);
    expect(buildOllamaRequest(canonical({ tools, toolChoice: 'none' }), 'm').tools).toBeUndefined();
  });

  it.each([['required' as const], [{ name: 'get_weather' }]])('tool_choice %j is refused', (toolChoice) => {
    const err = rejection(() => buildOllamaRequest(canonical({ tools, toolChoice }), 'm'));
    expect(err.status).toBe(400);
    expect(err.opts.param).toBe('tool_choice');
  });

  it('response formats: json, json_schema (name and strict dropped), text', () => {
    expect(buildOllamaRequest(canonical({ responseFormat: { type: 'json' } }), 'm').format).toBe('json');
    const schema = { type: 'object', properties: { age: { type: 'integer' } } };
    expect(buildOllamaRequest(canonical({ responseFormat: { type: 'json_schema', name: 'a', schema, strict: true } }), 'm').format).toEqual(schema);
    expect('format' in buildOllamaRequest(canonical({ responseFormat: { type: 'text' } }), 'm')).toBe(false);
  });

  it('sampling fields become options; none at all means no options object', () => {
    expect('options' in buildOllamaRequest(canonical(), 'm')).toBe(false);
    const body = buildOllamaRequest(
      canonical({
        maxTokens: 64,
        temperature: 0,
        topP: 0.5,
        topK: 40,
        stop: ['END'],
        seed: 7,
        presencePenalty: 0.1,
        frequencyPenalty: 0.2,
        parallelToolCalls: false,
      }),
      'm',
    );
    expect(body.options).toEqual({
      num_predict: 64,
      temperature: 0,
      top_p: 0.5,
      top_k: 40,
      stop: ['END'],
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
    });
    expect(Object.keys(body).sort()).toEqual(['messages', 'model', 'options', 'stream']);
  });

  it('an assistant turn with nothing in it stays an empty assistant message', () => {
    const body = buildOllamaRequest(
      canonical({
        messages: [
          { role: 'user', content: [] },
          { role: 'assistant', content: [] },
        ],
      }),
      'm',
    );
    expect(body.messages).toEqual([
      { role: 'user', content: '' },
      { role: 'assistant', content: '' },
    ]);
  });

  it('round trip: a parsed Ollama body builds back to the same conversation', () => {
    for (const name of ['chat-request-tool-result.json', 'chat-request-images.json', 'chat-request-history.json', 'chat-request-structured.json']) {
      const body = fixture(name);
      const rebuilt = buildOllamaRequest(parseOllamaRequest(body), body.model as string);
      const strip = (msgs: unknown) =>
        JSON.parse(JSON.stringify(msgs), (k, v: unknown) => (k === 'index' || k === 'type' ? undefined : v === undefined ? undefined : v)) as unknown;
      const original = (body.messages as Array<Record<string, unknown>>).map((m) => ({ content: '', ...m }));
      expect(strip(rebuilt.messages)).toEqual(strip(original));
      expect(rebuilt.format).toEqual(body.format);
      expect(rebuilt.stream).toBe(body.stream ?? true);
    }
  });
});
