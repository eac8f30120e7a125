import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { CanonicalRequest } from '../canonical/types.js';
import { validateChatRequest } from './request.js';
import { imageSourceFromUrl, toCanonicalRequest, toOpenAIRequestBody } from './translate-request.js';

type Rec = Record<string, unknown>;

const fixture = (name: string): Rec => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Rec;

const canon = (body: Rec): CanonicalRequest => toCanonicalRequest(validateChatRequest(body));
const base = (extra: Rec = {}): Rec => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], ...extra });

function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('toCanonicalRequest: documented requests', () => {
  it('basic: developer message becomes the system prompt', () => {
    expect(canon(fixture('chat-request-basic.json'))).toEqual({
      model: 'gpt-4o-mini',
      system: 'You are a helpful assistant.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello!' }] }],
      stream: false,
      sameFormatOnly: [],
    });
  });

  it('tools: tool call, tool result with the called name, tool declaration and choice', () => {
    const out = canon(fixture('chat-request-tools.json'));
    expect(out.system).toBe('You are a helpful assistant.');
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: "What's the weather like in Boston today?" }] },
      {
        role: 'assistant',
        content: [{ type: 'tool_call', id: 'call_abc123', name: 'get_current_weather', arguments: '{\n"location": "Boston, MA"\n}' }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool_result',
            toolCallId: 'call_abc123',
            name: 'get_current_weather',
            content: '{"temperature": 22, "unit": "celsius", "description": "Sunny"}',
          },
        ],
      },
    ]);
    expect(out.tools).toEqual([
      {
        name: 'get_current_weather',
        description: 'Get the current weather in a given location',
        parameters: (fixture('chat-request-tools.json').tools as Array<{ function: { parameters: unknown } }>)[0]!.function.parameters,
      },
    ]);
    expect(out.toolChoice).toBe('auto');
    expect(out.sameFormatOnly).toEqual([]);
  });

  it('vision: an https image becomes a url source, max_tokens the limit, detail is dropped', () => {
    const out = canon(fixture('chat-request-vision.json'));
    expect(out.maxTokens).toBe(300);
    expect(out.messages[0]!.content).toEqual([
      { type: 'text', text: "What's in this image?" },
      {
        type: 'image',
        source: {
          kind: 'url',
          url: 'https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg',
        },
      },
    ]);
    expect(out.sameFormatOnly).toEqual([]);
  });

  it('json mode: response format, sampling fields and seed; `user` is dropped', () => {
    const out = canon(fixture('chat-request-json-mode.json'));
    expect(out).toMatchObject({ responseFormat: { type: 'json' }, temperature: 0.2, topP: 1, seed: 42, sameFormatOnly: [] });
  });

  it('json schema: name, schema and strict', () => {
    const body = fixture('chat-request-json-schema.json');
    const js = (body.response_format as { json_schema: Rec }).json_schema;
    expect(canon(body).responseFormat).toEqual({ type: 'json_schema', name: 'math_reasoning', schema: js.schema, strict: true });
  });

  it('stream with include_usage', () => {
    const out = canon({ ...fixture('chat-request-stream.json'), stream_options: { include_usage: true } });
    expect(out.stream).toBe(true);
    expect(out.includeUsage).toBe(true);
    expect(canon(fixture('chat-request-stream.json')).includeUsage).toBeUndefined();
    expect(canon({ ...fixture('chat-request-stream.json'), stream_options: { include_usage: false } }).includeUsage).toBe(false);
  });

  it('legacy function_call / function messages become a tool call and its result with a shared synthesised id', () => {
    const out = canon(fixture('chat-request-legacy-functions.json'));
    expect(out.messages[1]).toEqual({
      role: 'assistant',
      content: [{ type: 'tool_call', id: 'function_call_0', name: 'get_current_weather', arguments: '{\n  "location": "Boston, MA"\n}' }],
    });
    expect(out.messages[2]).toEqual({
      role: 'tool',
      content: [
        {
          type: 'tool_result',
          toolCallId: 'function_call_0',
          name: 'get_current_weather',
          content: '{"temperature": "22", "unit": "celsius", "description": "Sunny"}',
        },
      ],
    });
    // The answer to a `functions` request must come back as `function_call`, which translation cannot give.
    expect(out.sameFormatOnly).toEqual(['functions']);
  });
});

describe('toCanonicalRequest: field rules', () => {
  it('joins every system and developer message, wherever it sits, in order', () => {
    const out = canon({
      model: 'm',
      messages: [
        { role: 'system', content: 'One.' },
        { role: 'user', content: 'Hi' },
        {
          role: 'developer',
          content: [
            { type: 'text', text: 'Two a.' },
            { type: 'text', text: 'Two b.' },
          ],
        },
        { role: 'system', content: '' },
        { role: 'assistant', content: 'Hello' },
        { role: 'system', content: 'Three.' },
      ],
    });
    expect(out.system).toBe('One.\n\nTwo a.\n\nTwo b.\n\nThree.');
    expect(out.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(canon(base()).system).toBeUndefined();
  });

  it('image urls: base64 data URIs, http(s) urls; anything else is same-format only', () => {
    expect(imageSourceFromUrl('data:image/png;base64,iVBORw0KGgo=')).toEqual({ kind: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' });
    expect(imageSourceFromUrl('data:IMAGE/JPEG;name=a.jpg;base64,/9j/4AAQ')).toEqual({ kind: 'base64', mediaType: 'image/jpeg', data: '/9j/4AAQ' });
    expect(imageSourceFromUrl('http://example.com/a.png')).toEqual({ kind: 'url', url: 'http://example.com/a.png' });
    expect(imageSourceFromUrl('data:image/svg+xml,<svg/>')).toBeUndefined();
    expect(imageSourceFromUrl('data:;base64,AAAA')).toBeUndefined();
    expect(imageSourceFromUrl('file:///etc/passwd')).toBeUndefined();

    const out = canon(
      base({
        messages: [
          { role: 'user', content: 'first' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'look' },
              { type: 'image_url', image_url: { url: 'data:image/webp;base64,UklGRg==', detail: 'high' } },
              { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
              { type: 'file', file: { file_id: 'file-abc' } },
              { type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } },
            ],
          },
        ],
      }),
    );
    expect(out.messages[1]!.content).toEqual([
      { type: 'text', text: 'look' },
      { type: 'image', source: { kind: 'base64', mediaType: 'image/webp', data: 'UklGRg==' } },
    ]);
    expect(out.sameFormatOnly).toEqual(['messages[1].content[2]', 'messages[1].content[3]', 'messages[1].content[4]']);
  });

  it('max_completion_tokens wins over max_tokens; nulls mean unset', () => {
    expect(canon(base({ max_tokens: 100, max_completion_tokens: 50 })).maxTokens).toBe(50);
    expect(canon(base({ max_tokens: 100, max_completion_tokens: null })).maxTokens).toBe(100);
    const out = canon(base({ max_tokens: null, temperature: null, top_p: null, seed: null, stop: null, presence_penalty: null }));
    for (const k of ['maxTokens', 'temperature', 'topP', 'seed', 'stop', 'presencePenalty'] as const) expect(out[k]).toBeUndefined();
  });

  it('stop as a string or a list; penalties; parallel_tool_calls', () => {
    expect(canon(base({ stop: 'END' })).stop).toEqual(['END']);
    expect(canon(base({ stop: ['a', 'b'] })).stop).toEqual(['a', 'b']);
    expect(canon(base({ stop: [] })).stop).toBeUndefined();
    expect(canon(base({ presence_penalty: 0.5, frequency_penalty: -1 }))).toMatchObject({ presencePenalty: 0.5, frequencyPenalty: -1 });
    const tools = [{ type: 'function', function: { name: 'f' } }];
    expect(canon(base({ tools, parallel_tool_calls: false })).parallelToolCalls).toBe(false);
  });

  it('tool choices: none, auto, required, a named function; others are same-format only', () => {
    const tools = [{ type: 'function', function: { name: 'f', strict: true } }];
    for (const c of ['none', 'auto', 'required'] as const) expect(canon(base({ tools, tool_choice: c })).toolChoice).toBe(c);
    expect(canon(base({ tools, tool_choice: { type: 'function', function: { name: 'f' } } })).toolChoice).toEqual({ name: 'f' });
    // `strict` on a function is dropped: the call still works, only exact schema adherence is not guaranteed.
    expect(canon(base({ tools })).tools).toEqual([{ name: 'f' }]);

    const allowed = canon(
      base({ tools, tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'f' } }] } } }),
    );
    expect(allowed.toolChoice).toBeUndefined();
    expect(allowed.sameFormatOnly).toEqual(['tool_choice']);
    expect(canon(base({ tools, tool_choice: { type: 'custom', custom: { name: 'g' } } })).sameFormatOnly).toEqual(['tool_choice']);
  });

  it('custom tools and custom tool calls are same-format only', () => {
    const out = canon({
      model: 'm',
      tools: [
        { type: 'function', function: { name: 'f' } },
        { type: 'custom', custom: { name: 'g' } },
      ],
      messages: [
        { role: 'user', content: 'go' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } },
            { id: 'call_2', type: 'custom', custom: { name: 'g', input: 'x' } },
          ],
        },
      ],
    });
    expect(out.tools).toEqual([{ name: 'f' }]);
    expect(out.messages[1]!.content).toEqual([{ type: 'tool_call', id: 'call_1', name: 'f', arguments: '{}' }]);
    expect(out.sameFormatOnly).toEqual(['messages[1].tool_calls[1]', 'tools[1]']);
  });

  it('lists answer-changing fields as same-format only, ignores their default values, drops bookkeeping fields', () => {
    const listed = {
      n: 2,
      logprobs: true,
      top_logprobs: 3,
      logit_bias: { '50256': -100 },
      audio: { voice: 'alloy', format: 'wav' },
      modalities: ['text', 'audio'],
      prediction: { type: 'content', content: 'x' },
      reasoning_effort: 'low',
      web_search_options: { search_context_size: 'low' },
      function_call: 'auto',
      verbosity: 'low',
      some_new_field: 1,
    };
    expect(canon(base(listed)).sameFormatOnly).toEqual(Object.keys(listed));

    const inert = { n: 1, logprobs: false, top_logprobs: null, logit_bias: {}, modalities: ['text'], audio: null, prediction: null, functions: [] };
    expect(canon(base(inert)).sameFormatOnly).toEqual([]);

    const dropped = {
      user: 'u-1',
      metadata: { a: 'b' },
      store: true,
      service_tier: 'flex',
      safety_identifier: 'hash',
      prompt_cache_key: 'k',
      prompt_cache_retention: '24h',
    };
    expect(canon(base(dropped)).sameFormatOnly).toEqual([]);
  });

  it('assistant turns: null or empty content beside tool calls, text parts, refusal', () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } };
    const msgs = (assistant: Rec) =>
      canon({
        model: 'm',
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', ...assistant },
        ],
      }).messages[1]!.content;
    const toolPart = { type: 'tool_call', id: 'call_1', name: 'f', arguments: '{"a":1}' };
    expect(msgs({ content: null, tool_calls: [call] })).toEqual([toolPart]);
    expect(msgs({ content: '', tool_calls: [call] })).toEqual([toolPart]);
    expect(msgs({ content: 'Let me check.', tool_calls: [call] })).toEqual([{ type: 'text', text: 'Let me check.' }, toolPart]);
    expect(
      msgs({
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      }),
    ).toEqual([{ type: 'text', text: 'ab' }]);
    expect(msgs({ content: [{ type: 'refusal', refusal: 'No.' }] })).toEqual([{ type: 'text', text: 'No.' }]);
    expect(msgs({ content: '', refusal: 'I cannot help.' })).toEqual([{ type: 'text', text: 'I cannot help.' }]);
    expect(msgs({ content: '' })).toEqual([{ type: 'text', text: '' }]);
  });

  it('consecutive tool messages form one tool turn; text-part results are concatenated; unknown ids carry no name', () => {
    const out = canon({
      model: 'm',
      messages: [
        { role: 'user', content: 'x' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'a', type: 'function', function: { name: 'fa', arguments: '{}' } },
            { id: 'b', type: 'function', function: { name: 'fb', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'a', content: 'ra' },
        {
          role: 'tool',
          tool_call_id: 'b',
          content: [
            { type: 'text', text: 'r' },
            { type: 'text', text: 'b' },
          ],
        },
        { role: 'tool', tool_call_id: 'zz', content: 'orphan' },
        { role: 'user', content: 'thanks' },
      ],
    });
    expect(out.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'user']);
    expect(out.messages[2]!.content).toEqual([
      { type: 'tool_result', toolCallId: 'a', name: 'fa', content: 'ra' },
      { type: 'tool_result', toolCallId: 'b', name: 'fb', content: 'rb' },
      { type: 'tool_result', toolCallId: 'zz', content: 'orphan' },
    ]);
  });

  it('legacy function results match the latest pending call of that name', () => {
    const out = canon({
      model: 'm',
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } },
        { role: 'function', name: 'f', content: null },
        { role: 'function', name: 'g', content: 'unasked' },
      ],
    });
    expect(out.messages[2]!.content).toEqual([
      { type: 'tool_result', toolCallId: 'function_call_0', name: 'f', content: '' },
      { type: 'tool_result', toolCallId: 'function_call_1', name: 'g', content: 'unasked' },
    ]);
  });

  it('json_schema without a json_schema object or name is a 400 naming the field; without a schema it asks for JSON', () => {
    expect(thrown(() => canon(base({ response_format: { type: 'json_schema' } }))).opts.param).toBe('response_format.json_schema');
    const noName = thrown(() => canon(base({ response_format: { type: 'json_schema', json_schema: { schema: {} } } })));
    expect(noName.status).toBe(400);
    expect(noName.opts.param).toBe('response_format.json_schema.name');
    expect(thrown(() => canon(base({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema: [] } } }))).opts.param).toBe(
      'response_format.json_schema.schema',
    );
    expect(canon(base({ response_format: { type: 'json_schema', json_schema: { name: 'x' } } })).responseFormat).toEqual({ type: 'json' });
    expect(canon(base({ response_format: { type: 'text' } })).responseFormat).toEqual({ type: 'text' });
  });
});

const req = (extra: Partial<CanonicalRequest> = {}): CanonicalRequest => ({
  model: 'caller-model',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
  stream: false,
  sameFormatOnly: [],
  ...extra,
});

describe('toOpenAIRequestBody', () => {
  it('round-trips the documented tools request', () => {
    const body = fixture('chat-request-tools.json');
    expect(toOpenAIRequestBody(canon(body), 'gpt-4o-mini')).toEqual(body);
  });

  it('round-trips the documented vision and json schema requests', () => {
    const vision = fixture('chat-request-vision.json');
    const v = vision.messages as Array<{ content: Array<{ image_url?: Rec }> }>;
    delete v[0]!.content[1]!.image_url!.detail;
    expect(toOpenAIRequestBody(canon(fixture('chat-request-vision.json')), 'gpt-4o-mini')).toEqual(vision);
    const schema = fixture('chat-request-json-schema.json');
    expect(toOpenAIRequestBody(canon(schema), 'gpt-4o-2024-08-06')).toEqual(schema);
  });

  it('uses the upstream model, puts the system prompt first, and maps the sampling fields', () => {
    const body = toOpenAIRequestBody(
      req({ system: 'Be brief.', maxTokens: 64, temperature: 0.3, topP: 0.9, topK: 40, stop: ['x'], seed: 7, presencePenalty: 0.1, frequencyPenalty: 0.2 }),
      'gpt-4.1',
    );
    expect(body).toEqual({
      model: 'gpt-4.1',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      max_tokens: 64,
      temperature: 0.3,
      top_p: 0.9,
      stop: ['x'],
      seed: 7,
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
    });
  });

  it('always asks for stream usage when streaming, whatever the caller asked', () => {
    expect(toOpenAIRequestBody(req({ stream: true, includeUsage: false }), 'm')).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(toOpenAIRequestBody(req({ stream: true }), 'm')).toMatchObject({ stream_options: { include_usage: true } });
    const plain = toOpenAIRequestBody(req({ includeUsage: true }), 'm');
    expect('stream' in plain || 'stream_options' in plain).toBe(false);
  });

  it('images become image_url parts; base64 as a data URI', () => {
    const body = toOpenAIRequestBody(
      req({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Compare' },
              { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } },
              { type: 'image', source: { kind: 'url', url: 'https://example.com/b.jpg' } },
            ],
          },
        ],
      }),
      'm',
    );
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          { type: 'image_url', image_url: { url: 'https://example.com/b.jpg' } },
        ],
      },
    ]);
  });

  it('assistant text parts are concatenated; tool calls go in tool_calls with null content when there is no text', () => {
    const body = toOpenAIRequestBody(
      req({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'go' }] },
          {
            role: 'assistant',
            content: [
              { type: 'text', text: 'Checking. ' },
              { type: 'tool_call', id: 'toolu_1', name: 'f', arguments: '{"a":1}' },
              { type: 'text', text: 'Done.' },
            ],
          },
          { role: 'assistant', content: [{ type: 'tool_call', id: 'call_0', name: 'g', arguments: '{}' }] },
          { role: 'assistant', content: [] },
        ],
      }),
      'm',
    );
    expect((body.messages as Rec[]).slice(1)).toEqual([
      { role: 'assistant', content: 'Checking. Done.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'g', arguments: '{}' } }] },
      { role: 'assistant', content: '' },
    ]);
  });

  it('tool results become tool messages (isError and name are dropped); other parts of that turn follow as a user message', () => {
    const body = toOpenAIRequestBody(
      req({
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'go' }] },
          {
            role: 'assistant',
            content: [
              { type: 'tool_call', id: 'c1', name: 'f', arguments: '{}' },
              { type: 'tool_call', id: 'c2', name: 'f', arguments: '{}' },
            ],
          },
          {
            role: 'tool',
            content: [
              { type: 'tool_result', toolCallId: 'c1', name: 'f', content: 'one' },
              { type: 'tool_result', toolCallId: 'c2', content: 'boom', isError: true },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', toolCallId: 'c3', content: 'late' },
              { type: 'text', text: 'and?' },
            ],
          },
        ],
      }),
      'm',
    );
    expect((body.messages as Rec[]).slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'c1', content: 'one' },
      { role: 'tool', tool_call_id: 'c2', content: 'boom' },
      { role: 'tool', tool_call_id: 'c3', content: 'late' },
      { role: 'user', content: 'and?' },
    ]);
  });

  it('tools, tool choice and parallel_tool_calls; choice and parallel flag only with tools', () => {
    const tools = [{ name: 'f', description: 'd', parameters: { type: 'object' } }, { name: 'g' }];
    const body = toOpenAIRequestBody(req({ tools, toolChoice: { name: 'g' }, parallelToolCalls: false }), 'm');
    expect(body.tools).toEqual([
      { type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } },
      { type: 'function', function: { name: 'g' } },
    ]);
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'g' } });
    expect(body.parallel_tool_calls).toBe(false);
    expect(toOpenAIRequestBody(req({ tools, toolChoice: 'required' }), 'm').tool_choice).toBe('required');

    const bare = toOpenAIRequestBody(req({ tools: [], toolChoice: 'auto', parallelToolCalls: true }), 'm');
    expect(Object.keys(bare)).toEqual(['model', 'messages']);
    expect(toOpenAIRequestBody(req({ toolChoice: 'none' }), 'm').tool_choice).toBeUndefined();
    expect(thrown(() => toOpenAIRequestBody(req({ toolChoice: 'required' }), 'm')).opts.param).toBe('tool_choice');
    expect(thrown(() => toOpenAIRequestBody(req({ toolChoice: { name: 'f' } }), 'm')).status).toBe(400);
  });

  it('response formats, with a default schema name', () => {
    expect(toOpenAIRequestBody(req({ responseFormat: { type: 'json' } }), 'm').response_format).toEqual({ type: 'json_object' });
    expect(toOpenAIRequestBody(req({ responseFormat: { type: 'text' } }), 'm').response_format).toEqual({ type: 'text' });
    expect(toOpenAIRequestBody(req({ responseFormat: { type: 'json_schema', schema: { type: 'object' } } }), 'm').response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'response', schema: { type: 'object' } },
    });
  });

  it('refuses what Chat Completions cannot express, naming the field', () => {
    expect(thrown(() => toOpenAIRequestBody(req({ stop: ['1', '2', '3', '4', '5'] }), 'm')).opts.param).toBe('stop');
    const image = thrown(() =>
      toOpenAIRequestBody(req({ messages: [{ role: 'assistant', content: [{ type: 'image', source: { kind: 'url', url: 'https://x/y.png' } }] }] }), 'm'),
    );
    expect(image.status).toBe(400);
    expect(image.opts.param).toBe('messages[0].content[0]');
    expect(
      thrown(() =>
        toOpenAIRequestBody(
          req({
            messages: [
              {
                role: 'user',
                content: [
                  { type: 'text', text: 'a' },
                  { type: 'tool_call', id: 'x', name: 'f', arguments: '{}' },
                ],
              },
            ],
          }),
          'm',
        ),
      ).opts.param,
    ).toBe('messages[0].content[1]');
    expect(
      thrown(() => toOpenAIRequestBody(req({ messages: [{ role: 'assistant', content: [{ type: 'tool_result', toolCallId: 'x', content: '' }] }] }), 'm')).opts
        .param,
    ).toBe('messages[0]');
  });
});

describe('token limit field by backend model', () => {
  const base = {
    model: 'x',
    messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }],
    stream: false,
    maxTokens: 50,
    sameFormatOnly: [],
  };
  it('reasoning models get max_completion_tokens, others max_tokens', () => {
    expect(toOpenAIRequestBody(base, 'gpt-5-mini')).toMatchObject({ max_completion_tokens: 50 });
    expect(toOpenAIRequestBody(base, 'gpt-5-mini')).not.toHaveProperty('max_tokens');
    expect(toOpenAIRequestBody(base, 'openai/o4-mini')).toMatchObject({ max_completion_tokens: 50 });
    expect(toOpenAIRequestBody(base, 'gpt-4o-mini')).toMatchObject({ max_tokens: 50 });
    expect(toOpenAIRequestBody(base, 'llama-3.3-70b-versatile')).toMatchObject({ max_tokens: 50 });
  });
});
