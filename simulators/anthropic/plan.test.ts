import { describe, expect, it } from 'vitest';
import { DEFAULT_COMPLETION_TOKENS, SIM_GREETING } from '../openai/completion.js';
import { countInputTokens, lastUserText, planMessage, splitPieces, TOOL_CALL_OUTPUT_TOKENS, wordChunks } from './plan.js';

describe('countInputTokens', () => {
  it('counts system prompt, text blocks and tool results, the system prompt as one message', () => {
    const req = {
      system: 'You are terse.', // 14
      messages: [
        { role: 'user', content: 'What is the capital of France?' }, // 30
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 'France capital' } }] }, // 0
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Paris' }] },
            { type: 'text', text: 'ok' },
          ],
        }, // 5 + 2
      ],
    };
    expect(countInputTokens(req)).toBe(Math.ceil((14 + 30 + 5 + 2) / 4) + 3 * 4);
  });

  it('counts system text blocks, and no system message when there is no system text', () => {
    const messages = [{ role: 'user', content: 'Hi' }];
    expect(
      countInputTokens({
        system: [
          { type: 'text', text: 'abcd' },
          { type: 'text', text: 'efgh' },
        ],
        messages,
      }),
    ).toBe(Math.ceil(10 / 4) + 6);
    expect(countInputTokens({ system: '', messages })).toBe(1 + 3);
    expect(countInputTokens({ messages })).toBe(1 + 3);
  });
});

describe('lastUserText', () => {
  it('is the text of the last user turn', () => {
    expect(
      lastUserText([
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'reply' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ]),
    ).toBe('a b');
  });

  it('uses the tool results of a turn that has nothing else, their text blocks too', () => {
    expect(
      lastUserText([
        { role: 'user', content: 'weather?' },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't1', content: '21 C' },
            { type: 'tool_result', tool_use_id: 't2', content: [{ type: 'text', text: 'sunny' }] },
          ],
        },
      ]),
    ).toBe('21 C sunny');
  });

  it('prefers the text blocks of a turn that also carries tool results', () => {
    expect(
      lastUserText([
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 't', content: 'R' },
            { type: 'text', text: 'and now?' },
          ],
        },
      ]),
    ).toBe('and now?');
  });

  it('is empty without a user turn', () => {
    expect(lastUserText([{ role: 'assistant', content: 'x' }])).toBe('');
  });
});

describe('planMessage', () => {
  const msg = (text: string) => [{ role: 'user', content: text }];

  it('answers the greeting, the echo and padding: DEFAULT_COMPLETION_TOKENS words', () => {
    const plan = planMessage({ messages: msg('Hello   there'), max_tokens: 1000 });
    expect(plan.kind).toBe('text');
    if (plan.kind !== 'text') return;
    expect(plan.text.startsWith(`${SIM_GREETING} Hello there `)).toBe(true);
    expect(plan.words).toHaveLength(DEFAULT_COMPLETION_TOKENS);
    expect(plan.outputTokens).toBe(DEFAULT_COMPLETION_TOKENS);
    expect(plan.stopReason).toBe('end_turn');
  });

  it('[sim:tokens=N] sets the length and max_tokens truncates it', () => {
    const asked = planMessage({ messages: msg('x [sim:tokens=50]'), max_tokens: 1000 });
    expect(asked.outputTokens).toBe(50);
    const cut = planMessage({ messages: msg('x [sim:tokens=50]'), max_tokens: 7 });
    expect(cut).toMatchObject({ kind: 'text', outputTokens: 7, stopReason: 'max_tokens' });
    expect(planMessage({ messages: msg('x [sim:tokens=7]'), max_tokens: 7 }).stopReason).toBe('end_turn');
  });

  it('[sim:tool] with tools calls the first tool with the echo', () => {
    const plan = planMessage({
      messages: msg('Weather in Paris? [sim:tool]'),
      max_tokens: 100,
      tools: [
        { name: 'get_weather', input_schema: { type: 'object' } },
        { name: 'other', input_schema: { type: 'object' } },
      ],
    });
    expect(plan).toEqual({
      kind: 'tool_use',
      toolName: 'get_weather',
      input: { echo: 'Weather in Paris? [sim:tool]' },
      inputTokens: Math.ceil(28 / 4) + 3,
      outputTokens: TOOL_CALL_OUTPUT_TOKENS,
      stopReason: 'tool_use',
    });
  });

  it('[sim:tool] without tools is a text answer', () => {
    expect(planMessage({ messages: msg('[sim:tool]'), max_tokens: 100 }).kind).toBe('text');
    expect(planMessage({ messages: msg('[sim:tool]'), max_tokens: 100, tools: [] }).kind).toBe('text');
  });
});

describe('stream pieces', () => {
  it('word chunks concatenate to the text', () => {
    const words = ['Hello', 'from', 'the', 'simulator.'];
    expect(wordChunks(words)).toEqual(['Hello', ' from', ' the', ' simulator.']);
    expect(wordChunks(words).join('')).toBe(words.join(' '));
  });

  it('JSON pieces concatenate to the JSON and never split a surrogate pair', () => {
    const json = JSON.stringify({ echo: '🌍🌍🌍 x' });
    const pieces = splitPieces(json, 3);
    expect(pieces.length).toBeGreaterThanOrEqual(2);
    expect(pieces.join('')).toBe(json);
    for (const p of pieces) expect(p).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
  });
});
