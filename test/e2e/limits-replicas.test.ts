/*
 * Rate limits and budgets across replicas: three processor replicas behind one real Envoy
 * (Envoy balances the ext_proc streams), one real Redis, 100 concurrent calls per tenant.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../ext-proc/src/catalog/load.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { worstCase } from '../../ext-proc/src/limits/admission.js';
import { costUsd } from '../../ext-proc/src/metering/cost.js';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { metricValue } from '../helpers/prom.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';

const TPM = 3000;
const USD_PER_DAY = 0.01;
const catalog = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml'));

let redis: RedisServerHandle;
let admin: Redis;
let stack: LocalStack;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  admin.on('error', () => undefined); // the suites stop Redis on purpose
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-limits-'));
  const tenantsPath = path.join(dir, 'tenants.yaml');
  writeFileSync(
    tenantsPath,
    ['tenants:', `  tpm-tenant: { limits: { tpm: ${TPM} } }`, `  budget-tenant: { limits: { usd_per_day: ${USD_PER_DAY} } }`, ''].join('\n'),
  );
  stack = await startLocalStack({
    // Three replicas share this test's event loop with 100 calls in flight: the default 100 ms
    // limiter budget measures that loop's lag, not Redis. A wider one keeps the test about
    // admission.
    env: {
      GATEWAY_KEYS: 'tpm-tenant:gw-key-tpm-00001,budget-tenant:gw-key-budget-001',
      REDIS_URL: redis.url,
      TENANTS_PATH: tenantsPath,
      CACHE_TTL_SECONDS: '0',
      LIMITS_TIMEOUT_MS: '2000',
    },
    log: pino({ level: 'silent' }),
    replicas: 3,
  });
});

afterAll(async () => {
  await stack?.close(500);
  admin?.disconnect();
  await redis?.stop();
});

interface Outcome {
  status: number;
  usage?: OpenAI.CompletionUsage;
  headers?: Headers;
  error?: { code?: string | null; message: string; retryAfter?: string | null };
}

async function fire(key: string, model: string, n: number): Promise<{ outcomes: Outcome[]; body: Record<string, unknown> }> {
  const client = new OpenAI({ apiKey: key, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
  const body = { model, messages: [{ role: 'user' as const, content: 'limit probe' }], max_tokens: 40 };
  const outcomes = await Promise.all(
    Array.from({ length: n }, async (): Promise<Outcome> => {
      try {
        const { data, response } = await client.chat.completions.create(body).withResponse();
        return { status: response.status, usage: data.usage, headers: response.headers };
      } catch (e) {
        const err = e as InstanceType<typeof OpenAI.APIError>;
        return { status: err.status ?? 0, error: { code: err.code, message: err.message, retryAfter: err.headers?.get('retry-after') } };
      }
    }),
  );
  return { outcomes, body };
}

/** Sums a field over the tenant's limiter counters in Redis. */
async function counters(tenant: string): Promise<{ tokens: number; dayMicros: number }> {
  let tokens = 0;
  let dayMicros = 0;
  for (const k of await admin.keys(`llmgw:rl:tenant:${tenant}:*`)) {
    if (k.includes(':m:')) tokens += Number((await admin.hget(k, 't')) ?? 0);
    if (k.includes(':d:')) dayMicros += Number((await admin.get(k)) ?? 0);
  }
  return { tokens, dayMicros };
}

/**
 * Every call was admitted or refused by a limit. On a very loaded machine a limiter command can
 * still pass its timeout; the limiter then fails closed with 503 limits_unavailable, which is the
 * documented behaviour, not a leak: allow a couple, and nothing else.
 */
function expectOnlyAdmittedOrLimited(outcomes: Outcome[], admittedOrLimited: number): void {
  const other = outcomes.filter((o) => o.status !== 200 && o.status !== 429);
  expect(other.map((o) => `${o.status} ${o.error?.code}`).filter((x) => x !== '503 limits_unavailable')).toEqual([]);
  expect(other.length).toBeLessThanOrEqual(2);
  expect(admittedOrLimited + other.length).toBe(outcomes.length);
}

const settle = () => new Promise((r) => setTimeout(r, 300));

describe('limits shared by three replicas through one Envoy', () => {
  it('holds a tokens-per-minute limit under 100 concurrent calls, and accounts every admitted call', async () => {
    const model = catalog.find('gpt-4o-mini')!;
    const { outcomes, body } = await fire('gw-key-tpm-00001', model.id, 100);
    const ok = outcomes.filter((o) => o.status === 200);
    const limited = outcomes.filter((o) => o.status === 429);
    expectOnlyAdmittedOrLimited(outcomes, ok.length + limited.length);
    const reserve = worstCase(Buffer.byteLength(JSON.stringify(body)), body, model).tokens;
    // Admission is atomic: the reservations never pass the limit, and the limit is used up to one reservation.
    expect(ok.length * reserve).toBeLessThanOrEqual(TPM);
    expect((ok.length + 1) * reserve).toBeGreaterThan(TPM);
    for (const o of limited) {
      expect(o.error?.code).toBe('rate_limit_exceeded');
      expect(o.error?.message).toMatch(/Tokens per minute limit of 3000 for tenant tpm-tenant reached/);
      expect(Number(o.error?.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    expect(ok[0]!.headers!.get('x-ratelimit-limit-tokens')).toBe(String(TPM));
    expect(Number(ok[0]!.headers!.get('x-ratelimit-remaining-tokens'))).toBeLessThan(TPM);

    await settle();
    const used = ok.reduce((sum, o) => sum + o.usage!.prompt_tokens + o.usage!.completion_tokens, 0);
    expect((await counters('tpm-tenant')).tokens).toBe(used);
  });

  it('holds a daily USD budget under 100 concurrent calls, with 429 budget_exceeded', async () => {
    const model = catalog.find('gpt-4o')!;
    const { outcomes, body } = await fire('gw-key-budget-001', model.id, 100);
    const ok = outcomes.filter((o) => o.status === 200);
    const limited = outcomes.filter((o) => o.status === 429);
    expectOnlyAdmittedOrLimited(outcomes, ok.length + limited.length);
    expect(ok.length).toBeGreaterThan(0);
    expect(limited.length).toBeGreaterThan(0);
    const reserve = worstCase(Buffer.byteLength(JSON.stringify(body)), body, model).usd;
    expect(ok.length * reserve).toBeLessThanOrEqual(USD_PER_DAY + 1e-9);
    expect((ok.length + 1) * reserve).toBeGreaterThan(USD_PER_DAY);
    expect(limited[0]!.error?.code).toBe('budget_exceeded');
    expect(limited[0]!.error?.message).toMatch(/Daily budget of \$0\.01 for tenant budget-tenant reached/);

    await settle();
    const spent = ok.reduce(
      (sum, o) =>
        sum +
        costUsd({ inputTokens: o.usage!.prompt_tokens, outputTokens: o.usage!.completion_tokens, cachedInputTokens: 0, reasoningTokens: 0 }, model.pricing),
      0,
    );
    // Counters hold whole micro-dollars: allow one micro-dollar of rounding per call.
    expect(Math.abs((await counters('budget-tenant')).dayMicros - spent * 1e6)).toBeLessThanOrEqual(ok.length);
  });

  it('spread the ext_proc streams over all three replicas', async () => {
    for (const g of stack.gateways) {
      const text = await (await fetch(`http://127.0.0.1:${g.metricsPort}/metrics`)).text();
      const handled = metricValue(text, 'llm_gateway_requests_total', {}) + metricValue(text, 'llm_gateway_limit_rejections_total', {});
      expect(handled).toBeGreaterThan(0);
    }
  });
});

describe('limits while Redis is down', () => {
  it('fails closed with 503 in the OpenAI format, and recovers without a restart', async () => {
    const client = new OpenAI({ apiKey: 'gw-key-tpm-00001', baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    await redis.stop();
    try {
      const err = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'down' }], max_tokens: 5 })
        .catch((e: unknown) => e);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('limits_unavailable');
      let unavailable = 0;
      for (const g of stack.gateways) {
        const text = await (await fetch(`http://127.0.0.1:${g.metricsPort}/metrics`)).text();
        unavailable += metricValue(text, 'llm_gateway_limit_rejections_total', { limit: 'unavailable' });
      }
      expect(unavailable).toBeGreaterThan(0);
      // The outage shows in the Redis health metrics too.
      let errors = 0;
      for (const g of stack.gateways) {
        const text = await (await fetch(`http://127.0.0.1:${g.metricsPort}/metrics`)).text();
        expect(metricValue(text, 'llm_gateway_redis_up', { component: 'limits' })).toBe(0);
        errors += metricValue(text, 'llm_gateway_redis_errors_total', { component: 'limits' });
      }
      expect(errors).toBeGreaterThan(0);
    } finally {
      await redis.restart();
    }
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'back' }], max_tokens: 5 }).then(
        () => true,
        () => false,
      );
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok).toBe(true);
  });

  it('lets calls through when configured to fail open', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-limits-open-'));
    const tenantsPath = path.join(dir, 'tenants.yaml');
    writeFileSync(tenantsPath, 'tenants:\n  open-tenant: { limits: { rpm: 100 } }\n');
    const open = await startLocalStack({
      env: { GATEWAY_KEYS: 'open-tenant:gw-key-open-0001', REDIS_URL: redis.url, TENANTS_PATH: tenantsPath, CACHE_TTL_SECONDS: '0', LIMITS_FAIL_OPEN: 'true' },
      log: pino({ level: 'silent' }),
    });
    try {
      await redis.stop();
      const client = new OpenAI({ apiKey: 'gw-key-open-0001', baseURL: `${open.gatewayUrl}/v1`, maxRetries: 0 });
      const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'open' }], max_tokens: 5 });
      expect(r.choices[0]?.message.content).toBeTruthy();
    } finally {
      await redis.restart();
      await open.close(200);
    }
  });
});
