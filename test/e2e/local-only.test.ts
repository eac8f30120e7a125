/*
 * End to end: a request that must stay on-premises (the tenant's `local_only`, or the caller's
 * `x-gateway-local-only: true`) never reaches a cloud backend, on any path: its model's fallback
 * chain, a cooldown of the local pool, a canary whose canary model is a cloud one, and a prompt
 * too long for every local model.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../ext-proc/src/catalog/load.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const catalog = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml'));
const KEYS = { onprem: 'gw-key-local-onprem1', open: 'gw-key-local-open001' };
/** A local model whose fallback chain goes to the cloud (DeepSeek). */
const LOCAL = 'ollama/llama3.2';

let stack: LocalStack;
const client = (tenant: keyof typeof KEYS) => new OpenAI({ apiKey: KEYS[tenant], baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
/** Calls every cloud provider's simulator received (providers of one API share a simulator). */
const cloudCalls = () =>
  [
    ...new Set(
      Object.entries(stack.simulators)
        .filter(([provider]) => catalog.providers.get(provider)?.apiKeyEnv !== undefined)
        .map(([, sim]) => sim),
    ),
  ].reduce((n, sim) => n + sim.requestCount(), 0);

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-local-only-'));
  writeFileSync(path.join(dir, 'tenants.yaml'), 'tenants:\n  onprem: { local_only: true }\n  open: {}\n');
  writeFileSync(
    path.join(dir, 'routing.yaml'),
    [
      'policies:',
      '  default:',
      '    tiers:',
      `      simple: [${LOCAL}, gpt-5-nano]`,
      `      medium: [${LOCAL}, gpt-5-mini]`,
      `      complex: [${LOCAL}, gpt-5]`,
      'canaries:',
      '  - name: local-to-cloud',
      `    stable: ${LOCAL}`,
      '    canary: deepseek-chat',
      '    percent: 100',
      '    min_samples: 1000',
      '',
    ].join('\n'),
  );
  stack = await startLocalStack({
    env: {
      GATEWAY_KEYS: Object.entries(KEYS)
        .map(([t, k]) => `${t}:${k}`)
        .join(','),
      CACHE_TTL_SECONDS: '0',
      TENANTS_PATH: path.join(dir, 'tenants.yaml'),
      ROUTING_PATH: path.join(dir, 'routing.yaml'),
    },
    log: pino({ level: 'silent' }),
    // The local pool fails every call: a chain would move on to its cloud member.
    ownSimulators: { ollama: { failEvery: 1, failStatus: 500 } },
  });
});

afterAll(async () => {
  await stack?.close(500);
});

async function statusOf(p: Promise<unknown>): Promise<number> {
  return p.then(
    () => 200,
    (e: unknown) => (e as InstanceType<typeof OpenAI.APIError>).status ?? 0,
  );
}

describe('local only', () => {
  it('a failing local model is not replaced by its cloud fallback, for the tenant and for the header', async () => {
    const before = cloudCalls();
    expect(
      await statusOf(client('onprem').chat.completions.create({ model: LOCAL, messages: [{ role: 'user', content: 'chain probe' }] })),
    ).toBeGreaterThanOrEqual(500);
    const viaHeader = client('open').chat.completions.create(
      { model: LOCAL, messages: [{ role: 'user', content: 'chain probe' }] },
      { headers: { 'x-gateway-local-only': 'true' } },
    );
    expect(await statusOf(viaHeader)).toBeGreaterThanOrEqual(500);
    expect(cloudCalls()).toBe(before);
  });

  it('while the local pool cools down after refusals, the next call still does not go out', async () => {
    const before = cloudCalls();
    for (let i = 0; i < 3; i++) {
      await statusOf(client('onprem').chat.completions.create({ model: LOCAL, messages: [{ role: 'user', content: `cooldown probe ${i}` }] }));
      await statusOf(client('onprem').chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: `cooldown auto ${i}` }] }));
    }
    expect(cloudCalls()).toBe(before);
  });

  it('a canary whose canary model is a cloud one leaves local-only calls on the stable model', async () => {
    const before = cloudCalls();
    await statusOf(client('onprem').chat.completions.create({ model: LOCAL, messages: [{ role: 'user', content: 'canary probe' }] }));
    expect(cloudCalls()).toBe(before);
    // Without the demand, the canary does take the call (the test would prove nothing otherwise).
    const open = await client('open')
      .chat.completions.create({ model: LOCAL, messages: [{ role: 'user', content: 'canary probe' }] })
      .withResponse();
    expect(open.response.headers.get('x-gateway-model')).toBe('deepseek-chat');
    expect(cloudCalls()).toBe(before + 1);
  });

  it('a prompt too long for every local model is refused, not sent to a larger cloud model', async () => {
    const before = cloudCalls();
    const window = catalog.find(LOCAL)!.contextWindow;
    const status = await statusOf(
      client('onprem').chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'Summarise this.' }], max_tokens: window + 1 }),
    );
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    expect(cloudCalls()).toBe(before);
  });
});
