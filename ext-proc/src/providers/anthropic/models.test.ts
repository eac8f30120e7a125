import { describe, expect, it } from 'vitest';
import { anthropicModelsBody, anthropicModelsPage } from './models.js';

describe('anthropicModelsPage', () => {
  it('lists models in Anthropic’s page shape with first and last ids', () => {
    expect(
      anthropicModelsPage([
        { id: 'claude-sonnet-4-5' },
        { id: 'gpt-4o', displayName: 'GPT-4o', createdAt: '2024-05-13T00:00:00Z' },
        { id: 'gemini-2.5-flash' },
      ]),
    ).toEqual({
      data: [
        { type: 'model', id: 'claude-sonnet-4-5', display_name: 'claude-sonnet-4-5', created_at: '1970-01-01T00:00:00Z' },
        { type: 'model', id: 'gpt-4o', display_name: 'GPT-4o', created_at: '2024-05-13T00:00:00Z' },
        { type: 'model', id: 'gemini-2.5-flash', display_name: 'gemini-2.5-flash', created_at: '1970-01-01T00:00:00Z' },
      ],
      has_more: false,
      first_id: 'claude-sonnet-4-5',
      last_id: 'gemini-2.5-flash',
    });
  });

  it('has null first and last ids when empty', () => {
    expect(anthropicModelsPage([])).toEqual({ data: [], has_more: false, first_id: null, last_id: null });
  });

  it('serialises the page as the body, ignoring extra fields of the entries', () => {
    const catalogLike = [{ id: 'm1', provider: { id: 'p' } }];
    expect(JSON.parse(anthropicModelsBody(catalogLike).toString('utf8'))).toEqual(anthropicModelsPage([{ id: 'm1' }]));
  });
});
