import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalog, type Model } from '../catalog/load.js';
import type { Classification } from '../classify/types.js';
import { GatewayError } from '../errors.js';
import { Affinity } from './affinity.js';
import { LatencyTracker } from './latency.js';
import { DEFAULT_WEIGHTS, type RoutingPolicy } from './policy.js';
import { ProviderQuotas } from './provider-quota.js';
import { PRESET_DIALS } from '../classify/decide.js';
import { Router, type RouteInput } from './router.js';

const catalog = loadCatalog(fileURLToPath(new URL('../../../models/catalog.yaml', import.meta.url)));

const policy: RoutingPolicy = {
  name: 'test',
  tiers: {
    simple: ['gpt-5-nano', 'gemini-2.5-flash-lite', 'llama-3.1-8b-instant', 'ollama/llama3.2'],
    medium: ['gpt-5-mini', 'deepseek-chat', 'claude-haiku-4-5'],
    complex: ['gpt-5', 'claude-sonnet-4-5', 'gemini-2.5-pro'],
  },
  domains: { code: { complex: ['claude-sonnet-4-5'] } },
  weights: DEFAULT_WEIGHTS,
  splits: {},
  rerouteExplicit: false,
  localOnly: false,
  premiumBaseline: 'gpt-5',
  tierDial: PRESET_DIALS.balanced,
  dialName: 'balanced',
};

function classification(over: Partial<Classification> = {}): Classification {
  return {
    tier: 'simple',
    domain: 'general',
    capabilities: { tools: false, vision: false, json: false, longContext: false },
    estimatedTokens: 200,
    language: 'en',
    ...over,
  };
}

function setup(o: { quotas?: ProviderQuotas; random?: () => number } = {}) {
  const latency = new LatencyTracker();
  const affinity = new Affinity();
  const router = new Router(catalog, { latency, affinity, quotas: o.quotas ?? new ProviderQuotas(new Map()), random: o.random });
  const input = (over: Partial<RouteInput> = {}): RouteInput => ({
    requested: 'auto',
    requestedModel: undefined,
    policy,
    classification: classification(),
    maxOutputTokens: undefined,
    localOnly: false,
    usable: () => true,
    affinityKey: undefined,
    ...over,
  });
  return { router, latency, affinity, input };
}

const tierOf = (m: Model) => m.tier;

describe('Router', () => {
  it('sends simple requests to an economy model and complex ones to a premium model', () => {
    const { router, input } = setup();
    expect(tierOf(router.route(input()).model)).toBe('economy');
    const complex = router.route(input({ classification: classification({ tier: 'complex' }) }));
    expect(tierOf(complex.model)).toBe('premium');
    expect(complex.reason).toBe('score');
  });

  it('prefers the domain specialist within the tier', () => {
    const { router, input } = setup();
    const d = router.route(input({ classification: classification({ tier: 'complex', domain: 'code' }) }));
    expect(d).toMatchObject({ model: { id: 'claude-sonnet-4-5' }, reason: 'domain' });
  });

  it('honours an explicit model unless the policy reroutes explicit models', () => {
    const { router, input } = setup();
    const gpt5 = catalog.find('gpt-5')!;
    expect(router.route(input({ requested: 'gpt-5', requestedModel: gpt5 }))).toEqual({ model: gpt5, reason: 'explicit' });
    const rerouted = router.route(input({ requested: 'gpt-5', requestedModel: gpt5, policy: { ...policy, rerouteExplicit: true } }));
    expect(rerouted.model.tier).toBe('economy');
  });

  it('keeps local-only requests on local models, and refuses a named cloud model for them', () => {
    const { router, input } = setup();
    const d = router.route(input({ localOnly: true, classification: classification({ tier: 'complex' }) }));
    expect(d.model.provider.apiKeyEnv).toBeUndefined();
    let err: unknown;
    try {
      router.route(input({ requested: 'gpt-5', requestedModel: catalog.find('gpt-5')!, localOnly: true }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).opts.code).toBe('local_only');
  });

  it('filters by capabilities and usability', () => {
    const { router, input } = setup();
    const vision = router.route(input({ classification: classification({ capabilities: { tools: false, vision: true, json: false, longContext: false } }) }));
    expect(vision.model.capabilities.has('vision')).toBe(true);
    const withoutNano = router.route(input({ usable: (m) => m.id !== 'gpt-5-nano' && m.id !== 'gemini-2.5-flash-lite' }));
    expect(['llama-3.1-8b-instant', 'ollama/llama3.2']).toContain(withoutNano.model.id);
  });

  it('falls back to a larger context window at the boundary', () => {
    const { router, input } = setup();
    const small = catalog.find('llama-3.1-8b-instant')!;
    const only = (m: Model) => m.id !== 'gpt-5-nano' && m.id !== 'gemini-2.5-flash-lite' && m.id !== 'ollama/llama3.2';
    const fits = router.route(input({ usable: only, classification: classification({ estimatedTokens: small.contextWindow - 100 }), maxOutputTokens: 100 }));
    expect(fits.model.id).toBe(small.id);
    const over = router.route(input({ usable: only, classification: classification({ estimatedTokens: small.contextWindow - 100 }), maxOutputTokens: 101 }));
    expect(over.reason).toBe('context-fallback');
    expect(over.model.contextWindow).toBeGreaterThanOrEqual(small.contextWindow + 1);
  });

  it('steers away from a provider near its quota, and uses it again when every candidate is', () => {
    const quotas = new ProviderQuotas(new Map([['openai', { requestsPerMinute: 10 }]]));
    const { router, input: base } = setup({ quotas });
    const input = (over: Partial<RouteInput> = {}) => base({ usable: (m) => m.provider.id === 'openai' || m.provider.id === 'gemini', ...over });
    expect(router.route(input()).model.provider.id).toBe('openai');
    for (let i = 0; i < 9; i++) quotas.recordRequest('openai');
    expect(router.route(input()).model.provider.id).not.toBe('openai');
    const onlyOpenAI = router.route(input({ usable: (m) => m.provider.id === 'openai' }));
    expect(onlyOpenAI.reason).toBe('quota-exhausted');
  });

  it('splits traffic by weight among the usable split members', () => {
    let r = 0;
    const seq = [0.1, 0.5, 0.75, 0.95];
    const { router, input } = setup({ random: () => seq[r++ % seq.length]! });
    const split = {
      ...policy,
      splits: {
        simple: [
          { model: 'llama-3.1-8b-instant', weight: 70 },
          { model: 'gemini-2.5-flash-lite', weight: 20 },
          { model: 'gpt-5-nano', weight: 10 },
        ],
      },
    };
    const picks = seq.map(() => router.route(input({ policy: split })));
    expect(picks.map((p) => p.model.id)).toEqual(['llama-3.1-8b-instant', 'llama-3.1-8b-instant', 'gemini-2.5-flash-lite', 'gpt-5-nano']);
    expect(picks.every((p) => p.reason === 'split')).toBe(true);
  });

  it('keeps a conversation on its model across turns, until its tier rises', () => {
    const { router, input, latency } = setup();
    const first = router.route(input({ affinityKey: 'conv-1' }));
    // Make another candidate look much better: affinity still wins.
    latency.observe(first.model.id, 30);
    const second = router.route(input({ affinityKey: 'conv-1' }));
    expect(second).toEqual({ model: first.model, reason: 'affinity' });
    const harder = router.route(input({ affinityKey: 'conv-1', classification: classification({ tier: 'complex' }) }));
    expect(harder.model.tier).toBe('premium');
    expect(harder.reason).toBe('score');
    // Back to a simple turn: the conversation stays on the stronger model it moved to.
    expect(router.route(input({ affinityKey: 'conv-1' })).model).toBe(harder.model);
  });

  it('prefers lower observed latency among equally priced candidates', () => {
    const { router, input, latency } = setup();
    const local = { ...policy, tiers: { ...policy.tiers, simple: ['ollama/llama3.2', 'vllm/llama-3.1-8b'] } };
    latency.observe('ollama/llama3.2', 5);
    latency.observe('vllm/llama-3.1-8b', 0.5);
    expect(router.route(input({ policy: local })).model.id).toBe('vllm/llama-3.1-8b');
    latency.observe('vllm/llama-3.1-8b', 40);
    latency.observe('vllm/llama-3.1-8b', 40);
    expect(router.route(input({ policy: local })).model.id).toBe('ollama/llama3.2');
  });

  it('says why when nothing can serve the request', () => {
    const { router, input } = setup();
    expect(() => router.route(input({ usable: () => false }))).toThrow(/No available model/);
  });
});
