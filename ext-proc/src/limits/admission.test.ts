import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../catalog/load.js';
import { DEFAULT_RESERVED_OUTPUT_TOKENS, MAX_CHOICES, worstCase } from './admission.js';

const catalog = loadCatalog(fileURLToPath(new URL('../../../models/catalog.yaml', import.meta.url)));
const model = catalog.find('gpt-4o-mini')!;
const BODY = 400; // 100 input tokens

describe('worstCase', () => {
  it('reserves the input plus the output asked for, per answer', () => {
    expect(worstCase(BODY, { max_tokens: 200 }, model).tokens).toBe(100 + 200);
    expect(worstCase(BODY, { max_completion_tokens: 50, max_tokens: 200 }, model).tokens).toBe(100 + 50);
    expect(worstCase(BODY, { max_tokens: 200, n: 3 }, model).tokens).toBe(100 + 600);
    expect(worstCase(BODY, {}, model).tokens).toBe(100 + Math.min(DEFAULT_RESERVED_OUTPUT_TOKENS, model.maxOutputTokens));
  });

  it.each([1e-9, 0, -1e6, -1, 0.5])('an output or answer count of %s never shrinks the reservation below one whole answer', (v) => {
    const oneAnswer = worstCase(BODY, { max_tokens: 200 }, model).tokens;
    expect(worstCase(BODY, { max_tokens: 200, n: v }, model).tokens).toBe(oneAnswer);
    expect(worstCase(BODY, { max_tokens: v }, model).tokens).toBeGreaterThanOrEqual(100 + 1);
  });

  it.each([1e300, Number.MAX_VALUE, Number.POSITIVE_INFINITY, Number.NaN])('a huge or non-finite number (%s) is clamped to what the model can produce', (v) => {
    const most = 100 + model.maxOutputTokens;
    expect(worstCase(BODY, { max_tokens: v }, model).tokens).toBe(most);
    const manyAnswers = worstCase(BODY, { max_tokens: model.maxOutputTokens, n: v }, model);
    expect(manyAnswers.tokens).toBe(100 + model.maxOutputTokens * MAX_CHOICES);
    expect(Number.isFinite(manyAnswers.usd)).toBe(true);
  });
});
