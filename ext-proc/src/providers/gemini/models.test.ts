import { describe, expect, it } from 'vitest';
import { geminiModelsBody } from './models.js';

describe('geminiModelsBody', () => {
  it('lists catalog models as Gemini Model resources', () => {
    const body = JSON.parse(
      geminiModelsBody([
        { id: 'gemini-2.5-flash', contextWindow: 1_048_576, maxOutputTokens: 65_536 },
        { id: 'claude-sonnet-4', contextWindow: 200_000, maxOutputTokens: 64_000 },
      ]).toString('utf8'),
    ) as unknown;
    expect(body).toEqual({
      models: [
        {
          name: 'models/gemini-2.5-flash',
          displayName: 'gemini-2.5-flash',
          inputTokenLimit: 1_048_576,
          outputTokenLimit: 65_536,
          supportedGenerationMethods: ['generateContent', 'countTokens'],
        },
        {
          name: 'models/claude-sonnet-4',
          displayName: 'claude-sonnet-4',
          inputTokenLimit: 200_000,
          outputTokenLimit: 64_000,
          supportedGenerationMethods: ['generateContent', 'countTokens'],
        },
      ],
    });
  });

  it('an empty catalog is an empty list', () => {
    expect(JSON.parse(geminiModelsBody([]).toString('utf8'))).toEqual({ models: [] });
  });
});
