import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { ChatCompletionRequest, isPlainChatRequest, validateChatRequest, validateWithSchema } from './request.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const user = (content: unknown = 'Hello!') => ({ role: 'user', content });
const base = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [user()], ...extra });

/** Runs the validator and returns the GatewayError it threw (fails the test if it did not throw one). */
function rejection(body: unknown): GatewayError {
  try {
    validateChatRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error(`expected ${JSON.stringify(body)?.slice(0, 200)} to be rejected`);
}

function expect400(body: unknown, param: string | null | undefined) {
  const err = rejection(body);
  expect(err.status).toBe(400);
  expect(err.kind).toBe('invalid_request');
  expect(err.opts.param ?? null).toBe(param ?? null);
  return err;
}

describe('validateChatRequest: accepts documented request shapes', () => {
  it.each(['chat-request-basic.json', 'chat-request-tools.json', 'chat-request-vision.json', 'chat-request-json-mode.json', 'chat-request-stream.json'])(
    '%s',
    (name) => {
      const body = fixture(name);
      const out = validateChatRequest(body);
      expect(out.model).toBe(body.model);
      expect(out.messages).toEqual(body.messages);
    },
  );

  it('system, developer, user, assistant with tool_calls, tool messages in one conversation', () => {
    const out = validateChatRequest({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Weather in Paris?', name: 'alice' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c":21}' },
        { role: 'assistant', content: 'Il fait 21 °C.' },
      ],
    });
    expect(out.messages).toHaveLength(6);
  });

  it('assistant with content only, refusal content part, or an empty content array plus tool_calls', () => {
    expect(() => validateChatRequest(base({ messages: [user(), { role: 'assistant', content: 'Hi.' }] }))).not.toThrow();
    expect(() => validateChatRequest(base({ messages: [user(), { role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] }] }))).not.toThrow();
  });

  it('user content parts: text + image_url (url and data URL, detail), input_audio, file', () => {
    expect(() =>
      validateChatRequest(
        base({
          messages: [
            user([
              { type: 'text', text: 'Compare these.' },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png' } },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'high' } },
              { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
              { type: 'file', file: { file_id: 'file-abc' } },
            ]),
          ],
        }),
      ),
    ).not.toThrow();
  });

  it('tools, tool_choice, response_format json_schema, stream_options', () => {
    const out = validateChatRequest(
      base({
        stream: true,
        stream_options: { include_usage: true },
        tools: [{ type: 'function', function: { name: 'lookup-user_2', parameters: { type: 'object', properties: {} }, strict: true } }],
        tool_choice: { type: 'function', function: { name: 'lookup-user_2' } },
        parallel_tool_calls: false,
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
      }),
    );
    expect(out.stream).toBe(true);
    expect(out.stream_options?.include_usage).toBe(true);
    expect(out.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } });
  });

  it('nullable optional fields may be null', () => {
    expect(() =>
      validateChatRequest(base({ stream: null, stream_options: null, max_tokens: null, temperature: null, top_p: null, n: null, stop: null, seed: null })),
    ).not.toThrow();
  });

  it('boundary values are accepted', () => {
    for (const temperature of [0, 2]) expect(() => validateChatRequest(base({ temperature }))).not.toThrow();
    expect(() => validateChatRequest(base({ max_tokens: 1, max_completion_tokens: 128000, n: 128, stop: ['a', 'b', 'c', 'd'] }))).not.toThrow();
  });

  it('unknown top-level fields and unknown message fields pass through untouched', () => {
    const body = base({
      reasoning_effort: 'low',
      metadata: { trace: 'x' },
      store: true,
      modalities: ['text'],
      some_future_param: { nested: [1, 2, 3] },
    });
    (body.messages[0] as Record<string, unknown>).cache_control = { type: 'ephemeral' };
    const out = validateChatRequest(body) as Record<string, unknown>;
    expect(out.reasoning_effort).toBe('low');
    expect(out.metadata).toEqual({ trace: 'x' });
    expect(out.some_future_param).toEqual({ nested: [1, 2, 3] });
    expect((out.messages as Array<Record<string, unknown>>)[0]?.cache_control).toEqual({ type: 'ephemeral' });
  });
});

// Shapes documented in OpenAI's Chat Completions API reference (and typed in the official `openai`
// SDK, ChatCompletionAssistantMessageParam / ChatCompletionTool / ChatCompletionToolChoiceOption)
// that the gateway must not refuse.
describe('validateChatRequest: newer and legacy documented shapes', () => {
  // BUG: the assistant refine only exempts tool_calls; the API reference says content is
  // "Required unless `tool_calls` or `function_call` is specified", and the gateway does accept
  // the `function` role message that answers such a call.
  it('legacy function calling: assistant with function_call and null content, then a function message', () => {
    expect(() =>
      validateChatRequest(
        base({
          messages: [
            user('Weather in Boston?'),
            { role: 'assistant', content: null, function_call: { name: 'get_current_weather', arguments: '{"location":"Boston, MA"}' } },
            { role: 'function', name: 'get_current_weather', content: '{"temperature":22}' },
          ],
          functions: [{ name: 'get_current_weather', parameters: { type: 'object', properties: {} } }],
        }),
      ),
    ).not.toThrow();
  });

  // BUG: Tool only admits type "function" (and tool_choice only the function form); custom tools
  // (ChatCompletionCustomTool, ChatCompletionNamedToolChoiceCustom) are documented.
  it('custom tools in tools[]', () => {
    expect(() =>
      validateChatRequest(
        base({
          model: 'gpt-5',
          tools: [{ type: 'custom', custom: { name: 'code_exec', description: 'Runs Python', format: { type: 'text' } } }],
          tool_choice: { type: 'custom', custom: { name: 'code_exec' } },
        }),
      ),
    ).not.toThrow();
  });

  // BUG: tool_choice only admits the function form; the allowed_tools form is documented.
  it('tool_choice allowed_tools', () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather' } },
      { type: 'function', function: { name: 'get_time' } },
    ];
    expect(() =>
      validateChatRequest(
        base({
          model: 'gpt-5',
          tools,
          tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'get_weather' } }] } },
        }),
      ),
    ).not.toThrow();
  });

  // BUG: assistant tool_calls only admit type "function"; a custom tool call (ChatCompletionMessageCustomToolCall)
  // returned by the model cannot be sent back in the next turn.
  it('assistant message with a custom tool call, answered by a tool message', () => {
    expect(() =>
      validateChatRequest(
        base({
          model: 'gpt-5',
          messages: [
            user('Compute 2**10'),
            { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'custom', custom: { name: 'code_exec', input: 'print(2**10)' } }] },
            { role: 'tool', tool_call_id: 'call_9', content: '1024' },
          ],
        }),
      ),
    ).not.toThrow();
  });
});

describe('validateChatRequest: rejects with 400 and the offending param', () => {
  it('a non-object body', () => {
    for (const body of [null, 'hello', 42, true, [base()]]) {
      const err = expect400(body, undefined);
      expect(err.message).toMatch(/JSON object/);
    }
  });

  it('missing model', () => {
    const err = expect400({ messages: [user()] }, 'model');
    expect(err.message).toContain("'model'");
    expect(err.opts.code).toBe('invalid_value');
  });

  it('empty or non-string model', () => {
    expect400(base({ model: '' }), 'model');
    expect400(base({ model: 42 }), 'model');
  });

  it('empty messages', () => {
    const err = expect400(base({ messages: [] }), 'messages');
    expect(err.message).toMatch(/at least one message/);
  });

  it('messages not an array', () => {
    expect400(base({ messages: 'Hello!' }), 'messages');
    expect400(base({ messages: { role: 'user', content: 'hi' } }), 'messages');
    expect400({ model: 'gpt-4o-mini' }, 'messages');
  });

  it('a message that is not an object', () => {
    expect400(base({ messages: ['hello'] }), 'messages[0]');
    expect400(base({ messages: [user(), null] }), 'messages[1]');
  });

  it('unknown role: the message names the role', () => {
    const err = expect400(base({ messages: [user(), { role: 'robot', content: 'beep' }] }), 'messages[1].role');
    expect(err.message).toContain('"robot"');
    expect(err.message).toContain('user');
  });

  it('missing role', () => {
    expect400(base({ messages: [{ content: 'hi' }] }), 'messages[0].role');
  });

  it('user content of the wrong type', () => {
    expect400(base({ messages: [user(42)] }), 'messages[0].content');
    expect400(base({ messages: [user(null)] }), 'messages[0].content');
    expect400(base({ messages: [user({ text: 'hi' })] }), 'messages[0].content');
    expect400(base({ messages: [user([])] }), 'messages[0].content');
  });

  it('an unknown content part type or a malformed image part', () => {
    expect400(base({ messages: [user([{ type: 'video', video: {} }])] }), 'messages[0].content');
    expect400(base({ messages: [user([{ type: 'image_url', image_url: { url: '' } }])] }), 'messages[0].content[0].image_url.url');
  });

  it('temperature out of range', () => {
    expect400(base({ temperature: 2.5 }), 'temperature');
    expect400(base({ temperature: -0.1 }), 'temperature');
    expect400(base({ temperature: '1' }), 'temperature');
  });

  it('top_p, n, penalties out of range', () => {
    expect400(base({ top_p: 1.5 }), 'top_p');
    expect400(base({ n: 0 }), 'n');
    expect400(base({ presence_penalty: 3 }), 'presence_penalty');
    expect400(base({ frequency_penalty: -3 }), 'frequency_penalty');
  });

  it('max_tokens 0 or non-integer', () => {
    expect400(base({ max_tokens: 0 }), 'max_tokens');
    expect400(base({ max_tokens: 1.5 }), 'max_tokens');
    expect400(base({ max_tokens: -1 }), 'max_tokens');
    expect400(base({ max_completion_tokens: 0 }), 'max_completion_tokens');
  });

  it('more than 4 stop sequences', () => {
    expect400(base({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop');
  });

  it('stream not a boolean', () => {
    expect400(base({ stream: 'yes' }), 'stream');
  });

  it('tool message without tool_call_id', () => {
    const err = expect400(
      base({
        messages: [
          user(),
          { role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', content: 'result' },
        ],
      }),
      'messages[2].tool_call_id',
    );
    expect(err.message).toContain('messages[2].tool_call_id');
  });

  it('assistant with neither content nor tool_calls', () => {
    const err = expect400(base({ messages: [user(), { role: 'assistant' }] }), 'messages[1]');
    expect(err.message).toMatch(/needs content.*tool_calls/);
    expect400(base({ messages: [user(), { role: 'assistant', content: null, tool_calls: [] }] }), 'messages[1]');
  });

  it('assistant tool call without an id or with a non-function type', () => {
    expect400(
      base({ messages: [user(), { role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }] }),
      'messages[1].tool_calls[0].id',
    );
  });

  it('a tool with an invalid function name', () => {
    expect400(base({ tools: [{ type: 'function', function: { name: 'has space' } }] }), 'tools[0].function.name');
  });

  it('response_format with an unknown type', () => {
    expect400(base({ response_format: { type: 'yaml' } }), 'response_format.type');
  });

  it('reports the first bad message by index', () => {
    expect400(base({ messages: [user(), user(), user(7)] }), 'messages[2].content');
  });
});

describe('isPlainChatRequest: the hand check agrees with the schema', () => {
  // Every field the hand check reads, with values on both sides of each rule.
  const values: Record<string, unknown[]> = {
    model: ['gpt-4o', '', 7, null],
    stream: [true, false, null, 'yes', 1],
    stream_options: [{ include_usage: true }, { include_usage: 'yes' }, {}, null, [], 'x'],
    max_tokens: [1, 100, 0, -1, 1.5, null, '5', 2 ** 60],
    max_completion_tokens: [1, 0, 2.5, null, true],
    temperature: [0, 1.2, 2, 2.01, -0.1, null, '1'],
    top_p: [0, 1, 1.01, -1, null],
    n: [1, 128, 129, 0, 1.5, null],
    presence_penalty: [-2, 2, 2.5, -3, null, '0'],
    frequency_penalty: [-2, 0, 2.1, null],
    seed: [42, -7, 1.5, null, 'x'],
    user: ['u-1', null, 3],
    parallel_tool_calls: [true, false, null, 'x'],
    stop: ['END', ['a', 'b'], null],
    tools: [[], [{ type: 'function', function: { name: 'f' } }]],
    response_format: [{ type: 'json_object' }, { type: 'yaml' }],
  };
  const messageSets: unknown[][] = [
    [user()],
    [{ role: 'system', content: 'Be brief.' }, user(), { role: 'assistant', content: 'Hi', refusal: null }, user('again')],
    [{ role: 'developer', content: 'x', name: 'dev' }, user()],
    [user(), { role: 'assistant', content: 'x', refusal: 7 }],
    [user(), { role: 'assistant', content: null }],
    [user(), { role: 'assistant' }],
    [user(), { role: 'assistant', content: 'x', tool_calls: [] }],
    [{ role: 'user', content: 'x', name: 5 }],
    [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    [{ role: 'tool', content: 'x', tool_call_id: 'c1' }],
    [{ role: 'robot', content: 'x' }],
    [user(), null],
    [user(), ['x']],
    [],
  ];
  const bodies: Record<string, unknown>[] = [];
  for (const messages of messageSets) bodies.push({ model: 'gpt-4o', messages });
  for (const [field, vs] of Object.entries(values)) for (const v of vs) bodies.push({ ...base(), [field]: v });
  bodies.push({ ...base(), extra_vendor_field: { anything: [1, 2] } });
  bodies.push({ messages: [user()] });

  function schemaAccepts(b: Record<string, unknown>): boolean {
    try {
      validateWithSchema(structuredClone(b));
    } catch {
      return false;
    }
    return true;
  }

  it('takes the common request without the schema', () => {
    expect(isPlainChatRequest(base({ stream: true, stream_options: { include_usage: true }, temperature: 0.2, max_tokens: 64 }))).toBe(true);
  });

  it('passes only bodies the schema passes, and unchanged', () => {
    let plain = 0;
    for (const b of bodies) {
      if (!isPlainChatRequest(b)) continue;
      plain++;
      const parsed = ChatCompletionRequest.safeParse(structuredClone(b));
      expect(parsed.success, JSON.stringify(b)).toBe(true);
      expect(parsed.data).toEqual(b);
      expect(schemaAccepts(b), JSON.stringify(b)).toBe(true);
    }
    // The corpus exercises the hand check on both sides.
    expect(plain).toBeGreaterThan(20);
    expect(plain).toBeLessThan(bodies.length);
  });

  it('rejects through the schema whatever the schema rejects', () => {
    for (const b of bodies) if (!schemaAccepts(b)) expect(isPlainChatRequest(b), JSON.stringify(b)).toBe(false);
  });
});
