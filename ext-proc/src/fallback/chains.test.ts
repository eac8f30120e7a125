import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../catalog/load.js';
import { allChains, chainClusterName, chainOf, chainSubsets, maskOf } from './chains.js';

const catalog = loadCatalog(fileURLToPath(new URL('../../../models/catalog.yaml', import.meta.url)));

describe('fallback chains', () => {
  const head = catalog.find('openrouter/meta-llama/llama-3.3-70b-instruct')!;
  const chain = chainOf(catalog, head)!;

  it('puts the model first, then its fallbacks in catalog order', () => {
    expect(chain.members.map((m) => m.id)).toEqual(['openrouter/meta-llama/llama-3.3-70b-instruct', 'llama-3.3-70b-versatile', 'gemini-2.5-flash-lite']);
    expect(chainOf(catalog, catalog.find('gpt-4o-mini')!)).toBeUndefined();
    expect(allChains(catalog).map((c) => c.head.id)).toContain('ollama/llama3.2');
  });

  it('has one subset per non-empty mask, members in chain order', () => {
    const subsets = chainSubsets(chain);
    expect(subsets).toHaveLength(7);
    expect(subsets.find((s) => s.mask === 0b101)!.members.map((m) => m.id)).toEqual(['openrouter/meta-llama/llama-3.3-70b-instruct', 'gemini-2.5-flash-lite']);
  });

  it('names clusters from the head and mask with characters safe for Envoy stats', () => {
    expect(chainClusterName(head, 0b110)).toBe('chain-openrouter_meta-llama_llama-3.3-70b-instruct-6');
    expect(new Set(chainSubsets(chain).map((s) => chainClusterName(head, s.mask))).size).toBe(7);
  });

  it('masks the members a predicate keeps', () => {
    expect(maskOf(chain, (m) => m.provider.id !== 'groq')).toBe(0b101);
    expect(maskOf(chain, () => false)).toBe(0);
  });
});
