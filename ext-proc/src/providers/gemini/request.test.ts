import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { InboundContext } from '../canonical/format.js';
import { renderGeminiError } from './errors.js';
import { parseGeminiRequest } from './request.js';

const fixture = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as Record<string, unknown>;

const inbound: InboundContext = { pathModel: 'gemini-2.5-flash', stream: false };
const parse = (body: unknown, ctx: InboundContext = inbound) => parseGeminiRequest(body, ctx);
const user = (text = 'Hello') => ({ role: 'user', parts: [{ text }] });
const base = (extra: Record<string, unknown> = {}) => ({ contents: [user()], ...extra });

function rejection(body: unknown): GatewayError {
  try {
    parse(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error(`expected ${JSON.stringify(body)?.slice(0, 200)} to be rejected`);
}

function expect400(body: unknown, param: string) {
  const err = rejection(body);
  expect(err.status).toBe(400);
  expect(err.kind).toBe('invalid_request');
  expect(err.opts.param).toBe(param);
  return err;
}

describe('parseGeminiRequest: documented request shapes', () => {
  it('system instruction (snake_case) and generation config', () => {
    const out = parse(fixture('request-text.json'), { pathModel: 'gemini-2.5-flash', stream: true });
    expect(out).toEqual({
      model: 'gemini-2.5-flash',
      system: 'You are a cat. Your name is Neko.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }],
      stream: true,
      stop: ['Title'],
      temperature: 1,
      maxTokens: 800,
      topP: 0.8,
      topK: 10,
      sameFormatOnly: [],
    });
  });

  it('multi-turn chat: model turns become assistant messages', () => {
    const out = parse(fixture('request-chat.json'));
    expect(out.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(out.messages[1]!.content).toEqual([{ type: 'text', text: 'Great to meet you. What would you like to know?' }]);
    expect(out.stream).toBe(false);
    expect(out.system).toBeUndefined();
  });

  it('inline_data image (snake_case, as in the curl examples) becomes a base64 image part', () => {
    const out = parse(fixture('request-vision.json'));
    expect(out.messages).toHaveLength(1);
    const [image, text] = out.messages[0]!.content;
    expect(image).toMatchObject({ type: 'image', source: { kind: 'base64', mediaType: 'image/jpeg' } });
    expect((image as { source: { data: string } }).source.data.startsWith('/9j/')).toBe(true);
    expect(text).toEqual({ type: 'text', text: 'Caption this image.' });
    expect(out.sameFormatOnly).toEqual([]);
  });

  it('function declarations with an OpenAPI-style schema become JSON Schema tools', () => {
    const out = parse(fixture('request-function-calling.json'));
    expect(out.tools).toHaveLength(1);
    expect(out.tools![0]).toMatchObject({ name: 'schedule_meeting', description: 'Schedules a meeting with specified attendees at a given time and date.' });
    expect(out.tools![0]!.parameters).toMatchObject({
      type: 'object',
      required: ['attendees', 'date', 'time', 'topic'],
      properties: { attendees: { type: 'array', items: { type: 'string' } } },
    });
    expect(out.toolChoice).toBeUndefined();
  });

  it('function call history: call ids are synthesised and the response matched to them', () => {
    const out = parse(fixture('request-function-response.json'));
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Turn the lights down to a romantic level' }] },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'call_0', name: 'set_light_values', arguments: '{"brightness":25,"color_temp":"warm"}' }] },
      {
        role: 'tool',
        content: [{ type: 'tool_result', toolCallId: 'call_0', name: 'set_light_values', content: '{"brightness":25,"colorTemperature":"warm"}' }],
      },
    ]);
    // snake_case tool config; the upper-case OpenAPI types are converted and property names kept.
    expect(out.toolChoice).toEqual({ name: 'set_light_values' });
    expect(out.tools![0]!.parameters).toEqual({
      type: 'object',
      properties: {
        brightness: { type: 'integer', description: 'Light level from 0 to 100. Zero is off and 100 is full brightness' },
        color_temp: {
          type: 'string',
          enum: ['daylight', 'cool', 'warm'],
          description: 'Color temperature of the light fixture, which can be `daylight`, `cool` or `warm`.',
        },
      },
      required: ['brightness', 'color_temp'],
    });
  });

  it('responseSchema becomes a json_schema response format', () => {
    const out = parse(fixture('request-json-schema.json'));
    expect(out.responseFormat).toEqual({
      type: 'json_schema',
      schema: {
        type: 'array',
        items: { type: 'object', properties: { recipeName: { type: 'string' }, ingredients: { type: 'array', items: { type: 'string' } } } },
      },
    });
  });
});

describe('parseGeminiRequest: model and streaming come from the URL', () => {
  it('takes the path model, dropping a models/ prefix; streaming from the URL only', () => {
    expect(parse(base(), { pathModel: 'models/gemini-2.0-flash', stream: true })).toMatchObject({ model: 'gemini-2.0-flash', stream: true });
    expect(parse(base({ stream: true }), { pathModel: 'm' }).stream).toBe(false);
  });

  it('a body model is used only when the URL has none; no model at all is a 400', () => {
    expect(parse(base({ model: 'models/x' }), {}).model).toBe('x');
    expect(parse(base({ model: 'models/x' }), { pathModel: 'y' }).model).toBe('y');
    expect(() => parse(base(), {})).toThrow(GatewayError);
  });
});

describe('parseGeminiRequest: function calls and responses', () => {
  const call = (name: string, args: Record<string, unknown> = {}) => ({ functionCall: { name, args } });
  const resp = (name: string, response: Record<string, unknown>, id?: string) => ({ functionResponse: { name, response, ...(id ? { id } : {}) } });

  it('numbers calls across the conversation and matches parallel responses in order by name', () => {
    const out = parse({
      contents: [
        user('Weather in Paris and London, and the time?'),
        { role: 'model', parts: [call('weather', { city: 'Paris' }), call('weather', { city: 'London' }), call('time')] },
        { role: 'user', parts: [resp('time', { output: '10:00' }), resp('weather', { temp: 21 }), resp('weather', { temp: 15 })] },
        { role: 'model', parts: [{ text: 'Done.' }, call('weather', { city: 'Rome' })] },
        { role: 'user', parts: [resp('weather', { temp: 25 }), { text: 'Thanks' }] },
      ],
    });
    const calls = out.messages.flatMap((m) => m.content).filter((p) => p.type === 'tool_call');
    expect(calls.map((c) => c.id)).toEqual(['call_0', 'call_1', 'call_2', 'call_3']);
    const results = out.messages.flatMap((m) => m.content).filter((p) => p.type === 'tool_result');
    expect(results.map((r) => [r.toolCallId, r.name, r.content])).toEqual([
      ['call_2', 'time', '10:00'],
      ['call_0', 'weather', '{"temp":21}'],
      ['call_1', 'weather', '{"temp":15}'],
      ['call_3', 'weather', '{"temp":25}'],
    ]);
    // A user turn holding results and text splits into a tool message and a user message.
    expect(out.messages.slice(-2).map((m) => m.role)).toEqual(['tool', 'user']);
    expect(out.messages[out.messages.length - 1]!.content).toEqual([{ type: 'text', text: 'Thanks' }]);
  });

  it('keeps ids the caller gave and matches responses by id first', () => {
    const out = parse({
      contents: [
        user(),
        { role: 'model', parts: [{ functionCall: { name: 'f', args: {}, id: 'a1' } }, { functionCall: { name: 'f', args: {}, id: 'b2' } }] },
        { role: 'user', parts: [resp('f', { v: 2 }, 'b2'), resp('f', { v: 1 }, 'a1')] },
      ],
    });
    const results = out.messages[2]!.content;
    expect(results).toEqual([
      { type: 'tool_result', toolCallId: 'b2', name: 'f', content: '{"v":2}' },
      { type: 'tool_result', toolCallId: 'a1', name: 'f', content: '{"v":1}' },
    ]);
  });

  it('a response to no call in the history still gets an id of its own', () => {
    const out = parse({ contents: [{ role: 'user', parts: [resp('f', { ok: true })] }] });
    expect(out.messages[0]).toEqual({ role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_0', name: 'f', content: '{"ok":true}' }] });
  });

  it('unwraps the documented output/result keys, marks error responses, keeps other objects whole', () => {
    const r = (response: Record<string, unknown>) => {
      const out = parse({ contents: [user(), { role: 'model', parts: [call('f')] }, { role: 'user', parts: [resp('f', response)] }] });
      return out.messages[2]!.content[0];
    };
    expect(r({ output: 'sunny' })).toMatchObject({ content: 'sunny' });
    expect(r({ result: { t: 1 } })).toMatchObject({ content: '{"t":1}' });
    expect(r({ error: 'no such city' })).toEqual({ type: 'tool_result', toolCallId: 'call_0', name: 'f', content: 'no such city', isError: true });
    expect(r({ error: 'x', code: 3 })).toMatchObject({ content: '{"error":"x","code":3}', isError: true });
    expect(r({ output: 1, error: 'x' })).not.toHaveProperty('isError');
    expect(r({ a: 1, b: [2] })).toMatchObject({ content: '{"a":1,"b":[2]}' });
  });

  it('a call without args has empty arguments; the legacy function role reads as a user turn', () => {
    const out = parse({
      contents: [user(), { role: 'model', parts: [{ functionCall: { name: 'now' } }] }, { role: 'function', parts: [resp('now', { t: 1 })] }],
    });
    expect(out.messages[1]!.content[0]).toMatchObject({ arguments: '{}' });
    expect(out.messages[2]!.role).toBe('tool');
  });

  it('refuses calls in user turns and responses in model turns', () => {
    expect400({ contents: [{ role: 'user', parts: [call('f')] }] }, 'contents[0].parts[0].functionCall');
    expect400({ contents: [user(), { role: 'model', parts: [resp('f', {})] }] }, 'contents[1].parts[0].functionResponse');
  });

  it('refuses a part that carries no data, as Google does (INVALID_ARGUMENT)', () => {
    for (const part of [{ text: null }, {}, { inlineData: null, thought: true }]) {
      const err = expect400({ contents: [{ role: 'user', parts: [part] }] }, 'contents[0].parts[0]');
      expect(err.message).toMatch(/no data/);
    }
    expect(JSON.parse(renderGeminiError(expect400({ contents: [user(), { role: 'user', parts: [{ text: null }] }] }, 'contents[1].parts[0]')))).toMatchObject({
      error: { code: 400, status: 'INVALID_ARGUMENT' },
    });
  });

  it('drops thought summaries and signature-only parts, keeps signed text', () => {
    const out = parse({
      contents: [
        user(),
        { role: 'model', parts: [{ text: 'thinking…', thought: true }, { thoughtSignature: 'c2ln' }, { text: 'Answer', thoughtSignature: 'c2ln' }] },
        { role: 'model', parts: [{ text: 'only a thought', thought: true }] },
      ],
    });
    expect(out.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Hello' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Answer' }] },
    ]);
    expect(out.sameFormatOnly).toEqual([]);
  });
});

describe('parseGeminiRequest: media', () => {
  it('image fileData becomes an image URL; mime type from the part or the URL', () => {
    const out = parse({
      contents: [
        {
          parts: [
            { fileData: { mimeType: 'image/png', fileUri: 'https://generativelanguage.googleapis.com/v1beta/files/abc' } },
            { file_data: { file_uri: 'https://example.com/cat.JPG' } },
          ],
        },
      ],
    });
    expect(out.messages[0]!.content).toEqual([
      { type: 'image', source: { kind: 'url', url: 'https://generativelanguage.googleapis.com/v1beta/files/abc' } },
      { type: 'image', source: { kind: 'url', url: 'https://example.com/cat.JPG' } },
    ]);
    expect(out.sameFormatOnly).toEqual([]);
  });

  it('audio, video, documents and images in model turns are Gemini-only', () => {
    const out = parse({
      contents: [
        { parts: [{ inlineData: { mimeType: 'audio/mp3', data: 'AAAA' } }, { text: 'Transcribe' }] },
        { role: 'model', parts: [{ inlineData: { mimeType: 'image/png', data: 'iVBO' } }] },
        {
          parts: [
            { fileData: { mimeType: 'application/pdf', fileUri: 'gs://b/doc.pdf' } },
            { fileData: { fileUri: 'https://example.com/clip', mimeType: 'video/mp4' }, videoMetadata: { startOffset: '1s' } },
          ],
        },
        { role: 'model', parts: [{ executableCode: { language: 'PYTHON', code: 'print(1)' } }] },
      ],
    });
    expect(out.sameFormatOnly).toEqual([
      'contents[0].parts[0].inlineData',
      'contents[1].parts[0].inlineData',
      'contents[2].parts[0].fileData',
      'contents[2].parts[1].videoMetadata',
      'contents[2].parts[1].fileData',
      'contents[3].parts[0].executableCode',
    ]);
    // What can be carried still is.
    expect(out.messages[0]!.content).toEqual([{ type: 'text', text: 'Transcribe' }]);
  });

  it('a part with two kinds of data is a 400 naming it', () => {
    const err = expect400({ contents: [{ parts: [{ text: 'a', inlineData: { mimeType: 'image/png', data: 'x' } }] }] }, 'contents[0].parts[0]');
    expect(err.message).toContain('exactly one of');
  });
});

describe('parseGeminiRequest: generation config', () => {
  it('maps every canonical sampling field', () => {
    const out = parse(
      base({
        generationConfig: {
          maxOutputTokens: 100,
          temperature: 0.2,
          topP: 0.5,
          topK: 3,
          stopSequences: ['a', 'b'],
          seed: 7,
          presencePenalty: 0.5,
          frequencyPenalty: -0.5,
          candidateCount: 1,
        },
      }),
    );
    expect(out).toMatchObject({
      maxTokens: 100,
      temperature: 0.2,
      topP: 0.5,
      topK: 3,
      stop: ['a', 'b'],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      sameFormatOnly: [],
    });
  });

  it('null values read as unset (proto3 JSON)', () => {
    const out = parse(base({ generationConfig: { temperature: null, maxOutputTokens: null }, tools: null, systemInstruction: null }));
    expect(out.temperature).toBeUndefined();
    expect(out.maxTokens).toBeUndefined();
    expect(out.tools).toBeUndefined();
  });

  it('response formats: json, json_schema from responseJsonSchema, text', () => {
    expect(parse(base({ generationConfig: { responseMimeType: 'application/json' } })).responseFormat).toEqual({ type: 'json' });
    const schema = { type: 'object', properties: { a: { type: ['string', 'null'] } }, additionalProperties: false };
    expect(parse(base({ generationConfig: { responseMimeType: 'application/json', responseJsonSchema: schema } })).responseFormat).toEqual({
      type: 'json_schema',
      schema,
    });
    expect(parse(base({ generationConfig: { responseMimeType: 'text/plain' } })).responseFormat).toEqual({ type: 'text' });
  });

  it('nullable and int64-as-string in responseSchema become JSON Schema', () => {
    const out = parse(
      base({
        generationConfig: {
          responseMimeType: 'application/json',
          responseSchema: {
            type: 'OBJECT',
            properties: { tag: { type: 'STRING', enum: ['a'], nullable: true }, list: { type: 'ARRAY', maxItems: '3', items: { type: 'INTEGER' } } },
          },
        },
      }),
    );
    expect(out.responseFormat).toEqual({
      type: 'json_schema',
      schema: {
        type: 'object',
        properties: { tag: { type: ['string', 'null'], enum: ['a', null] }, list: { type: 'array', maxItems: 3, items: { type: 'integer' } } },
      },
    });
  });

  it('candidateCount > 1, thinkingConfig, enum output, non-text modalities and unknown fields are Gemini-only', () => {
    const out = parse(
      base({
        generationConfig: {
          candidateCount: 2,
          thinkingConfig: { thinkingBudget: 0 },
          responseMimeType: 'text/x.enum',
          responseSchema: { type: 'STRING', enum: ['a', 'b'] },
          responseModalities: ['TEXT', 'IMAGE'],
          mediaResolution: 'MEDIA_RESOLUTION_LOW',
        },
      }),
    );
    expect(out.sameFormatOnly).toEqual([
      'generationConfig.candidateCount',
      'generationConfig.responseMimeType',
      'generationConfig.responseModalities',
      'generationConfig.thinkingConfig',
      'generationConfig.mediaResolution',
    ]);
    expect(out.responseFormat).toBeUndefined();
    expect(parse(base({ generationConfig: { responseModalities: ['TEXT'] } })).sameFormatOnly).toEqual([]);
  });

  it('a schema without a JSON mime type is Gemini-only', () => {
    expect(parse(base({ generationConfig: { responseSchema: { type: 'STRING' } } })).sameFormatOnly).toEqual(['generationConfig.responseSchema']);
  });

  it('refuses bad values, naming the field', () => {
    expect400(base({ generationConfig: { temperature: 3 } }), 'generationConfig.temperature');
    expect400(base({ generationConfig: { maxOutputTokens: 0 } }), 'generationConfig.maxOutputTokens');
    expect400(base({ generationConfig: { maxOutputTokens: 1.5 } }), 'generationConfig.maxOutputTokens');
    expect400(base({ generationConfig: { topP: -0.1 } }), 'generationConfig.topP');
    expect400(base({ generationConfig: { stopSequences: ['1', '2', '3', '4', '5', '6'] } }), 'generationConfig.stopSequences');
    expect400(base({ generation_config: { stop_sequences: 'x' } }), 'generationConfig.stopSequences');
    expect400(
      base({ generationConfig: { responseSchema: { type: 'STRING' }, responseJsonSchema: { type: 'string' } } }),
      'generationConfig.responseJsonSchema',
    );
    expect400(base({ generationConfig: { responseMimeType: 'application/json', responseJsonSchema: true } }), 'generationConfig.responseJsonSchema');
  });
});

describe('parseGeminiRequest: tools and tool config', () => {
  const decl = (name: string, extra: Record<string, unknown> = {}) => ({ name, ...extra });
  const tools = (...names: string[]) => [{ functionDeclarations: names.map((n) => decl(n)) }];

  it('parametersJsonSchema is taken as it is; functions from several tool objects are gathered', () => {
    const schema = { type: 'object', properties: { q: { type: 'string' } }, additionalProperties: false, $defs: { x: {} } };
    const out = parse(
      base({ tools: [{ functionDeclarations: [decl('a', { parametersJsonSchema: schema, description: 'A' })] }, { functionDeclarations: [decl('b')] }] }),
    );
    expect(out.tools).toEqual([{ name: 'a', description: 'A', parameters: schema }, { name: 'b' }]);
  });

  it('built-in tools (search, code execution) are Gemini-only, function declarations still read', () => {
    const out = parse(base({ tools: [{ googleSearch: {} }, { codeExecution: {} }, { functionDeclarations: [decl('f')] }] }));
    expect(out.sameFormatOnly).toEqual(['tools[0].googleSearch', 'tools[1].codeExecution']);
    expect(out.tools).toEqual([{ name: 'f' }]);
  });

  it.each([
    [{ mode: 'AUTO' }, 'auto', []],
    [{ mode: 'NONE' }, 'none', []],
    [{ mode: 'ANY' }, 'required', []],
    [{ mode: 'any' }, 'required', []],
    [{ mode: 'ANY', allowedFunctionNames: ['b'] }, { name: 'b' }, []],
    [{ mode: 'ANY', allowedFunctionNames: ['a', 'b'] }, 'required', ['toolConfig.functionCallingConfig.allowedFunctionNames']],
    [{ mode: 'ANY', allowedFunctionNames: ['c', 'b', 'a'] }, 'required', []],
    [{ mode: 'AUTO', allowedFunctionNames: ['a'] }, 'auto', ['toolConfig.functionCallingConfig.allowedFunctionNames']],
    [{ mode: 'VALIDATED' }, undefined, ['toolConfig.functionCallingConfig.mode']],
    [{ mode: 'MODE_UNSPECIFIED' }, undefined, []],
  ])('functionCallingConfig %j → %j', (fcc, choice, only) => {
    const out = parse(base({ tools: tools('a', 'b', 'c'), toolConfig: { functionCallingConfig: fcc } }));
    expect(out.toolChoice).toEqual(choice);
    expect(out.sameFormatOnly).toEqual(only);
  });

  it('other tool config is Gemini-only', () => {
    const out = parse(
      base({
        tools: tools('a'),
        toolConfig: { retrievalConfig: { latLng: { latitude: 1, longitude: 2 } }, functionCallingConfig: { mode: 'AUTO', streamFunctionCallArguments: true } },
      }),
    );
    expect(out.sameFormatOnly).toEqual(['toolConfig.retrievalConfig', 'toolConfig.functionCallingConfig.streamFunctionCallArguments']);
  });

  it('refuses bad declarations, naming the field', () => {
    expect400(base({ tools: [{ functionDeclarations: [decl('1bad')] }] }), 'tools[0].functionDeclarations[0].name');
    expect400(
      base({ tools: [{ functionDeclarations: [decl('f', { parameters: { type: 'OBJECT' }, parametersJsonSchema: { type: 'object' } })] }] }),
      'tools[0].functionDeclarations[0].parametersJsonSchema',
    );
    expect400(base({ toolConfig: { functionCallingConfig: { mode: 'SOMETIMES' } } }), 'toolConfig.functionCallingConfig.mode');
  });

  it('snake_case keys inside JSON Schemas and args are data and stay as written', () => {
    const schema = { type: 'object', properties: { max_items: { type: 'integer' } } };
    const out = parse({
      contents: [
        user(),
        { role: 'model', parts: [{ function_call: { name: 'f', args: { max_items: 2 } } }] },
        { role: 'user', parts: [{ function_response: { name: 'f', response: { item_count: 2 } } }] },
      ],
      tools: [
        {
          function_declarations: [
            { name: 'f', parameters_json_schema: schema },
            { name: 'g', parameters: { type: 'OBJECT', properties: { snake_name: { type: 'STRING', max_length: '4' } } } },
          ],
        },
      ],
    });
    expect(out.tools).toEqual([
      { name: 'f', parameters: schema },
      { name: 'g', parameters: { type: 'object', properties: { snake_name: { type: 'string', maxLength: 4 } } } },
    ]);
    expect(out.messages[1]!.content[0]).toMatchObject({ arguments: '{"max_items":2}' });
    expect(out.messages[2]!.content[0]).toMatchObject({ content: '{"item_count":2}' });
  });
});

describe('parseGeminiRequest: other top-level fields', () => {
  it('safetySettings are dropped; cachedContent and unknown fields are Gemini-only', () => {
    const out = parse(
      base({
        safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_ONLY_HIGH' }],
        cachedContent: 'cachedContents/abc',
        labels: { team: 'x' },
      }),
    );
    expect(out.sameFormatOnly).toEqual(['cachedContent', 'labels']);
  });

  it('joins system instruction parts', () => {
    expect(parse(base({ systemInstruction: { role: 'system', parts: [{ text: 'One.' }, { text: 'Two.' }] } })).system).toBe('One.\nTwo.');
  });
});

describe('parseGeminiRequest: refusals name the field', () => {
  it.each<[unknown]>([[[]], ['x'], [null], [3]])('a body that is not an object (%j)', (body) => {
    expect(rejection(body).status).toBe(400);
  });

  it.each<[unknown, string]>([
    [{}, 'contents'],
    [{ contents: [] }, 'contents'],
    [{ contents: {} }, 'contents'],
    [{ contents: [{ role: 'user' }] }, 'contents[0].parts'],
    [{ contents: [{ role: 'user', parts: [] }] }, 'contents[0].parts'],
    [{ contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }, 'contents[0].role'],
    [{ contents: [user(), { parts: [{ text: 5 }] }] }, 'contents[1].parts[0].text'],
    [{ contents: [{ parts: [{ inlineData: { data: 'x' } }] }] }, 'contents[0].parts[0].inlineData.mimeType'],
    [{ contents: [{ parts: [{ functionResponse: { name: 'f', response: 'ok' } }] }] }, 'contents[0].parts[0].functionResponse.response'],
    [{ contents: [user()], systemInstruction: { parts: [{ inlineData: { mimeType: 'image/png', data: 'x' } }] } }, 'systemInstruction.parts[0].text'],
    [{ contents: [user()], safetySettings: [{ category: 'X' }] }, 'safetySettings[0].threshold'],
  ])('%j → %s', (body, param) => {
    const err = expect400(body, param);
    expect(err.message).toContain(param);
  });

  it('says what is missing', () => {
    expect(rejection({}).message).toContain('contents is required');
    expect(rejection({ contents: [] }).message).toContain('contents must not be empty');
    expect(rejection({ contents: [{ role: 'bot', parts: [{ text: 'x' }] }] }).message).toContain("role must be 'user' or 'model'");
  });
});
