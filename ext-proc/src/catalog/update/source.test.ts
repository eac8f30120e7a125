import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectFormat, parseSourceText, readSource } from './read.js';
import { perMillion, SourceError, type SourceModel } from './source.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(here, 'fixtures', name), 'utf8'));
const PROVIDERS = new Set(['openai', 'groq', 'openrouter', 'anthropic', 'ollama']);
const byName = (models: SourceModel[], provider: string, name: string) => models.find((m) => m.provider === provider && m.name === name);

describe('perMillion', () => {
  it('turns per-token USD into per-1M USD without float dust', () => {
    expect(perMillion(1.25e-6)).toBe(1.25);
    expect(perMillion(1.1e-5)).toBe(11);
    expect(perMillion(7.5e-8)).toBe(0.075);
    expect(perMillion(3e-7)).toBe(0.3);
    expect(perMillion(0)).toBe(0);
  });
});

describe('LiteLLM price map', () => {
  const read = readSource(fixture('litellm.json'), PROVIDERS);

  it('is told apart from an OpenRouter list by its shape', () => {
    expect(read.format).toBe('litellm');
    expect(detectFormat(fixture('litellm.json'))).toBe('litellm');
  });

  it('reads prices per 1M tokens, limits and capabilities', () => {
    expect(byName(read.models, 'openai', 'gpt-4o')).toEqual({
      provider: 'openai',
      name: 'gpt-4o',
      origin: 'gpt-4o',
      pricing: { input: 2.75, output: 11, cachedInput: 1.375 },
      contextWindow: 128000,
      maxInputTokens: 128000,
      maxOutputTokens: 16384,
      capabilities: ['tools', 'vision', 'streaming'],
    });
    expect(byName(read.models, 'openai', 'gpt-5')?.capabilities).toEqual(['tools', 'vision', 'json_mode', 'streaming', 'reasoning']);
  });

  it("strips the provider prefix from keys: the name is the provider's own", () => {
    expect(byName(read.models, 'groq', 'llama-3.3-70b-versatile')?.origin).toBe('groq/llama-3.3-70b-versatile');
    expect(byName(read.models, 'groq', 'openai/gpt-oss-120b')?.pricing).toEqual({ input: 0.15, output: 0.6, cachedInput: 0.075 });
    expect(byName(read.models, 'openrouter', 'meta-llama/llama-3.3-70b-instruct')).toBeDefined();
  });

  it('leaves out the spec entry, non-chat models and providers the catalog does not have', () => {
    const origins = read.models.map((m) => m.origin);
    expect(origins).not.toContain('sample_spec');
    expect(origins).not.toContain('text-embedding-3-small');
    expect(origins).not.toContain('gemini-2.5-pro');
    expect(readSource(fixture('litellm.json'), new Set(['openai'])).models.every((m) => m.provider === 'openai')).toBe(true);
  });

  it('skips a malformed entry, reporting it with the model it names', () => {
    expect(byName(read.models, 'groq', 'broken-model')).toBeUndefined();
    expect(read.problems).toEqual([
      { origin: 'groq/broken-model', provider: 'groq', name: 'broken-model', message: expect.stringContaining('input_cost_per_token') },
    ]);
  });

  it('refuses a document that is not a price map', () => {
    expect(() => readSource([1, 2], PROVIDERS, 'litellm')).toThrow(SourceError);
    expect(() => readSource('text', PROVIDERS, 'litellm')).toThrow(/not a LiteLLM price map/);
  });
});

describe('OpenRouter model list', () => {
  const read = readSource(fixture('openrouter.json'), PROVIDERS);

  it('is told by its data array, and every model is the openrouter provider', () => {
    expect(read.format).toBe('openrouter');
    expect(read.models.every((m) => m.provider === 'openrouter')).toBe(true);
  });

  it('reads per-token price strings as USD per 1M, the context and the output limit', () => {
    expect(byName(read.models, 'openrouter', 'meta-llama/llama-3.3-70b-instruct')).toEqual({
      provider: 'openrouter',
      name: 'meta-llama/llama-3.3-70b-instruct',
      origin: 'meta-llama/llama-3.3-70b-instruct',
      pricing: { input: 0.12, output: 0.3 },
      contextWindow: 131072,
      maxOutputTokens: 16384,
      capabilities: ['tools', 'json_mode', 'streaming'],
    });
    const sonnet = byName(read.models, 'openrouter', 'anthropic/claude-sonnet-4')!;
    expect(sonnet.pricing).toEqual({ input: 3, output: 15, cachedInput: 0.3 });
    expect(sonnet.capabilities).toEqual(['tools', 'vision', 'streaming', 'reasoning']);
  });

  it('leaves the output limit unknown when the top provider gives none', () => {
    const flash = byName(read.models, 'openrouter', 'google/gemini-2.5-flash')!;
    expect(flash.maxOutputTokens).toBeUndefined();
    expect(flash.capabilities).toContain('json_mode');
  });

  it('keeps a model with a variable price but no price, and notes it; skips a malformed one', () => {
    expect(byName(read.models, 'openrouter', 'openrouter/auto')?.pricing).toBeUndefined();
    expect(read.problems.map((p) => p.origin)).toEqual(['openrouter/auto', 'example/broken']);
    expect(read.problems[1]!.message).toMatch(/pricing\.prompt: not a price: "abc"/);
    expect(byName(read.models, 'openrouter', 'example/broken')).toBeUndefined();
  });

  it('refuses a document without a data list when the format is named', () => {
    expect(() => readSource({ models: [] }, PROVIDERS, 'openrouter')).toThrow(/not an OpenRouter model list/);
  });
});

describe('parseSourceText', () => {
  it('names the source in a JSON syntax error', () => {
    expect(() => parseSourceText('{"a":', 'prices.json')).toThrow(/^prices\.json: not JSON: /);
  });
});
