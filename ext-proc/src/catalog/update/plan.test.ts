import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../load.js';
import { planIsEmpty, planUpdate } from './plan.js';
import { readSource } from './read.js';
import type { SourceReadout } from './source.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(here, 'fixtures', name), 'utf8'));
const catalog = loadCatalog(path.join(here, 'fixtures', 'catalog.yaml'));
const providers = new Set(catalog.providers.keys());
const litellm = readSource(fixture('litellm.json'), providers);
const openrouter = readSource(fixture('openrouter.json'), providers);

describe('planUpdate with a LiteLLM map', () => {
  const plan = planUpdate(catalog, litellm);
  const update = (id: string) => plan.updates.find((u) => u.id === id);

  it('compares the keyed providers the source lists, never a local backend', () => {
    expect(plan.providers).toEqual(['anthropic', 'groq', 'openai', 'openrouter']);
    expect(update('ollama/llama3.2')).toBeUndefined();
  });

  it('finds price changes in USD per 1M tokens', () => {
    expect(update('gpt-4o')).toEqual({
      id: 'gpt-4o',
      provider: 'openai',
      origin: 'gpt-4o',
      pricing: [
        { field: 'input', from: 2.5, to: 2.75 },
        { field: 'output', from: 10, to: 11 },
        { field: 'cached_input', from: 1.25, to: 1.375 },
      ],
      limits: [],
    });
  });

  it('adds a cached-input price the catalog lacked, and keeps one the source does not give', () => {
    expect(update('groq/openai/gpt-oss-120b')?.pricing).toEqual([{ field: 'cached_input', from: undefined, to: 0.075 }]);
    // gpt-4o-mini: the same figures everywhere, so no update at all.
    expect(update('gpt-4o-mini')).toBeUndefined();
  });

  it('finds context changes, and takes a split window (input + output limit) as the same window', () => {
    expect(update('llama-3.3-70b-versatile')).toMatchObject({
      pricing: [],
      limits: [
        { field: 'context_window', from: 131072, to: 262144 },
        { field: 'max_output_tokens', from: 32768, to: 65536 },
      ],
    });
    // gpt-5: 272K input + 128K output is the catalog's 400K.
    expect(update('gpt-5')).toBeUndefined();
  });

  it('lets the upstream name speak for a model, not a dated alias priced differently', () => {
    expect(update('claude-haiku-4-5')).toBeUndefined();
    expect(plan.added.map((a) => a.name)).not.toContain('claude-haiku-4-5-20251001');
  });

  it('lists new models with the entry they would get', () => {
    expect(plan.added).toEqual([
      {
        provider: 'openai',
        name: 'gpt-9-preview',
        origin: 'gpt-9-preview',
        entry: {
          id: 'gpt-9-preview',
          provider: 'openai',
          pricing: { input: 2, output: 16 },
          context_window: 1000000,
          max_output_tokens: 200000,
          capabilities: ['tools', 'streaming', 'reasoning'],
          tier: 'premium',
        },
      },
    ]);
  });

  it('reports models absent from the source for a provider it covers, but not those an unreadable entry names', () => {
    expect(plan.withdrawn).toEqual([{ id: 'llama-3.1-8b-instant', provider: 'groq' }]);
    expect(plan.notes).toEqual([expect.stringMatching(/^groq\/broken-model: /)]);
  });

  it('leaves a pinned model as written, noting what the source says, and never calls it absent', () => {
    const pinned = planUpdate(catalog, litellm, { pinned: new Set(['gpt-4o', 'llama-3.1-8b-instant']) });
    expect(pinned.updates.map((u) => u.id)).not.toContain('gpt-4o');
    expect(pinned.updates).toHaveLength(plan.updates.length - 1);
    expect(pinned.withdrawn).toEqual([]);
    expect(pinned.notes).toContain('gpt-4o: pinned (# models:update: keep), left as written: the source says input 2.75, output 11, cached_input 1.375');
  });

  it('compares only the providers asked for', () => {
    const only = planUpdate(catalog, litellm, { only: ['openai'] });
    expect(only.providers).toEqual(['openai']);
    expect(only.updates.map((u) => u.id)).toEqual(['gpt-4o']);
    expect(only.withdrawn).toEqual([]);
    expect(only.notes).toEqual([]);
  });
});

describe('planUpdate with an OpenRouter list', () => {
  const plan = planUpdate(catalog, openrouter);

  it('updates the OpenRouter models by their slug (the upstream id)', () => {
    expect(plan.providers).toEqual(['openrouter']);
    expect(plan.updates).toEqual([
      {
        id: 'openrouter/meta-llama/llama-3.3-70b-instruct',
        provider: 'openrouter',
        origin: 'meta-llama/llama-3.3-70b-instruct',
        pricing: [
          { field: 'input', from: 0.1, to: 0.12 },
          { field: 'output', from: 0.32, to: 0.3 },
        ],
        limits: [],
      },
    ]);
    expect(plan.withdrawn).toEqual([]);
  });

  it('names new OpenRouter models openrouter/<slug>, and says why one cannot be added', () => {
    const sonnet = plan.added.find((a) => a.name === 'anthropic/claude-sonnet-4')!;
    expect(sonnet.entry).toMatchObject({
      id: 'openrouter/anthropic/claude-sonnet-4',
      upstream_id: 'anthropic/claude-sonnet-4',
      pricing: { input: 3, output: 15, cached_input: 0.3 },
      context_window: 1000000,
      max_output_tokens: 64000,
      tier: 'premium',
    });
    // No output limit given: the whole window.
    expect(plan.added.find((a) => a.name === 'google/gemini-2.5-flash')!.entry).toMatchObject({ max_output_tokens: 1048576, tier: 'standard' });
    const auto = plan.added.find((a) => a.name === 'openrouter/auto')!;
    expect(auto.entry).toBeUndefined();
    expect(auto.reason).toBe('no price in the source');
  });
});

describe('planUpdate edge cases', () => {
  const one = (model: Partial<SourceReadout['models'][number]>): SourceReadout => ({
    format: 'litellm',
    models: [{ provider: 'openai', name: 'gpt-4o', origin: 'gpt-4o', capabilities: [], ...model }],
    problems: [],
  });

  it('drops a cached-input price that the new input price falls below', () => {
    const plan = planUpdate(catalog, one({ pricing: { input: 1, output: 10 } }));
    expect(plan.updates[0]!.pricing).toEqual([
      { field: 'input', from: 2.5, to: 1 },
      { field: 'cached_input', from: 1.25, to: undefined },
    ]);
    expect(plan.notes).toEqual(['gpt-4o: cached_input 1.25 is above the new input price 1: removed']);
  });

  it('keeps the output limit within a smaller window', () => {
    const plan = planUpdate(catalog, one({ contextWindow: 8000 }));
    expect(plan.updates[0]!.limits).toEqual([
      { field: 'context_window', from: 128000, to: 8000 },
      { field: 'max_output_tokens', from: 16384, to: 8000 },
    ]);
  });

  it('ignores price differences below the rounding of the sources', () => {
    expect(planIsEmpty(planUpdate(catalog, one({ pricing: { input: 2.5000000000001, output: 10, cachedInput: 1.25 } })))).toBe(true);
  });

  it('says whether a write would change anything, given prune and add-new', () => {
    const plan = planUpdate(catalog, { format: 'litellm', models: [], problems: [{ origin: 'x', provider: 'groq', name: 'nothing', message: 'm' }] });
    // groq is covered by the problem alone: its three models are absent.
    expect(plan.withdrawn).toHaveLength(3);
    expect(planIsEmpty(plan)).toBe(true);
    expect(planIsEmpty(plan, { prune: true })).toBe(false);
  });
});
