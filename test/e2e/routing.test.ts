/*
 * End to end: the router through real Envoy. `model: "auto"` requests of different kinds land on
 * the expected tier, local-only requests never reach a cloud backend, the context filter holds at
 * its boundary, provider quotas steer traffic before the provider's 429, the GPU pool picker avoids
 * a loaded endpoint, and a failing canary is rolled back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../ext-proc/src/catalog/load.js';
import { classifyRequestOf } from '../../ext-proc/src/classify/from-canonical.js';
import { initClassifier } from '../../ext-proc/src/classify/index.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { openaiFormat } from '../../ext-proc/src/providers/openai/index.js';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { metricValue } from '../helpers/prom.js';

const catalog = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml'));
const KEYS = {
  acme: 'gw-key-route-acme01',
  onprem: 'gw-key-route-onprem',
  ctx: 'gw-key-route-ctx001',
  quota: 'gw-key-route-quota1',
  canary: 'gw-key-route-canary',
};
const CTX_MODEL = 'llama-3.1-8b-instant';

const ROUTING = `
policies:
  default:
    tiers:
      simple: [gpt-5-nano, gemini-2.5-flash-lite, llama-3.1-8b-instant]
      medium: [gpt-5-mini, claude-haiku-4-5]
      complex: [gpt-5, claude-sonnet-4-5, gemini-2.5-pro]
    premium_baseline: gpt-5
  local:
    tiers:
      simple: [vllm/llama-3.1-8b]
      medium: [vllm/llama-3.1-8b]
      complex: [vllm/llama-3.1-8b]
    local_only: true
  ctx:
    tiers:
      simple: [${CTX_MODEL}]
      medium: [${CTX_MODEL}]
      complex: [${CTX_MODEL}]
  quota:
    tiers:
      simple: [deepseek-chat, gpt-5-mini]
      medium: [deepseek-chat, gpt-5-mini]
      complex: [deepseek-chat, gpt-5-mini]
    weights: { price: 1, quality: 0, latency: 0 }
provider_quotas:
  deepseek: { requests_per_minute: 4 }
canaries:
  - name: mini-next
    tenant: canary
    stable: gpt-4o-mini
    canary: openrouter/deepseek/deepseek-chat-v3.1
    percent: 50
    min_samples: 5
`;

let stack: LocalStack;
const client = (tenant: keyof typeof KEYS) => new OpenAI({ apiKey: KEYS[tenant], baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
const cloudCalls = () =>
  Object.entries(stack.simulators)
    .filter(([provider]) => catalog.providers.get(provider)?.apiKeyEnv !== undefined)
    .reduce((n, [, sim]) => n + sim.requestCount(), 0);

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-routing-'));
  writeFileSync(path.join(dir, 'routing.yaml'), ROUTING);
  writeFileSync(
    path.join(dir, 'tenants.yaml'),
    'tenants:\n  acme: {}\n  onprem: { routing_policy: local }\n  ctx: { routing_policy: ctx }\n  quota: { routing_policy: quota }\n  canary: {}\n',
  );
  stack = await startLocalStack({
    env: {
      GATEWAY_KEYS: Object.entries(KEYS)
        .map(([t, k]) => `${t}:${k}`)
        .join(','),
      CACHE_TTL_SECONDS: '0',
      ROUTING_PATH: path.join(dir, 'routing.yaml'),
      TENANTS_PATH: path.join(dir, 'tenants.yaml'),
    },
    log: pino({ level: 'silent' }),
    // The canary's backend fails every call.
    ownSimulators: { openrouter: { failEvery: 1, failStatus: 500 } },
    // Two vLLM endpoints: the first takes one sequence at a time and decodes slowly.
    pools: { vllm: [{ maxNumSeqs: 1, tokensPerSecond: 20 }, { maxNumSeqs: 8 }] },
  });
});

afterAll(async () => {
  await stack?.close(500);
});

describe('router', () => {
  it('sends a simple question to an economy model and a hard proof to a premium one, and says why', async () => {
    const simple = await client('acme')
      .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'What is the capital of France?' }] })
      .withResponse();
    expect(simple.response.headers.get('x-gateway-tier')).toBe('simple');
    expect(catalog.find(simple.response.headers.get('x-gateway-model')!)!.tier).toBe('economy');
    // The router's reason, then the classifier's calibrated probabilities (simple/medium/complex)
    // and the policy's threshold (the default policy is balanced).
    expect(simple.response.headers.get('x-gateway-route-reason')).toMatch(/^score; p=(?:[01]\.\d\d\/){2}[01]\.\d\d t=0\.\d\d balanced$/);
    expect(simple.response.headers.get('x-gateway-domain')).toBeTruthy();

    const hard = await client('acme')
      .chat.completions.create({
        model: 'auto',
        messages: [
          {
            role: 'user',
            content:
              'Prove rigorously that the square root of 2 is irrational, then prove that there are infinitely many primes, justifying every step of both proofs.',
          },
        ],
      })
      .withResponse();
    expect(hard.response.headers.get('x-gateway-tier')).toBe('complex');
    expect(catalog.find(hard.response.headers.get('x-gateway-model')!)!.tier).toBe('premium');

    const text = await (await fetch(stack.metricsUrl)).text();
    expect(metricValue(text, 'llm_gateway_reroutes_total', { tenant: 'acme', requested_model: 'auto' })).toBeGreaterThanOrEqual(2);
    // The simple answer cost less than gpt-5 would have.
    expect(metricValue(text, 'llm_gateway_routing_saved_usd_total', { tenant: 'acme' })).toBeGreaterThan(0);
  });

  it('keeps local-only requests on the local pool: no cloud backend sees them', async () => {
    const before = cloudCalls();
    for (const tenant of ['onprem', 'acme'] as const) {
      const headers = tenant === 'acme' ? { 'x-gateway-local-only': 'true' } : {};
      const r = await client(tenant)
        .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Summarise our quarterly numbers.' }] }, { headers })
        .withResponse();
      expect(catalog.find(r.response.headers.get('x-gateway-model')!)!.provider.apiKeyEnv).toBeUndefined();
    }
    // A named cloud model is refused, not quietly sent out.
    const err = await client('acme')
      .chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-gateway-local-only': 'true' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(403);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('local_only');
    expect(cloudCalls()).toBe(before);
  });

  it('holds the context window at its boundary and falls back to a larger model past it', async () => {
    const messages = [{ role: 'user' as const, content: 'Write a long story.' }];
    const est = initClassifier().classify(classifyRequestOf(openaiFormat.parseRequest({ model: 'auto', messages }, {}))).estimatedTokens;
    const window = catalog.find(CTX_MODEL)!.contextWindow;
    const at = await client('ctx')
      .chat.completions.create({ model: 'auto', messages, max_tokens: window - est })
      .withResponse();
    expect(at.response.headers.get('x-gateway-model')).toBe(CTX_MODEL);
    const past = await client('ctx')
      .chat.completions.create({ model: 'auto', messages, max_tokens: window - est + 1 })
      .withResponse();
    expect(past.response.headers.get('x-gateway-route-reason')).toMatch(/^context-fallback; p=/);
    expect(catalog.find(past.response.headers.get('x-gateway-model')!)!.contextWindow).toBeGreaterThan(window);
  });

  it('steers away from a provider near its free-tier quota, before it answers 429', async () => {
    // DeepSeek shares the OpenAI-format simulator: count the calls that named its model.
    const sim = stack.simulators.deepseek!;
    const deepseekCalls = () => sim.requests.filter((r) => (r.body as { model?: string }).model === 'deepseek-chat').length;
    const before = deepseekCalls();
    const models: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await client('quota')
        .chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: `quota probe ${i}` }] })
        .withResponse();
      models.push(r.response.headers.get('x-gateway-model')!);
    }
    // Steered at 90 % of 4 requests/min: the provider gets its 4, never a 5th it would refuse.
    expect(models.slice(0, 4)).toEqual(['deepseek-chat', 'deepseek-chat', 'deepseek-chat', 'deepseek-chat']);
    expect(models.slice(4)).toEqual(['gpt-5-mini', 'gpt-5-mini', 'gpt-5-mini', 'gpt-5-mini']);
    expect(deepseekCalls() - before).toBe(4);
  });

  it('the pool picker avoids a loaded vLLM endpoint', async () => {
    const [slow, fast] = stack.poolSimulators.vllm!;
    // Keep the slow endpoint busy with direct calls (one running, two queued).
    const busy = new AbortController();
    const direct = [1, 2, 3].map(() =>
      fetch(`${slow!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'meta-llama/Llama-3.1-8B-Instruct', stream: true, messages: [{ role: 'user', content: 'busy [sim:tokens=400]' }] }),
        signal: busy.signal,
      }).then(
        (r) => r.body?.pipeTo(new WritableStream()).catch(() => undefined),
        () => undefined,
      ),
    );
    try {
      // Let the pool scrape /metrics (every second).
      await new Promise((r) => setTimeout(r, 2500));
      const slowBefore = slow!.requestCount();
      const fastBefore = fast!.requestCount();
      for (let i = 0; i < 4; i++) {
        const r = await client('onprem')
          .chat.completions.create({ model: 'vllm/llama-3.1-8b', messages: [{ role: 'user', content: `pool probe ${i}` }] })
          .withResponse();
        expect(r.response.headers.get('x-gateway-provider')).toBe('vllm');
      }
      expect(fast!.requestCount() - fastBefore).toBe(4);
      expect(slow!.requestCount() - slowBefore).toBe(0);
    } finally {
      busy.abort();
      await Promise.all(direct);
    }
  });

  it('rolls a failing canary back and sends everything to stable afterwards', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEYS.canary}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `canary probe ${i}` }] }),
      });
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    const failures = statuses.filter((s) => s >= 500).length;
    // At least min_samples canary calls failed before the rollback, and none after it.
    expect(failures).toBeGreaterThanOrEqual(5);
    // The canary's provider answers 500; the gateway passes upstream trouble on as 502.
    const lastFailure = statuses.findLastIndex((s) => s >= 500);
    expect(statuses.slice(lastFailure + 1).length).toBeGreaterThanOrEqual(10);
    expect(statuses.slice(lastFailure + 1).every((s) => s === 200)).toBe(true);
    const text = await (await fetch(stack.metricsUrl)).text();
    expect(metricValue(text, 'llm_gateway_canary_rollbacks_total', { canary: 'mini-next' })).toBe(1);
    expect(metricValue(text, 'llm_gateway_canary_active', { canary: 'mini-next' })).toBe(0);
  });
});
