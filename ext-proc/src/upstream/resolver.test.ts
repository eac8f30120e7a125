import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { filterCatalog, loadCatalog } from '../catalog/load.js';
import { GatewayError } from '../errors.js';
import { credentialsFromEnv, UpstreamResolver } from './resolver.js';

const catalog = loadCatalog(fileURLToPath(new URL('../../../models/catalog.yaml', import.meta.url)));

describe('credentialsFromEnv', () => {
  it('keeps only providers whose key variable is set and non-empty', () => {
    const creds = credentialsFromEnv(catalog, { OPENAI_API_KEY: 'sk-openai', GROQ_API_KEY: '', UNRELATED: 'x' });
    expect([...creds.entries()]).toEqual([['openai', 'sk-openai']]);
  });

  it('offers a keyless provider (local Ollama) only while its enabled_env is set', () => {
    expect(credentialsFromEnv(catalog, {}).has('ollama')).toBe(false);
    const creds = credentialsFromEnv(catalog, { OLLAMA_URLS: 'http://127.0.0.1:11434' });
    expect(creds.has('ollama')).toBe(true);
    expect(creds.get('ollama')).toBeUndefined();
  });
});

describe('UpstreamResolver', () => {
  const creds = new Map<string, string | undefined>([
    ['openai', 'sk-openai'],
    ['groq', 'gsk-groq'],
  ]);
  const resolver = new UpstreamResolver(catalog, creds);

  it('resolves ids and aliases', () => {
    expect(resolver.model('gpt-4o-mini').id).toBe('gpt-4o-mini');
    expect(resolver.model('gpt-oss-120b').id).toBe('groq/openai/gpt-oss-120b');
  });

  it('an unknown model is a 404 model_not_found on param model', () => {
    let err: unknown;
    try {
      resolver.model('gpt-9000');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 404, opts: { param: 'model', code: 'model_not_found' } });
    expect((err as Error).message).toContain('gpt-9000');
  });

  it('targets the provider cluster, host and credential', () => {
    expect(resolver.chatTarget(resolver.model('gpt-4o-mini'))).toMatchObject({
      cluster: 'openai',
      authority: 'api.openai.com',
      credential: 'sk-openai',
    });
    expect(resolver.chatTarget(resolver.model('groq/openai/gpt-oss-20b'))).toMatchObject({
      cluster: 'groq',
      authority: 'api.groq.com',
      credential: 'gsk-groq',
    });
  });

  it('a provider without a credential is a 503, not a call without a key', () => {
    const m = resolver.model('deepseek-chat');
    expect(() => resolver.chatTarget(m)).toThrow(GatewayError);
    expect(() => resolver.chatTarget(m)).toThrow(/No credential/);
  });

  it('with a filtered catalog, models of unconfigured providers are unknown', () => {
    const filtered = filterCatalog(catalog, (p) => creds.has(p.id));
    const r = new UpstreamResolver(filtered, creds);
    expect(() => r.model('deepseek-chat')).toThrow(/does not exist/);
  });
});
