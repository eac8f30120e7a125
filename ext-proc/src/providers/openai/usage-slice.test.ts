import { describe, expect, it } from 'vitest';
import { extractUsageObject } from './usage-slice.js';

const usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } };

describe('extractUsageObject', () => {
  it('reads the usage object of a chat completion', () => {
    const body = JSON.stringify({ id: 'x', choices: [{ message: { content: 'hi' } }], usage });
    expect(extractUsageObject(body)).toEqual(usage);
  });

  it('is not fooled by the word usage inside the answer text', () => {
    const body = JSON.stringify({ usage, choices: [{ message: { content: 'the "usage": {"prompt_tokens": 999} field' } }] });
    expect(extractUsageObject(body)).toEqual(usage);
  });

  it('handles pretty-printed bodies and strings with braces inside usage', () => {
    const odd = { ...usage, note: 'a } brace' };
    expect(extractUsageObject(JSON.stringify({ choices: [], usage: odd }, null, 2))).toEqual(odd);
  });

  it("reads the answer's own usage when a later field holds a usage key of its own (found by fuzzing)", () => {
    const body = JSON.stringify({ id: 'x', choices: [], usage, x_router: { usage: { prompt_tokens: 999 } } });
    expect(extractUsageObject(body)).toEqual(usage);
    // Nested in an array too, and pretty-printed.
    const listed = JSON.stringify({ usage, attempts: [{ usage: {} }] }, null, 2);
    expect(extractUsageObject(listed)).toEqual(usage);
  });

  it('returns null or undefined when there is no usage', () => {
    expect(extractUsageObject(JSON.stringify({ choices: [], usage: null }))).toBeNull();
    expect(extractUsageObject(JSON.stringify({ choices: [] }))).toBeUndefined();
  });

  it('throws on a body that is not JSON', () => {
    expect(() => extractUsageObject('upstream connect error')).toThrow();
  });
});
