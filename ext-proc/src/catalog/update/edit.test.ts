import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../load.js';
import { applyPlan, formatNumber, pinnedModels } from './edit.js';
import { planUpdate, type UpdatePlan } from './plan.js';
import { readSource } from './read.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FILE = path.join(here, 'fixtures', 'catalog.yaml');
const text = readFileSync(FILE, 'utf8');
const catalog = parseCatalog(text, FILE);
const providers = new Set(catalog.providers.keys());
const litellmPlan = planUpdate(catalog, readSource(JSON.parse(readFileSync(path.join(here, 'fixtures', 'litellm.json'), 'utf8')), providers));

/** Lines of `after` that differ from `before`, by line number (same line count). */
function changedLines(before: string, after: string): Record<number, string> {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b.length).toBe(a.length);
  const out: Record<number, string> = {};
  b.forEach((line, i) => {
    if (line !== a[i]) out[i + 1] = line;
  });
  return out;
}
const lineOf = (s: string, needle: string) => s.split('\n').findIndex((l) => l.includes(needle)) + 1;
const comments = (s: string) => s.split('\n').filter((l) => l.trimStart().startsWith('#') || l.includes(' # '));

describe('applyPlan', () => {
  it('changes only the figures the plan changes: every other byte, comment and hand-set field stays', () => {
    const out = applyPlan(text, litellmPlan).text;
    const gpt4o = lineOf(text, 'input: 2.50, output: 10.00, cached_input: 1.25');
    const llamaWindow = lineOf(text, 'aliases: [llama-3.3-70b]') + 4;
    const oss = lineOf(text, 'pricing: { input: 0.15, output: 0.60 }');
    expect(changedLines(text, out)).toEqual({
      // Two decimals wide as written, more where the value needs them.
      [gpt4o]: '    pricing: { input: 2.75, output: 11.00, cached_input: 1.375 }',
      [llamaWindow]: '    context_window: 262144',
      [llamaWindow + 1]: '    max_output_tokens: 65536',
      [oss]: '    pricing: { input: 0.15, output: 0.60, cached_input: 0.075 }',
    });
    expect(comments(out)).toEqual(comments(text));
    const after = parseCatalog(out, FILE);
    expect(after.find('gpt-4o')).toMatchObject({
      cacheTtlSeconds: 600,
      tier: 'standard',
      pricing: { inputPerMTok: 2.75, outputPerMTok: 11, cachedInputPerMTok: 1.375 },
    });
    expect(after.find('llama-3.3-70b')).toMatchObject({ contextWindow: 262144, maxOutputTokens: 65536, fallbacks: ['llama-3.1-8b-instant', 'gpt-4o-mini'] });
  });

  it('leaves the file byte for byte when nothing changes, and a second pass finds nothing to do', () => {
    const empty: UpdatePlan = { format: 'litellm', providers: [], updates: [], added: [], withdrawn: [], notes: [] };
    expect(applyPlan(text, empty).text).toBe(text);
    const once = applyPlan(text, litellmPlan).text;
    const again = planUpdate(parseCatalog(once, FILE), readSource(JSON.parse(readFileSync(path.join(here, 'fixtures', 'litellm.json'), 'utf8')), providers));
    expect(again.updates).toEqual([]);
  });

  it('edits a block-layout mapping in place, keeping its comments', () => {
    const plan: UpdatePlan = {
      ...litellmPlan,
      updates: [
        {
          id: 'llama-3.3-70b-versatile',
          provider: 'groq',
          origin: 'x',
          pricing: [
            { field: 'input', from: 0.59, to: 0.6 },
            { field: 'cached_input', from: undefined, to: 0.3 },
          ],
          limits: [],
        },
      ],
      added: [],
      withdrawn: [],
    };
    const out = applyPlan(text, plan).text;
    expect(out).toContain('      input: 0.60 # block layout on purpose\n      output: 0.79\n      cached_input: 0.3\n    context_window: 131072');
    expect(parseCatalog(out, FILE).find('llama-3.3-70b-versatile')!.pricing).toEqual({ inputPerMTok: 0.6, outputPerMTok: 0.79, cachedInputPerMTok: 0.3 });
  });

  it('removes a cached-input price from a flow mapping with its separator', () => {
    const plan: UpdatePlan = {
      ...litellmPlan,
      updates: [{ id: 'gpt-4o', provider: 'openai', origin: 'x', pricing: [{ field: 'cached_input', from: 1.25, to: undefined }], limits: [] }],
    };
    const out = applyPlan(text, plan).text;
    expect(out).toContain('    pricing: { input: 2.50, output: 10.00 }\n');
    expect(parseCatalog(out, FILE).find('gpt-4o')!.pricing.cachedInputPerMTok).toBeUndefined();
  });

  it('with prune, removes absent models and their mentions in fallbacks; section comments stay', () => {
    const out = applyPlan(text, litellmPlan, { prune: true });
    expect(out.removed).toBe(1);
    expect(out.text).not.toContain('llama-3.1-8b-instant');
    expect(out.text).toContain('    fallbacks: [gpt-4o-mini]\n');
    expect(comments(out.text)).toEqual(comments(text));
    const after = parseCatalog(out.text, FILE);
    expect(after.find('llama-3.1-8b')).toBeUndefined();
    expect(after.models).toHaveLength(catalog.models.length - 1);
  });

  it('drops a fallbacks list that only named removed models', () => {
    const plan: UpdatePlan = { ...litellmPlan, updates: [], withdrawn: [{ id: 'llama-3.3-70b-versatile', provider: 'groq' }] };
    const out = applyPlan(text, plan, { prune: true }).text;
    const after = parseCatalog(out, FILE);
    expect(after.find('openrouter/meta-llama/llama-3.3-70b-instruct')!.fallbacks).toEqual([]);
    expect(out).not.toMatch(/fallbacks: \[llama-3\.3-70b-versatile\]/);
  });

  it('with add-new, appends new models in the catalog layout, under a note', () => {
    const out = applyPlan(text, { ...litellmPlan, updates: [] }, { addNew: true, addedNote: 'Added by models:update: review tier and capabilities.' });
    expect(out.added).toBe(1);
    expect(out.text.startsWith(text)).toBe(true);
    expect(out.text.slice(text.length)).toBe(
      [
        '',
        '  # Added by models:update: review tier and capabilities.',
        '  - id: gpt-9-preview',
        '    provider: openai',
        '    pricing: { input: 2, output: 16 }',
        '    context_window: 1000000',
        '    max_output_tokens: 200000',
        '    capabilities: [tools, streaming, reasoning]',
        '    tier: premium',
        '',
      ].join('\n'),
    );
    expect(parseCatalog(out.text, FILE).find('gpt-9-preview')).toMatchObject({ tier: 'premium', contextWindow: 1000000 });
    // Without the option, new models are only reported.
    expect(applyPlan(text, { ...litellmPlan, updates: [] }).text).toBe(text);
  });

  it('quotes a new id that plain YAML would read as something else', () => {
    const plan: UpdatePlan = {
      ...litellmPlan,
      updates: [],
      added: [
        {
          provider: 'openai',
          name: '1.5',
          origin: '1.5',
          entry: {
            id: '1.5',
            provider: 'openai',
            pricing: { input: 1, output: 2 },
            context_window: 10,
            max_output_tokens: 5,
            capabilities: [],
            tier: 'economy',
          },
        },
      ],
    };
    const out = applyPlan(text, plan, { addNew: true }).text;
    expect(out).toContain('  - id: "1.5"\n');
    expect(parseCatalog(out, FILE).find('1.5')?.capabilities.size).toBe(0);
  });
});

describe('pinnedModels', () => {
  it('finds the entries a `models:update: keep` comment pins: right above them, or on one of their lines', () => {
    const pinned = text
      .replace('  # --- OpenAI ----', '  # --- OpenAI ----\n  # models:update: keep (the first entry, under its heading)')
      .replace('    cache_ttl_seconds: 600 #', '    cache_ttl_seconds: 600 # models:update: keep;')
      // A heading separated by a blank line pins nothing.
      .replace(/^ {2}# --- Anthropic .*$/m, '  # --- Anthropic (models:update: keep)\n');
    expect(parseCatalog(pinned, FILE).models).toHaveLength(catalog.models.length);
    expect([...pinnedModels(pinned)].sort()).toEqual(['gpt-4o', 'gpt-5']);
    expect(pinnedModels(text).size).toBe(0);
  });
});

describe('formatNumber', () => {
  it('keeps the decimals the old value was written with, adds what the new one needs', () => {
    expect(formatNumber(12.5, '10.00')).toBe('12.50');
    expect(formatNumber(0.0375, '0.10')).toBe('0.0375');
    expect(formatNumber(3, '2')).toBe('3');
    expect(formatNumber(262144, '131072')).toBe('262144');
    expect(formatNumber(1e-7, '')).toBe('0.0000001');
  });
});
