import { describe, expect, it } from 'vitest';
import { ollamaTagsBody } from './models.js';

describe('ollamaTagsBody', () => {
  it('one entry per model, named by id, with neutral file facts', () => {
    expect(ollamaTagsBody([{ id: 'llama3.2' }, { id: 'gpt-4o-mini' }])).toEqual({
      models: [
        {
          name: 'llama3.2',
          model: 'llama3.2',
          modified_at: '1970-01-01T00:00:00Z',
          size: 0,
          digest: '',
          details: { parent_model: '', format: '', family: '', families: [], parameter_size: '', quantization_level: '' },
        },
        {
          name: 'gpt-4o-mini',
          model: 'gpt-4o-mini',
          modified_at: '1970-01-01T00:00:00Z',
          size: 0,
          digest: '',
          details: { parent_model: '', format: '', family: '', families: [], parameter_size: '', quantization_level: '' },
        },
      ],
    });
  });

  it('modified_at parses as a date (Go clients decode it as time.Time)', () => {
    expect(Number.isNaN(Date.parse(ollamaTagsBody([{ id: 'a' }]).models[0]!.modified_at))).toBe(false);
  });

  it('no models is an empty list, not a missing one', () => {
    expect(ollamaTagsBody([])).toEqual({ models: [] });
  });
});
