import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CAPABILITIES, CatalogError, filterCatalog, loadCatalog, parseCatalog, TIERS } from './load.js';
import type { Catalog } from './load.js';

const CATALOG_PATH = fileURLToPath(new URL('../../../models/catalog.yaml', import.meta.url));

describe('models/catalog.yaml', () => {
  const catalog = loadCatalog(CATALOG_PATH);

  it('loads the providers of every wire format and a reasonable number of models', () => {
    expect([...catalog.providers.keys()].sort()).toEqual(['anthropic', 'deepseek', 'gemini', 'groq', 'ollama', 'openai', 'openrouter', 'vllm']);
    expect(new Set([...catalog.providers.values()].map((p) => p.format))).toEqual(new Set(['openai', 'anthropic', 'gemini', 'ollama']));
    expect(catalog.models.length).toBeGreaterThanOrEqual(15);
    expect(catalog.models.length).toBeLessThanOrEqual(30);
  });

  it('resolves every model to a provider present in the catalog', () => {
    for (const m of catalog.models) {
      expect(catalog.providers.get(m.provider.id), m.id).toBe(m.provider);
      expect(m.provider.cluster).toBe(m.provider.id);
    }
  });

  it('has positive prices, cached ≤ input, and sane token limits', () => {
    // Local models cost nothing per token; every cloud model has a price.
    for (const m of catalog.models.filter((x) => x.provider.apiKeyEnv !== undefined)) {
      expect(m.pricing.inputPerMTok, m.id).toBeGreaterThan(0);
      expect(m.pricing.outputPerMTok, m.id).toBeGreaterThan(0);
      if (m.pricing.cachedInputPerMTok !== undefined) {
        expect(m.pricing.cachedInputPerMTok, m.id).toBeGreaterThan(0);
        expect(m.pricing.cachedInputPerMTok, m.id).toBeLessThanOrEqual(m.pricing.inputPerMTok);
      }
      expect(m.maxOutputTokens, m.id).toBeLessThanOrEqual(m.contextWindow);
      expect(m.capabilities.has('streaming'), m.id).toBe(true);
      for (const c of m.capabilities) expect(CAPABILITIES).toContain(c);
      expect(TIERS).toContain(m.tier);
    }
  });

  it('maps provider fields to camelCase', () => {
    expect(catalog.providers.get('groq')).toEqual({
      id: 'groq',
      format: 'openai',
      host: 'api.groq.com',
      port: 443,
      tls: true,
      basePath: '/openai/v1',
      apiKeyEnv: 'GROQ_API_KEY',
      cluster: 'groq',
    });
    expect(catalog.providers.get('openrouter')?.basePath).toBe('/api/v1');
  });

  it('finds models by id; upstream id defaults to the id', () => {
    const m = catalog.find('gpt-4o-mini');
    expect(m?.provider.id).toBe('openai');
    expect(m?.upstreamId).toBe('gpt-4o-mini');
    expect(m?.pricing).toEqual({ inputPerMTok: 0.15, outputPerMTok: 0.6, cachedInputPerMTok: 0.075 });
    expect(m?.contextWindow).toBe(128000);
    expect(m?.maxOutputTokens).toBe(16384);
    expect(m?.tier).toBe('economy');
    expect(catalog.find('deepseek-reasoner')?.capabilities.has('reasoning')).toBe(true);
  });

  it('finds models by alias and keeps the provider-specific upstream id', () => {
    const oss = catalog.find('gpt-oss-120b');
    expect(oss?.id).toBe('groq/openai/gpt-oss-120b');
    expect(oss?.upstreamId).toBe('openai/gpt-oss-120b');
    expect(oss?.provider.id).toBe('groq');
    expect(catalog.find('groq/openai/gpt-oss-120b')).toBe(oss);

    const sonnet = catalog.find('anthropic/claude-sonnet-4');
    expect(sonnet?.id).toBe('openrouter/anthropic/claude-sonnet-4');
    expect(sonnet?.provider.id).toBe('openrouter');
    expect(catalog.find('claude-sonnet-4')).toBe(sonnet);
  });

  it('returns undefined for unknown names (exact, case-sensitive match)', () => {
    expect(catalog.find('no-such-model')).toBeUndefined();
    expect(catalog.find('GPT-4O')).toBeUndefined();
    expect(catalog.find('')).toBeUndefined();
  });
});

describe('filterCatalog', () => {
  const catalog = loadCatalog(CATALOG_PATH);

  it('drops the models (and aliases) of removed providers', () => {
    const kept = filterCatalog(catalog, (p) => p.id === 'openai' || p.id === 'deepseek');
    expect([...kept.providers.keys()].sort()).toEqual(['deepseek', 'openai']);
    expect(kept.models.length).toBeGreaterThan(0);
    expect(kept.models.every((m) => m.provider.id === 'openai' || m.provider.id === 'deepseek')).toBe(true);
    expect(kept.models.length).toBe(catalog.models.filter((m) => m.provider.id === 'openai' || m.provider.id === 'deepseek').length);
    expect(kept.find('gpt-4o')).toBe(catalog.find('gpt-4o'));
    expect(kept.find('claude-sonnet-4')).toBeUndefined();
    expect(kept.find('gpt-oss-120b')).toBeUndefined();
    // the original is untouched
    expect(catalog.find('claude-sonnet-4')).toBeDefined();
    expect(catalog.providers.has('groq')).toBe(true);
  });

  it('can drop everything', () => {
    const none = filterCatalog(catalog, () => false);
    expect(none.providers.size).toBe(0);
    expect(none.models).toEqual([]);
    expect(none.find('gpt-4o')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------
// Error reporting

const SRC = 'test/catalog.yaml';

const PROVIDERS = `providers:
  openai:
    format: openai
    host: api.openai.com
    port: 443
    tls: true
    base_path: /v1
    api_key_env: OPENAI_API_KEY
`;

const SMALL = `  - id: small
    provider: openai
    aliases: [tiny]
    pricing: { input: 0.15, output: 0.60 }
    context_window: 128000
    max_output_tokens: 16384
    capabilities: [tools, streaming]
    tier: economy
`;

const BIG = `  - id: big
    provider: openai
    pricing:
      input: 2.5
      output: 10
      cached_input: 1.25
    context_window: 128000
    max_output_tokens: 16384
    capabilities: [tools, vision, streaming]
    tier: premium
`;

const VALID = `${PROVIDERS}models:\n${SMALL}${BIG}`;

/** 1-based line of the `nth` (0-based) line containing `needle`. */
function lineOf(text: string, needle: string, nth = 0): number {
  const lines = text.split('\n');
  let seen = 0;
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.includes(needle) && seen++ === nth) return i + 1;
  }
  throw new Error(`fixture has no line containing ${JSON.stringify(needle)}`);
}

function catalogError(text: string): CatalogError {
  try {
    parseCatalog(text, SRC);
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogError);
    return err as CatalogError;
  }
  throw new Error('expected parseCatalog to throw');
}

describe('parseCatalog', () => {
  it('accepts the minimal valid fixture', () => {
    const c: Catalog = parseCatalog(VALID, SRC);
    expect(c.models.map((m) => m.id)).toEqual(['small', 'big']);
    expect(c.find('tiny')?.id).toBe('small');
    expect(c.find('small')?.pricing.cachedInputPerMTok).toBeUndefined();
    expect(c.find('big')?.pricing.cachedInputPerMTok).toBe(1.25);
    expect(c.find('big')?.aliases).toEqual([]);
  });

  it('reports YAML syntax errors with their line', () => {
    const text = VALID.replace('pricing: { input: 0.15, output: 0.60 }', 'pricing: { input: 0.15, output: 0.60');
    const err = catalogError(text);
    expect(err.message).toMatch(/^test\/catalog\.yaml:\d+:\d+: YAML syntax error: /);
    const line = err.issues[0]!.line;
    expect(line).toBeGreaterThanOrEqual(lineOf(text, 'output: 0.60'));
    expect(line).toBeLessThanOrEqual(lineOf(text, 'context_window', 0) + 1);
  });

  it('reports a bad indentation as a YAML error on that line', () => {
    const text = VALID.replace('    tier: economy', '      tier: economy');
    const err = catalogError(text);
    expect(err.message).toContain('YAML syntax error');
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'tier: economy')}:`);
  });

  it('rejects a provider defined twice (duplicate mapping key)', () => {
    const text = `${PROVIDERS + PROVIDERS.replace('providers:\n', '')}models:\n${SMALL}`;
    const err = catalogError(text);
    expect(err.message).toContain('YAML syntax error');
    expect(err.message).toContain(`${SRC}:${lineOf(text, '  openai:', 1)}:`);
  });

  it('rejects a reference to an unknown provider, naming the entry and line', () => {
    const text = VALID.replace('    provider: openai\n    pricing:\n', '    provider: opnai\n    pricing:\n');
    const err = catalogError(text);
    const line = lineOf(text, 'provider: opnai');
    expect(err.message).toBe(`${SRC}:${line}:15: models[1] (id: big): provider: unknown provider "opnai" (did you mean "openai"?) (known: openai)`);
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ line, col: 15, path: ['models', 1, 'provider'] });
  });

  it('rejects a duplicate model id, naming both entries', () => {
    const text = VALID.replace('  - id: big', '  - id: small');
    const err = catalogError(text);
    const first = lineOf(text, '- id: small', 0);
    const second = lineOf(text, '- id: small', 1);
    expect(err.message).toContain(`${SRC}:${second}:`);
    expect(err.message).toContain('models[1] (id: small): id: duplicate model id "small"');
    expect(err.message).toContain(`models[0] (id: small) at ${SRC}:${first}:`);
  });

  it('rejects an alias that clashes with another model id, naming both', () => {
    const text = VALID.replace('aliases: [tiny]', 'aliases: [tiny, big]');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'aliases: [tiny, big]')}:`);
    expect(err.message).toContain('models[0] (id: small): aliases[1]: duplicate alias "big"');
    expect(err.message).toContain(`already the id of models[1] (id: big) at ${SRC}:${lineOf(text, '- id: big')}:`);
  });

  it('rejects an alias used by two models, naming both', () => {
    const text = VALID.replace('  - id: big\n', '  - id: big\n    aliases:\n      - tiny\n');
    const err = catalogError(text);
    const dupLine = lineOf(text, '      - tiny');
    expect(err.message).toContain(`${SRC}:${dupLine}:9: models[1] (id: big): aliases[0]: duplicate alias "tiny"`);
    expect(err.message).toContain(`already the alias of models[0] (id: small) at ${SRC}:${lineOf(text, 'aliases: [tiny]')}:`);
  });

  it("rejects an alias equal to the model's own id", () => {
    const text = VALID.replace('aliases: [tiny]', 'aliases: [small]');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'aliases: [small]')}:`);
    expect(err.message).toContain(`duplicate alias "small": already this model's id`);
  });

  it('rejects negative prices', () => {
    const text = VALID.replace('input: 0.15', 'input: -0.15');
    const err = catalogError(text);
    expect(err.message).toBe(`${SRC}:${lineOf(text, 'input: -0.15')}:23: models[0] (id: small): pricing.input: expected number >= 0, got number -0.15`);
  });

  it('rejects a negative price in a block mapping at the exact line', () => {
    const text = VALID.replace('      output: 10', '      output: -10');
    const err = catalogError(text);
    expect(err.message).toBe(`${SRC}:${lineOf(text, 'output: -10')}:15: models[1] (id: big): pricing.output: expected number >= 0, got number -10`);
  });

  it('rejects cached_input above input', () => {
    const text = VALID.replace('cached_input: 1.25', 'cached_input: 12.5');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'cached_input: 12.5')}:`);
    expect(err.message).toContain('models[1] (id: big): pricing.cached_input: cached_input (12.5) must not exceed input (2.5)');
  });

  it('rejects prices given as strings', () => {
    const text = VALID.replace('output: 0.60', 'output: "$0.60"');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, '"$0.60"')}:`);
    expect(err.message).toContain('pricing.output: expected number, got string "$0.60"');
  });

  it('rejects an unknown capability', () => {
    const text = VALID.replace('capabilities: [tools, vision, streaming]', 'capabilities: [tools, visoin, streaming]');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'visoin')}:`);
    expect(err.message).toContain(
      'models[1] (id: big): capabilities[1]: expected one of tools, vision, json_mode, streaming, reasoning, got string "visoin" (did you mean "vision"?)',
    );
  });

  it('rejects a capability listed twice', () => {
    const text = VALID.replace('capabilities: [tools, streaming]', 'capabilities: [tools, streaming, tools]');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, '[tools, streaming, tools]')}:`);
    expect(err.message).toContain('models[0] (id: small): capabilities[2]: capability "tools" is listed twice');
  });

  it('rejects an unknown tier', () => {
    const text = VALID.replace('tier: premium', 'tier: gold');
    const err = catalogError(text);
    expect(err.message).toBe(
      `${SRC}:${lineOf(text, 'tier: gold')}:11: models[1] (id: big): tier: expected one of economy, standard, premium, got string "gold"`,
    );
  });

  it('rejects a missing required field, pointing at the entry', () => {
    const text = VALID.replace('    context_window: 128000\n', '');
    const err = catalogError(text);
    expect(err.message).toBe(`${SRC}:${lineOf(text, '- id: small')}:5: models[0] (id: small): context_window: missing required field (expected number)`);
  });

  it('rejects a missing nested field, pointing at its parent mapping', () => {
    const text = VALID.replace('      output: 10\n', '');
    const err = catalogError(text);
    expect(err.message).toBe(`${SRC}:${lineOf(text, '      input: 2.5')}:7: models[1] (id: big): pricing.output: missing required field (expected number)`);
  });

  it('rejects a missing enum field as missing, not as a bad value', () => {
    const text = VALID.replace('    tier: economy\n', '');
    const err = catalogError(text);
    expect(err.message).toBe(
      `${SRC}:${lineOf(text, '- id: small')}:5: models[0] (id: small): tier: missing required field (expected one of economy, standard, premium)`,
    );
  });

  it('suggests a capability from an unambiguous prefix', () => {
    const text = VALID.replace('capabilities: [tools, streaming]', 'capabilities: [tools, json]');
    expect(catalogError(text).message).toContain(
      'capabilities[1]: expected one of tools, vision, json_mode, streaming, reasoning, got string "json" (did you mean "json_mode"?)',
    );
  });

  it('rejects a model without an id (entry named by index)', () => {
    const text = VALID.replace('  - id: big\n    provider: openai\n', '  - provider: openai\n');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, '  - provider: openai')}:5: models[1]: id: missing required field`);
  });

  it('rejects a missing provider field', () => {
    const text = VALID.replace('    api_key_env: OPENAI_API_KEY\n', '');
    const err = catalogError(text);
    expect(err.message).toBe(
      `${SRC}:${lineOf(text, 'format: openai')}:5: providers.openai: api_key_env: a provider needs api_key_env, or enabled_env when it takes no key`,
    );
  });

  it('rejects unknown keys in a model (typos do not pass silently)', () => {
    const text = VALID.replace(
      '    max_output_tokens: 16384\n    capabilities: [tools, vision',
      '    max_output_token: 16384\n    capabilities: [tools, vision',
    );
    const err = catalogError(text);
    const line = lineOf(text, 'max_output_token: 16384');
    expect(err.message).toContain(
      `${SRC}:${line}:5: models[1] (id: big): max_output_token: unknown key "max_output_token" (did you mean "max_output_tokens"?)`,
    );
    // the now-missing real field is reported too
    expect(err.message).toContain('models[1] (id: big): max_output_tokens: missing required field');
  });

  it('rejects unknown keys in pricing, providers and at the top level', () => {
    const text = VALID.replace('output: 0.60 }', 'output: 0.60, cache_read: 0.01 }')
      .replace('    base_path: /v1\n', '    base_url: /v1\n')
      .concat('defaults: {}\n');
    const err = catalogError(text);
    expect(err.message).toContain(
      `${SRC}:${lineOf(text, 'cache_read')}:43: models[0] (id: small): pricing.cache_read: unknown key "cache_read" (allowed: input, output, cached_input)`,
    );
    expect(err.message).toContain(
      `${SRC}:${lineOf(text, 'base_url')}:5: providers.openai: base_url: unknown key "base_url" (allowed: format, host, port, tls, base_path, api_key_env, enabled_env)`,
    );
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'defaults:')}:1: defaults: unknown key "defaults"`);
    // one line per problem, in file order
    const lines = err.message.split('\n');
    expect(lines.length).toBe(err.issues.length);
    const nums = err.issues.map((i) => i.line);
    expect(nums).toEqual([...nums].sort((a, b) => a - b));
  });

  it('rejects max_output_tokens > context_window', () => {
    const text = VALID.replace(
      '    max_output_tokens: 16384\n    capabilities: [tools, streaming]',
      '    max_output_tokens: 200000\n    capabilities: [tools, streaming]',
    );
    const err = catalogError(text);
    expect(err.message).toBe(
      `${SRC}:${lineOf(text, 'max_output_tokens: 200000')}:24: models[0] (id: small): max_output_tokens: max_output_tokens (200000) exceeds context_window (128000)`,
    );
  });

  it('rejects non-integer token limits and bad provider values', () => {
    const text = VALID.replace('context_window: 128000', 'context_window: 128000.5')
      .replace('port: 443', 'port: 70000')
      .replace('host: api.openai.com', 'host: https://api.openai.com');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, '128000.5')}:21: models[0] (id: small): context_window: expected integer, got number 128000.5`);
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'port: 70000')}:11: providers.openai: port: expected number <= 65535, got number 70000`);
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'host: https')}:11: providers.openai: host: host must be a bare hostname`);
  });

  it('rejects an invalid provider name', () => {
    const text = VALID.replace('  openai:\n', '  Open AI:\n');
    const err = catalogError(text);
    expect(err.message).toContain(`${SRC}:${lineOf(text, 'Open AI:')}:3: providers.Open AI: invalid key "Open AI"`);
  });

  it('rejects an empty document or one that is not a mapping', () => {
    expect(catalogError('').message).toBe(`${SRC}:1:1: (catalog root): expected object, got null`);
    expect(catalogError('- a\n- b\n').message).toBe(`${SRC}:1:1: (catalog root): expected object, got a list`);
    expect(catalogError('providers: {}\n').message).toBe(`${SRC}:1:1: models: missing required field (expected array)`);
  });

  it('reports several problems at once, each with its own line', () => {
    const text = VALID.replace('input: 0.15', 'input: -1').replace('tier: premium', 'tier: gold');
    const err = catalogError(text);
    expect(err.issues.map((i) => i.line)).toEqual([lineOf(text, 'input: -1'), lineOf(text, 'tier: gold')]);
  });
});

describe('loadCatalog', () => {
  it('throws a CatalogError naming the path when the file cannot be read', () => {
    expect(() => loadCatalog('/nonexistent/catalog.yaml')).toThrow(CatalogError);
    expect(() => loadCatalog('/nonexistent/catalog.yaml')).toThrow(/^\/nonexistent\/catalog\.yaml: cannot read model catalog: /);
  });
});

describe('cache_ttl_seconds', () => {
  it('is optional and read as cacheTtlSeconds', () => {
    const text = VALID.replace('  - id: small\n', '  - id: small\n    cache_ttl_seconds: 600\n');
    const c = parseCatalog(text, SRC);
    expect(c.find('small')?.cacheTtlSeconds).toBe(600);
    expect(c.find('big')?.cacheTtlSeconds).toBeUndefined();
  });

  it('must be a positive integer', () => {
    const text = VALID.replace('  - id: small\n', '  - id: small\n    cache_ttl_seconds: 0\n');
    expect(catalogError(text).message).toMatch(/models\[0\] \(id: small\): cache_ttl_seconds/);
  });
});

describe('fallbacks', () => {
  const withFallbacks = (list: string) => VALID.replace('    tier: economy\n', `    tier: economy\n    fallbacks: ${list}\n`);

  it('resolves aliases to ids', () => {
    const c = parseCatalog(withFallbacks('[big]'), SRC);
    expect(c.find('small')!.fallbacks).toEqual(['big']);
  });

  it('rejects unknown models, the model itself and repeats, naming the entry', () => {
    expect(catalogError(withFallbacks('[nope]')).message).toContain('models[0] (id: small): fallbacks[0]: unknown model "nope" in fallbacks');
    expect(catalogError(withFallbacks('[tiny]')).message).toContain('a model cannot be its own fallback');
    expect(catalogError(withFallbacks('[big, big]')).message).toContain('"big" is listed twice in fallbacks');
  });
});
