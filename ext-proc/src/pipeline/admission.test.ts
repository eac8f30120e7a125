import { describe, expect, it } from 'vitest';
import { choicesAsked } from './admission.js';

describe('choicesAsked', () => {
  it("counts OpenAI's n and Gemini's candidateCount", () => {
    expect(choicesAsked('openai', { n: 3 })).toBe(3);
    expect(choicesAsked('gemini', { generationConfig: { candidateCount: 2 } })).toBe(2);
  });

  it.each([1e-9, 0, -1e6, 1e300, 2, '5', null])('ignores a stray top-level n of %s on APIs that have no such field', (n) => {
    expect(choicesAsked('anthropic', { n })).toBe(1);
    expect(choicesAsked('ollama', { n })).toBe(1);
  });

  it.each([0, -1, 1.5, 'x'])('reads a malformed count (%s) as one answer', (n) => {
    expect(choicesAsked('openai', { n })).toBe(1);
    expect(choicesAsked('gemini', { generationConfig: { candidateCount: n } })).toBe(1);
  });
});
