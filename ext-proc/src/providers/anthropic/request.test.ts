import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { CanonicalRequest } from '../canonical/types.js';
import { buildAnthropicRequest, DEFAULT_MAX_TOKENS, parseAnthropicRequest, validateMessagesRequest } from './request.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const base = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-sonnet-4-5',
  max_tokens: 256,
  messages: [{ role: 'user', content: 'Hello' }],
  ...extra,
});

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
  const err = rejection(() => parseAnthropicRequest(body));
  expect(err.status).toBe(400);
  expect(err.kind).toBe('invalid_request');
  expect(err.opts.param ?? null).toBe(param);
  return err;
}

const canonical = (extra: Partial<CanonicalRequest> = {}): CanonicalRequest => ({
  model: 'gpt-4o',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
  stream: false,
  sameFormatOnly: [],
  ...extra,
});

describe('parseAnthropicRequest: documented request shapes', () => {
  it('basic conversation: system string, sampling fields, stop sequences; metadata is dropped', () => {
    expect(parseAnthropicRequest(fixture('messages-request-basic.json'))).toEqual({
      model: 'claude-sonnet-4-5',
      system: 'You are a helpful assistant.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hello, Claude' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] },
        { role: 'user', content: [{ type: 'text', text: 'Can you describe LLMs to me?' }] },
      ],
      stream: false,
      maxTokens: 1024,
      temperature: 0.7,
      topP: 0.9,
      topK: 40,
      stop: ['\n\nHuman:'],
      sameFormatOnly: [],
    });
  });

  it('tool use: system blocks, tools, tool_choice, tool_use and tool_result with a text block after it', () => {
    const out = parseAnthropicRequest(fixture('messages-request-tools.json'));
    expect(out.system).toBe('You are a weather assistant.');
    expect(out.tools).toEqual([
      {
        name: 'get_weather',
        description: 'Get the current weather in a given location',
        parameters: {
          type: 'object',
          properties: {
            location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' },
            unit: { type: 'string', enum: ['celsius', 'fahrenheit'], description: "The unit of temperature, either 'celsius' or 'fahrenheit'" },
          },
          required: ['location'],
        },
      },
    ]);
    expect(out.toolChoice).toBe('auto');
    expect(out.parallelToolCalls).toBe(false);
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: "What's the weather like in San Francisco?" }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: "I'll check the current weather in San Francisco for you." },
          { type: 'tool_call', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', arguments: '{"location":"San Francisco, CA","unit":"celsius"}' },
        ],
      },
      { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', content: '15 degrees' }] },
      { role: 'user', content: [{ type: 'text', text: 'Thanks! And should I bring an umbrella?' }] },
    ]);
    expect(out.sameFormatOnly).toEqual([]);
  });

  it('vision: base64 and url image sources, stream', () => {
    const out = parseAnthropicRequest(fixture('messages-request-vision.json'));
    expect(out.stream).toBe(true);
    expect(out.messages[0]!.content).toEqual([
      { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: expect.stringMatching(/^iVBOR/) } },
      { type: 'image', source: { kind: 'url', url: 'https://upload.wikimedia.org/wikipedia/commons/a/a7/Camponotus_flavomarginatus_ant.jpg' } },
      { type: 'text', text: 'Compare these two images.' },
    ]);
  });

  it('tool_result with block content and is_error; tool_choice naming a tool', () => {
    const out = parseAnthropicRequest(fixture('messages-request-tool-error.json'));
    expect(out.toolChoice).toEqual({ name: 'get_weather' });
    expect(out.parallelToolCalls).toBeUndefined();
    expect(out.messages[2]).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool_result',
          toolCallId: 'toolu_01A09q90qw90lq917835lq9',
          name: 'get_weather',
          content: 'ConnectionError: the weather service API is not available (HTTP 500)',
          isError: true,
        },
      ],
    });
  });

  it('extended thinking is a same-format-only field', () => {
    expect(parseAnthropicRequest(fixture('messages-request-thinking.json')).sameFormatOnly).toEqual(['thinking']);
  });

  it('tool_choice any is required and none is none', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    expect(parseAnthropicRequest(base({ tools, tool_choice: { type: 'any' } })).toolChoice).toBe('required');
    expect(parseAnthropicRequest(base({ tools, tool_choice: { type: 'none' } })).toolChoice).toBe('none');
    expect(parseAnthropicRequest(base({ tools, tool_choice: { type: 'any', disable_parallel_tool_use: false } })).parallelToolCalls).toBe(true);
  });

  it('tool results come first, in order, and every other block of the turn stays a user message after them', () => {
    const out = parseAnthropicRequest(
      base({
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: [
              { type: 'tool_use', id: 'toolu_a', name: 'one', input: {} },
              { type: 'tool_use', id: 'toolu_b', name: 'two', input: { x: 1 } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'before' },
              { type: 'tool_result', tool_use_id: 'toolu_a', content: 'A' },
              { type: 'text', text: 'between' },
              { type: 'tool_result', tool_use_id: 'toolu_b' },
            ],
          },
        ],
      }),
    );
    expect(out.messages.slice(2)).toEqual([
      {
        role: 'tool',
        content: [
          { type: 'tool_result', toolCallId: 'toolu_a', name: 'one', content: 'A' },
          { type: 'tool_result', toolCallId: 'toolu_b', name: 'two', content: '' },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'before' },
          { type: 'text', text: 'between' },
        ],
      },
    ]);
  });

  it('a tool result whose call is not in the conversation has no name', () => {
    const out = parseAnthropicRequest(base({ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }] }));
    expect(out.messages[0]).toEqual({ role: 'tool', content: [{ type: 'tool_result', toolCallId: 'toolu_x', content: 'r' }] });
  });

  it('system turns inside messages join the system prompt', () => {
    const out = parseAnthropicRequest(
      base({
        system: 'First.',
        messages: [
          { role: 'system', content: [{ type: 'text', text: 'Second.' }] },
          { role: 'user', content: 'Hi' },
        ],
      }),
    );
    expect(out.system).toBe('First.\nSecond.');
    expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]);
  });

  it('an empty system prompt is no system prompt', () => {
    expect(parseAnthropicRequest(base({ system: '' })).system).toBeUndefined();
    expect(parseAnthropicRequest(base({ system: [] })).system).toBeUndefined();
  });
});

describe('parseAnthropicRequest: what canonical cannot carry', () => {
  it('lists unknown top-level fields and drops metadata, service_tier and cache_control', () => {
    const out = parseAnthropicRequest(
      base({ output_config: { effort: 'low' }, container: 'c_1', service_tier: 'auto', cache_control: { type: 'ephemeral' }, metadata: { user_id: 'u' } }),
    );
    expect(out.sameFormatOnly).toEqual(['output_config', 'container']);
  });

  it('lists blocks of other types, file images and non-text tool result content by path', () => {
    const out = parseAnthropicRequest(
      base({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'doc' } },
              { type: 'image', source: { type: 'file', file_id: 'file_011' } },
              { type: 'text', text: 'Summarise.' },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hmm', signature: 'sig' },
              { type: 'tool_use', id: 'toolu_1', name: 'shot', input: {} },
            ],
          },
          {
            role: 'user',
            content: [
              {
                type: 'tool_result',
                tool_use_id: 'toolu_1',
                content: [
                  { type: 'text', text: 'see' },
                  { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
                  { type: 'text', text: 'attached' },
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(out.sameFormatOnly).toEqual([
      'messages[0].content[0]',
      'messages[0].content[1].source',
      'messages[1].content[0]',
      'messages[2].content[0].content[1]',
    ]);
    // What can be carried still is.
    expect(out.messages[0]).toEqual({ role: 'user', content: [{ type: 'text', text: 'Summarise.' }] });
    expect(out.messages[2]).toEqual({ role: 'tool', content: [{ type: 'tool_result', toolCallId: 'toolu_1', name: 'shot', content: 'see\nattached' }] });
  });

  it('server tools are same-format only; custom tools are kept', () => {
    const out = parseAnthropicRequest(
      base({
        tools: [
          { type: 'custom', name: 'lookup', input_schema: { type: 'object', properties: {} } },
          { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
        ],
      }),
    );
    expect(out.tools).toEqual([{ name: 'lookup', parameters: { type: 'object', properties: {} } }]);
    expect(out.sameFormatOnly).toEqual(['tools[1]']);
  });
});

describe('parseAnthropicRequest: validation', () => {
  it('max_tokens is required, as Anthropic requires it', () => {
    const err = expect400({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hi' }] }, 'max_tokens');
    expect(err.message).toBe('max_tokens: Field required');
  });

  it.each([
    [{ max_tokens: 0 }, 'max_tokens'],
    [{ max_tokens: 1.5 }, 'max_tokens'],
    [{ max_tokens: '10' }, 'max_tokens'],
    [{ model: '' }, 'model'],
    [{ messages: [] }, 'messages'],
    [{ messages: 'Hello' }, 'messages'],
    [{ messages: [{ role: 'human', content: 'Hi' }] }, 'messages[0].role'],
    [{ messages: [{ role: 'user' }] }, 'messages[0].content'],
    [{ messages: [{ role: 'user', content: '' }] }, 'messages[0].content'],
    [{ messages: [{ role: 'user', content: [] }] }, 'messages[0].content'],
    [{ messages: [{ role: 'user', content: [{ text: 'no type' }] }] }, 'messages[0].content[0].type'],
    [{ messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages[0].content[0].text'],
    [{ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: 'AAAA' } }] }] }, 'messages[0].content[0].source.media_type'],
    [{ messages: [{ role: 'assistant', content: [{ type: 'tool_use', name: 'f', input: {} }] }] }, 'messages[0].content[0].id'],
    [{ messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'bad id', name: 'f', input: {} }] }] }, 'messages[0].content[0].id'],
    [{ messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: '{}' }] }] }, 'messages[0].content[0].input'],
    [{ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', is_error: 'yes' }] }] }, 'messages[0].content[0].is_error'],
    [
      {
        messages: [
          { role: 'system', content: [{ type: 'image', source: { type: 'url', url: 'x' } }] },
          { role: 'user', content: 'Hi' },
        ],
      },
      'messages[0].content[0].type',
    ],
    [{ system: [{ type: 'text' }] }, 'system'],
    [{ temperature: 1.5 }, 'temperature'],
    [{ top_p: -0.1 }, 'top_p'],
    [{ top_k: 2.5 }, 'top_k'],
    [{ stop_sequences: 'STOP' }, 'stop_sequences'],
    [{ stream: 'yes' }, 'stream'],
    [{ tools: [{ name: 'f' }] }, 'tools[0].input_schema'],
    [{ tools: [{ name: 'has space', input_schema: { type: 'object' } }] }, 'tools[0].name'],
    [{ tools: [{ name: 'f', input_schema: { type: 'string' } }] }, 'tools[0].input_schema.type'],
    [{ tool_choice: { type: 'tool' } }, 'tool_choice.name'],
    [{ tool_choice: { type: 'sometimes' } }, 'tool_choice.type'],
  ])('%j is refused naming %s', (extra, param) => {
    expect400(base(extra), param);
  });

  it('refuses a body that is not an object', () => {
    expect400([], null);
    expect400('hello', null);
  });

  it('accepts an empty final assistant turn (a prefill) and unknown block types', () => {
    const out = parseAnthropicRequest(
      base({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'search_result', source: 's', title: 't', content: [] },
              { type: 'text', text: 'Hi' },
            ],
          },
          { role: 'assistant', content: '' },
        ],
      }),
    );
    expect(out.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]);
  });

  it('treats block types named like object properties as unknown blocks', () => {
    const out = parseAnthropicRequest(
      base({ messages: [{ role: 'user', content: [{ type: 'constructor' }, { type: 'toString' }, { type: 'text', text: 'Hi' }] }] }),
    );
    expect(out.sameFormatOnly).toEqual(['messages[0].content[0]', 'messages[0].content[1]']);
  });

  it('validateMessagesRequest keeps unknown fields of known blocks', () => {
    const req = validateMessagesRequest(base({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }] }] }));
    expect(req.messages[0]!.content).toEqual([{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }]);
  });
});

describe('buildAnthropicRequest', () => {
  it('maps the basic fields and drops seed and penalties', () => {
    const body = buildAnthropicRequest(
      canonical({
        system: 'Be brief.',
        maxTokens: 100,
        temperature: 0.2,
        topP: 0.5,
        topK: 10,
        stop: ['END'],
        seed: 7,
        presencePenalty: 0.5,
        frequencyPenalty: 0.5,
        stream: true,
        includeUsage: true,
      }),
      'claude-haiku-4-5',
    );
    expect(body).toEqual({
      model: 'claude-haiku-4-5',
      max_tokens: 100,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello' }] }],
      temperature: 0.2,
      top_p: 0.5,
      top_k: 10,
      stop_sequences: ['END'],
      stream: true,
    });
  });

  it(`defaults max_tokens to ${DEFAULT_MAX_TOKENS}`, () => {
    expect(buildAnthropicRequest(canonical(), 'm').max_tokens).toBe(4096);
  });

  it('turns tool messages into user turns of tool_result blocks and merges same-role neighbours', () => {
    const body = buildAnthropicRequest(
      canonical({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Weather in Paris and Rome?' }] },
          { role: 'user', content: [{ type: 'text', text: 'Celsius please.' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: '' },
              { type: 'tool_call', id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
              { type: 'tool_call', id: 'call_2', name: 'get_weather', arguments: '' },
            ],
          },
          { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_1', content: '21' }] },
          { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_2', content: 'unavailable', isError: true }] },
          { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] },
        ],
      }),
      'm',
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Weather in Paris and Rome?' },
          { type: 'text', text: 'Celsius please.' },
        ],
      },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_weather', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '21' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'unavailable', is_error: true },
          { type: 'text', text: 'And tomorrow?' },
        ],
      },
    ]);
  });

  it('leaves out messages with nothing to send, and the content of empty tool results', () => {
    const body = buildAnthropicRequest(
      canonical({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
          { role: 'assistant', content: [{ type: 'text', text: '' }] },
          { role: 'user', content: [{ type: 'tool_result', toolCallId: 'c', content: '' }] },
        ],
      }),
      'm',
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hi' },
          { type: 'tool_result', tool_use_id: 'c' },
        ],
      },
    ]);
  });

  it('images: urls as url sources, base64 data URIs and base64 parts as base64 sources', () => {
    const body = buildAnthropicRequest(
      canonical({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { kind: 'url', url: 'https://example.com/cat.jpg' } },
              { type: 'image', source: { kind: 'url', url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image', source: { kind: 'base64', mediaType: 'image/webp', data: 'UklGRg==' } },
            ],
          },
        ],
      }),
      'm',
    );
    expect((body.messages as Array<{ content: unknown[] }>)[0]!.content).toEqual([
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'UklGRg==' } },
    ]);
  });

  it('refuses data URIs that are not base64', () => {
    const err = rejection(() =>
      buildAnthropicRequest(
        canonical({ messages: [{ role: 'user', content: [{ type: 'image', source: { kind: 'url', url: 'data:image/svg+xml,<svg/>' } }] }] }),
        'm',
      ),
    );
    expect(err.status).toBe(400);
    expect(err.opts.param).toBe('image_url');
  });

  it.each([[{ type: 'json' }], [{ type: 'json_schema', name: 'x', schema: { type: 'object' } }]] as const)(
    'refuses JSON output mode %j naming response_format',
    (responseFormat) => {
      const err = rejection(() => buildAnthropicRequest(canonical({ responseFormat }), 'm'));
      expect(err.status).toBe(400);
      expect(err.opts.param).toBe('response_format');
    },
  );

  it('accepts the text response format, which asks for nothing', () => {
    expect(buildAnthropicRequest(canonical({ responseFormat: { type: 'text' } }), 'm')).not.toHaveProperty('response_format');
  });

  it('refuses a temperature above Anthropic’s range instead of clamping it', () => {
    expect(rejection(() => buildAnthropicRequest(canonical({ temperature: 1.2 }), 'm')).opts.param).toBe('temperature');
  });

  it('refuses tool call arguments that are not a JSON object', () => {
    for (const args of ['{"city":', '[1,2]', '"text"']) {
      const err = rejection(() =>
        buildAnthropicRequest(
          canonical({ messages: [{ role: 'assistant', content: [{ type: 'tool_call', id: 'call_9', name: 'f', arguments: args }] }] }),
          'm',
        ),
      );
      expect(err.opts.param).toBe('tool_calls');
      expect(err.message).toContain('call_9');
    }
  });

  it('tools: parameters become input_schema, a tool without parameters takes the empty object', () => {
    const body = buildAnthropicRequest(
      canonical({
        tools: [
          { name: 'now', description: 'Current time' },
          { name: 'add', parameters: { type: 'object', properties: { a: { type: 'number' } } } },
        ],
      }),
      'm',
    );
    expect(body.tools).toEqual([
      { name: 'now', description: 'Current time', input_schema: { type: 'object', properties: {} } },
      { name: 'add', input_schema: { type: 'object', properties: { a: { type: 'number' } } } },
    ]);
    expect(body).not.toHaveProperty('tool_choice');
  });

  it.each([
    ['auto', undefined, { type: 'auto' }],
    ['none', undefined, { type: 'none' }],
    ['required', undefined, { type: 'any' }],
    [{ name: 'f' }, undefined, { type: 'tool', name: 'f' }],
    ['required', false, { type: 'any', disable_parallel_tool_use: true }],
    [undefined, false, { type: 'auto', disable_parallel_tool_use: true }],
    ['none', false, { type: 'none' }],
    ['auto', true, { type: 'auto' }],
  ] as const)('tool choice %j with parallel %j is %j', (toolChoice, parallelToolCalls, expected) => {
    const body = buildAnthropicRequest(
      canonical({
        tools: [{ name: 'f' }],
        ...(toolChoice !== undefined ? { toolChoice } : {}),
        ...(parallelToolCalls !== undefined ? { parallelToolCalls } : {}),
      }),
      'm',
    );
    expect(body.tool_choice).toEqual(expected);
  });

  it('sends no tool_choice without tools', () => {
    expect(buildAnthropicRequest(canonical({ toolChoice: 'required' }), 'm')).not.toHaveProperty('tool_choice');
  });

  it.each(['messages-request-basic.json', 'messages-request-tools.json', 'messages-request-vision.json', 'messages-request-tool-error.json'])(
    '%s survives parse -> build -> parse and the built body validates',
    (name) => {
      const first = parseAnthropicRequest(fixture(name));
      const built = buildAnthropicRequest(first, first.model);
      expect(() => validateMessagesRequest(built)).not.toThrow();
      expect(parseAnthropicRequest(built)).toEqual(first);
    },
  );
});
