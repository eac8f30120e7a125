import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { CanonicalMessage, CanonicalRequest } from '../canonical/types.js';
import { FOREIGN_THOUGHT_SIGNATURE, buildGeminiRequest, functionResponseBody } from './build.js';
import { parseGeminiRequest } from './request.js';

const req = (messages: CanonicalMessage[], extra: Partial<CanonicalRequest> = {}): CanonicalRequest => ({
  model: 'gpt-4o',
  messages,
  stream: false,
  sameFormatOnly: [],
  ...extra,
});
const userText = (text: string): CanonicalMessage => ({ role: 'user', content: [{ type: 'text', text }] });

function refusal(r: CanonicalRequest): GatewayError {
  try {
    buildGeminiRequest(r);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(400);
    return err as GatewayError;
  }
  throw new Error('expected the request to be refused');
}

describe('buildGeminiRequest', () => {
  it('a plain chat: system instruction, alternating turns, generation config', () => {
    const body = buildGeminiRequest(
      req([userText('Hi'), { role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] }, userText('How are you?')], {
        system: 'Be brief.',
        maxTokens: 50,
        temperature: 0.3,
        topP: 0.9,
        topK: 20,
        stop: ['END'],
        seed: 1,
        presencePenalty: 0.1,
        frequencyPenalty: 0.2,
        parallelToolCalls: false,
        includeUsage: true,
      }),
    );
    expect(body).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'Hi' }] },
        { role: 'model', parts: [{ text: 'Hello!' }] },
        { role: 'user', parts: [{ text: 'How are you?' }] },
      ],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: {
        maxOutputTokens: 50,
        temperature: 0.3,
        topP: 0.9,
        topK: 20,
        stopSequences: ['END'],
        seed: 1,
        presencePenalty: 0.1,
        frequencyPenalty: 0.2,
      },
    });
  });

  it('no generation config, system or tools when there are none', () => {
    expect(buildGeminiRequest(req([userText('x')]))).toEqual({ contents: [{ role: 'user', parts: [{ text: 'x' }] }] });
  });

  it('merges consecutive same-role turns: tool results and a following user message share one user turn', () => {
    const body = buildGeminiRequest(
      req([
        userText('Weather in Paris and London?'),
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Checking.' },
            { type: 'tool_call', id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' },
            { type: 'tool_call', id: 'call_b', name: 'weather', arguments: '{"city":"London"}' },
          ],
        },
        { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_a', content: '{"temp":21}' }] },
        { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_b', name: 'weather', content: 'rainy, 15C' }] },
        userText('And tomorrow?'),
      ]),
    );
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris and London?' }] },
      {
        role: 'model',
        parts: [
          { text: 'Checking.' },
          { functionCall: { name: 'weather', args: { city: 'Paris' } }, thoughtSignature: FOREIGN_THOUGHT_SIGNATURE },
          { functionCall: { name: 'weather', args: { city: 'London' } }, thoughtSignature: FOREIGN_THOUGHT_SIGNATURE },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'weather', response: { temp: 21 } } },
          { functionResponse: { name: 'weather', response: { result: 'rainy, 15C' } } },
          { text: 'And tomorrow?' },
        ],
      },
    ]);
  });

  it('a result finds its function name from the nearest earlier call with its id', () => {
    const body = buildGeminiRequest(
      req([
        userText('a'),
        { role: 'assistant', content: [{ type: 'tool_call', id: 'call_0', name: 'first', arguments: '{}' }] },
        { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_0', content: '1' }] },
        { role: 'assistant', content: [{ type: 'tool_call', id: 'call_0', name: 'second', arguments: '' }] },
        { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_0', content: '2' }] },
      ]),
    );
    const contents = body.contents as Array<{ parts: Array<Record<string, { name: string; args?: unknown }>> }>;
    expect(contents[3]!.parts[0]!.functionCall).toEqual({ name: 'second', args: {} });
    expect(contents[4]!.parts[0]!.functionResponse!.name).toBe('second');
  });

  it('a result whose function cannot be found is a 400 naming the message', () => {
    const err = refusal(req([userText('a'), { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_x', content: 'r' }] }]));
    expect(err.opts.param).toBe('messages[1]');
    expect(err.message).toContain('call_x');
  });

  it('arguments that are not a JSON object are a 400 naming them', () => {
    for (const args of ['[1,2]', '{"a":', '"s"']) {
      const err = refusal(req([userText('a'), { role: 'assistant', content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: args }] }]));
      expect(err.opts.param).toBe('messages[1].content[0].arguments');
    }
  });

  it('images: base64 and data URIs inline, http(s) and gs:// URLs as fileData typed by extension', () => {
    const body = buildGeminiRequest(
      req([
        {
          role: 'user',
          content: [
            { type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { kind: 'url', url: 'data:image/webp;base64,UklGRg==' } },
            { type: 'image', source: { kind: 'url', url: 'https://example.com/photos/cat.jpeg?size=large#top' } },
            { type: 'image', source: { kind: 'url', url: 'gs://bucket/dog.PNG' } },
          ],
        },
      ]),
    );
    expect((body.contents as Array<{ parts: unknown[] }>)[0]!.parts).toEqual([
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { inlineData: { mimeType: 'image/webp', data: 'UklGRg==' } },
      { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/photos/cat.jpeg?size=large#top' } },
      { fileData: { mimeType: 'image/png', fileUri: 'gs://bucket/dog.PNG' } },
    ]);
  });

  it.each([
    ['https://example.com/image?id=3', 'cannot be told'],
    ['https://example.com/anim.gif', 'cannot be told'],
    ['ftp://example.com/a.png', 'http(s)'],
    ['data:image/png,rawbytes', 'base64'],
  ])('an image URL Gemini cannot take (%s) is a 400 naming the part', (url, words) => {
    const err = refusal(
      req([
        {
          role: 'user',
          content: [
            { type: 'text', text: 'x' },
            { type: 'image', source: { kind: 'url', url } },
          ],
        },
      ]),
    );
    expect(err.opts.param).toBe('messages[0].content[1]');
    expect(err.message).toContain(words);
  });

  it('tools with JSON Schema parameters and every tool choice', () => {
    const tools = [
      {
        name: 'get_weather',
        description: 'Weather now',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, additionalProperties: false },
      },
      { name: 'now' },
    ];
    const build = (toolChoice?: CanonicalRequest['toolChoice']) => buildGeminiRequest(req([userText('x')], { tools, ...(toolChoice ? { toolChoice } : {}) }));
    expect(build().tools).toEqual([
      { functionDeclarations: [{ name: 'get_weather', description: 'Weather now', parametersJsonSchema: tools[0]!.parameters }, { name: 'now' }] },
    ]);
    expect(build().toolConfig).toBeUndefined();
    expect(build('auto').toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
    expect(build('none').toolConfig).toEqual({ functionCallingConfig: { mode: 'NONE' } });
    expect(build('required').toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(build({ name: 'now' }).toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['now'] } });
    // A tool choice without tools has nothing to choose from.
    expect(buildGeminiRequest(req([userText('x')], { toolChoice: 'none' })).toolConfig).toBeUndefined();
  });

  it('response formats', () => {
    const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };
    expect(buildGeminiRequest(req([userText('x')], { responseFormat: { type: 'json' } })).generationConfig).toEqual({ responseMimeType: 'application/json' });
    expect(buildGeminiRequest(req([userText('x')], { responseFormat: { type: 'json_schema', name: 'n', strict: true, schema } })).generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseJsonSchema: schema,
    });
    expect(buildGeminiRequest(req([userText('x')], { responseFormat: { type: 'text' } })).generationConfig).toBeUndefined();
  });

  it('more than 5 stop sequences is a 400 naming stop', () => {
    expect(refusal(req([userText('x')], { stop: ['1', '2', '3', '4', '5', '6'] })).opts.param).toBe('stop');
  });

  it('empty text parts and empty messages are left out; nothing at all to send is a 400', () => {
    const body = buildGeminiRequest(req([userText('a'), { role: 'assistant', content: [{ type: 'text', text: '' }] }, userText('b')]));
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }]);
    expect(refusal(req([userText('')])).opts.param).toBe('messages');
  });

  it('refuses parts a Gemini turn cannot hold', () => {
    expect(
      refusal(req([userText('a'), { role: 'assistant', content: [{ type: 'image', source: { kind: 'base64', mediaType: 'image/png', data: 'x' } }] }])).opts
        .param,
    ).toBe('messages[1].content[0]');
    expect(refusal(req([{ role: 'user', content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: '{}' }] }])).opts.param).toBe('messages[0].content[0]');
  });
});

describe('functionResponseBody', () => {
  it.each<[string, boolean | undefined, Record<string, unknown>]>([
    ['{"temp":21}', undefined, { temp: 21 }],
    ['sunny', undefined, { result: 'sunny' }],
    ['[1,2]', undefined, { result: [1, 2] }],
    ['42', false, { result: 42 }],
    ['"quoted"', undefined, { result: 'quoted' }],
    ['', undefined, { result: '' }],
    ['city not found', true, { error: 'city not found' }],
    ['{"code":404}', true, { error: { code: 404 } }],
  ])('%j (error: %s) → %j', (content, isError, expected) => {
    expect(functionResponseBody(content, isError)).toEqual(expected);
  });
});

describe('Gemini → canonical → Gemini', () => {
  const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));

  it('function calling history survives the round trip', () => {
    const body = buildGeminiRequest(parseGeminiRequest(fixture('request-function-response.json'), { pathModel: 'm' }));
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Turn the lights down to a romantic level' }] },
      {
        role: 'model',
        parts: [{ functionCall: { name: 'set_light_values', args: { brightness: 25, color_temp: 'warm' } }, thoughtSignature: FOREIGN_THOUGHT_SIGNATURE }],
      },
      { role: 'user', parts: [{ functionResponse: { name: 'set_light_values', response: { brightness: 25, colorTemperature: 'warm' } } }] },
    ]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['set_light_values'] } });
  });

  it('an inline image survives the round trip', () => {
    const original = fixture('request-vision.json') as { contents: Array<{ parts: Array<{ inline_data?: { data: string } }> }> };
    const body = buildGeminiRequest(parseGeminiRequest(original, { pathModel: 'm' }));
    expect(body.contents).toEqual([
      {
        role: 'user',
        parts: [{ inlineData: { mimeType: 'image/jpeg', data: original.contents[0]!.parts[0]!.inline_data!.data } }, { text: 'Caption this image.' }],
      },
    ]);
  });
});
