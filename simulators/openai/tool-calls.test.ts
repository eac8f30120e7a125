import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import {
  countPromptTokens,
  echoFragment,
  lastUserText,
  planCompletion,
  splitPieces,
  startOpenAISimulator,
  SIM_GREETING,
  TOOL_CALL_TOKENS,
  type OpenAISimulator,
} from './server.js';

type Tool = OpenAI.Chat.Completions.ChatCompletionTool;
type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

const WEATHER: Tool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};
const TIME: Tool = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } };

describe('OpenAI simulator: tool calls', () => {
  let sim: OpenAISimulator;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startOpenAISimulator();
    client = new OpenAI({ apiKey: 'unused', baseURL: `${sim.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers [sim:tool] with one call to the first declared function (non-stream, SDK)', async () => {
    const messages: Message[] = [
      { role: 'system', content: 'Use tools.' },
      { role: 'user', content: 'What is the weather in Paris? [sim:tool]' },
    ];
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages, tools: [WEATHER, TIME] });
    const choice = res.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    expect(call.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ echo: echoFragment('What is the weather in Paris? [sim:tool]') });
    expect(res.usage?.completion_tokens).toBe(TOOL_CALL_TOKENS);
    expect(res.usage?.prompt_tokens).toBe(countPromptTokens(messages));
    expect(sim.requests.at(-1)!.usage).toEqual({ input: countPromptTokens(messages), output: TOOL_CALL_TOKENS });
  });

  it('skips custom tools when picking the first declared function', async () => {
    const res = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: '[sim:tool] go' }],
      tools: [{ type: 'custom', custom: { name: 'grammar_tool' } }, TIME, WEATHER],
    });
    const call = res.choices[0]!.message.tool_calls![0]!;
    expect(call.type === 'function' && call.function.name).toBe('get_time');
  });

  it('answers with text when the marker is present but no tool is declared, or tools without the marker', async () => {
    const noTools = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi [sim:tool]' }] });
    expect(noTools.choices[0]!.finish_reason).toBe('stop');
    expect(noTools.choices[0]!.message.tool_calls).toBeUndefined();
    expect(noTools.choices[0]!.message.content).toBe(planCompletion({ messages: [{ role: 'user', content: 'hi [sim:tool]' }] }).content);

    const noMarker = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], tools: [WEATHER] });
    expect(noMarker.choices[0]!.finish_reason).toBe('stop');
    expect(noMarker.choices[0]!.message.content?.startsWith(SIM_GREETING)).toBe(true);
  });

  it('streams the call as tool_calls deltas the SDK assembles, arguments in several pieces', async () => {
    const messages: Message[] = [{ role: 'user', content: 'Weather in Bogotá, please [sim:tool]' }];
    const raw = await client.chat.completions.create({
      model: 'gpt-4o',
      messages,
      tools: [WEATHER],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of raw) chunks.push(c);
    const first = chunks[0]!.choices[0]!.delta;
    expect(first.role).toBe('assistant');
    expect(first.tool_calls).toEqual([
      { index: 0, id: expect.stringMatching(/^call_[A-Za-z0-9]{24}$/), type: 'function', function: { name: 'get_weather', arguments: '' } },
    ]);
    const pieces = chunks
      .slice(1)
      .flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])
      .map((tc) => {
        expect(tc.index).toBe(0);
        expect(tc.id).toBeUndefined();
        return tc.function?.arguments ?? '';
      });
    expect(pieces.length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(pieces.join(''))).toEqual({ echo: echoFragment('Weather in Bogotá, please [sim:tool]') });
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)!.usage?.completion_tokens).toBe(TOOL_CALL_TOKENS);

    // The SDK's own accumulator checks the delta shapes (id, type and name on the first delta).
    const helper = client.chat.completions.stream({ model: 'gpt-4o', messages, tools: [WEATHER] });
    const final = await helper.finalChatCompletion();
    const call = final.choices[0]!.message.tool_calls![0]!;
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(call.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ echo: echoFragment(messages[0]!.content as string) });
  });

  it('answers the results when the conversation ends with tool messages', async () => {
    const call = { id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
    const one: Message[] = [
      { role: 'user', content: 'Weather? [sim:tool]' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: 'call_1', content: 'Sunny, 21 C [sim:tokens=9]' },
    ];
    const res = await client.chat.completions.create({ model: 'gpt-4o', messages: one, tools: [WEATHER] });
    // The tool result, not the earlier [sim:tool] user text, decides the answer.
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.choices[0]!.message.content).toBe(`${SIM_GREETING} Sunny, 21 C`);
    expect(res.usage?.completion_tokens).toBe(9);

    const two: Message[] = [
      ...one.slice(0, 2),
      { role: 'tool', tool_call_id: 'call_1', content: 'first' },
      { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'second' }] },
    ];
    const res2 = await client.chat.completions.create({ model: 'gpt-4o', messages: two });
    expect(res2.choices[0]!.message.content!.startsWith(`${SIM_GREETING} first second lorem`)).toBe(true);
  });

  it('a tool result carrying [sim:tool] asks for another call', async () => {
    const res = await client.chat.completions.create({
      model: 'gpt-4o',
      tools: [WEATHER],
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'again [sim:tool]' },
      ],
    });
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('streams text one word per chunk', async () => {
    const messages: Message[] = [{ role: 'user', content: 'count words [sim:tokens=7]' }];
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true });
    const contents: string[] = [];
    for await (const c of stream) {
      const t = c.choices[0]?.delta.content;
      if (t) contents.push(t);
    }
    expect(contents).toHaveLength(7);
    expect(contents.join('')).toBe(planCompletion({ messages }).content);
    expect(contents.slice(1).every((c) => c.startsWith(' ') && c.trim().split(' ').length === 1)).toBe(true);
  });

  it('records usage for text, stream and truncated answers, and none for injected failures', async () => {
    const messages: Message[] = [{ role: 'user', content: 'usage please [sim:tokens=20]' }];
    const r = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5 });
    expect(sim.requests.at(-1)!.usage).toEqual({ input: r.usage!.prompt_tokens, output: 5 });

    const s = await client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of s) usage = c.usage ?? usage;
    expect(sim.requests.at(-1)!.usage).toEqual({ input: usage!.prompt_tokens, output: usage!.completion_tokens });
    expect(usage!.completion_tokens).toBe(20);

    const failed = await client.chat.completions.create({ model: 'gpt-4o', messages }, { headers: { 'x-sim-fail': '500' } }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect(sim.requests.at(-1)!.usage).toBeUndefined();
  });

  it('cuts a streamed tool call with x-sim-fail: midstream', async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: '[sim:tool]' }], tools: [WEATHER], stream: true },
      { headers: { 'x-sim-fail': 'midstream' } },
    );
    const seen: string[] = [];
    const outcome = await (async () => {
      for await (const c of stream) seen.push(c.choices[0]?.finish_reason ?? '');
    })().then(
      () => 'completed',
      () => 'failed',
    );
    expect(outcome).toBe('failed');
    expect(seen).not.toContain('tool_calls');
  });
});

describe('simulator helpers: tool calls', () => {
  it('lastUserText uses trailing tool results, else the last user message', () => {
    expect(
      lastUserText([
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ]),
    ).toBe('a');
    expect(
      lastUserText([
        { role: 'user', content: 'a' },
        { role: 'tool', content: 'r1' },
        { role: 'function', name: 'f', content: 'r2' },
      ]),
    ).toBe('r1 r2');
    expect(
      lastUserText([
        { role: 'tool', content: 'old' },
        { role: 'user', content: 'new' },
      ]),
    ).toBe('new');
  });

  it('planCompletion: a tool plan ignores max_tokens and reports 12 tokens', () => {
    const p = planCompletion({ messages: [{ role: 'user', content: 'x [sim:tool]' }], tools: [WEATHER], max_tokens: 3 });
    expect(p).toMatchObject({ words: [], content: '', finishReason: 'tool_calls', completionTokens: TOOL_CALL_TOKENS });
    expect(p.toolCall).toEqual({ name: 'get_weather', arguments: JSON.stringify({ echo: 'x [sim:tool]' }) });
  });

  it('splitPieces keeps code points whole and loses nothing', () => {
    const text = '{"echo":"😀é😀é😀"}';
    for (const n of [1, 2, 3, 4, 7, 50]) {
      const pieces = splitPieces(text, n);
      expect(pieces.join('')).toBe(text);
      expect(pieces.length).toBeLessThanOrEqual(n);
      // A lone surrogate would not survive a UTF-8 round trip.
      for (const p of pieces) expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
    }
    expect(splitPieces('{"echo":""}', 4).length).toBeGreaterThanOrEqual(2);
  });
});
