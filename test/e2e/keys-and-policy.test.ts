/*
 * End to end: keys managed in Redis (`npm run keys`) and tenant policies, through real Envoy,
 * the processor and real Redis, with the official `openai` SDK.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, revokeKey } from '../../ext-proc/src/auth/key-admin.js';
import { loadMasterKey, storeCredential } from '../../ext-proc/src/auth/credentials.js';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';

let redis: RedisServerHandle;
let admin: Redis;
let stack: LocalStack;
const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'policy probe' }];
const MASTER_KEY = 'ab'.repeat(32);

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  admin.on('error', () => undefined); // the suites stop Redis on purpose
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-tenants-'));
  const tenantsPath = path.join(dir, 'tenants.yaml');
  writeFileSync(
    tenantsPath,
    [
      'tenants:',
      '  narrow:',
      '    models: [gpt-4o-mini]',
      '  private:',
      '    cache: { enabled: false }',
      '  brief:',
      '    cache: { enabled: true, ttl_seconds: 30 }',
      '',
    ].join('\n'),
  );
  // A catalog where gpt-4o-mini keeps its answers 120 s in the cache.
  const doc = parseDocument(readFileSync(path.join(repoRoot(), 'models', 'catalog.yaml'), 'utf8'));
  const models = doc.toJS().models as Array<{ id: string }>;
  doc.setIn(['models', models.findIndex((m) => m.id === 'gpt-4o-mini'), 'cache_ttl_seconds'], 120);
  const catalogPath = path.join(dir, 'catalog.yaml');
  writeFileSync(catalogPath, doc.toString());
  stack = await startLocalStack({
    env: {
      GATEWAY_KEYS: 'seeded:gw-seeded-key-0001',
      REDIS_URL: redis.url,
      TENANTS_PATH: tenantsPath,
      GATEWAY_MASTER_KEY: MASTER_KEY,
      CATALOG_PATH: catalogPath,
    },
    log: pino({ level: 'silent' }),
  });
});

afterAll(async () => {
  await stack?.close(500);
  admin?.disconnect();
  await redis?.stop();
});

describe('keys in Redis', () => {
  it('accepts a key created in Redis and refuses it on the next call after revocation', async () => {
    const { key, record } = await createKey(admin, { tenant: 'acme', name: 'ci' });
    const r = await client(key).chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(r.choices[0]?.message.content).toBeTruthy();
    expect(await revokeKey(admin, record.keyId)).toBe(true);
    const err = await client(key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('refuses an expired key', async () => {
    const { key } = await createKey(admin, { tenant: 'acme', expiresAt: new Date(Date.now() + 1500) });
    await client(key).chat.completions.create({ model: 'gpt-4o-mini', messages });
    await new Promise((r) => setTimeout(r, 1700));
    const err = await client(key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("enforces a key's model allow-list with 403", async () => {
    const { key } = await createKey(admin, { tenant: 'acme', models: ['gpt-4o-mini'] });
    await client(key).chat.completions.create({ model: 'gpt-4o-mini', messages });
    const err = await client(key)
      .chat.completions.create({ model: 'gpt-4o', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_not_allowed');
  });

  it('keeps working with seeded keys alongside', async () => {
    const r = await client('gw-seeded-key-0001').chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(r.choices[0]?.message.content).toBeTruthy();
  });
});

describe('tenant policies', () => {
  it("enforces a tenant's model allow-list", async () => {
    const { key } = await createKey(admin, { tenant: 'narrow' });
    const err = await client(key)
      .chat.completions.create({ model: 'gpt-4.1', messages })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(String((err as Error).message)).toContain('tenant narrow');
  });

  it('lets a tenant opt out of the response cache', async () => {
    const { key } = await createKey(admin, { tenant: 'private' });
    const c = client(key);
    const m = [{ role: 'user' as const, content: `private ${Date.now()}` }];
    await c.chat.completions.create({ model: 'gpt-4o-mini', messages: m });
    const before = stack.simulator!.requestCount();
    const again = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: m }).withResponse();
    expect(again.response.headers.get('x-gateway-cache')).toBe('bypass');
    expect(stack.simulator!.requestCount()).toBe(before + 1);
  });
});

describe('cache lifetimes', () => {
  const cacheTtls = async () => {
    const out: number[] = [];
    for (const k of await admin.keys('llmgw:cache:*')) out.push(await admin.ttl(k));
    return out;
  };

  it("keeps answers for the tenant's TTL, else the model's, else the gateway default", async () => {
    await admin.eval("for _, k in ipairs(redis.call('keys', 'llmgw:cache:*')) do redis.call('del', k) end", 0);
    const { key: brief } = await createKey(admin, { tenant: 'brief' });
    await client(brief).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `ttl a ${Date.now()}` }] });
    await new Promise((r) => setTimeout(r, 100));
    expect((await cacheTtls()).every((t) => t > 0 && t <= 30)).toBe(true);

    await admin.eval("for _, k in ipairs(redis.call('keys', 'llmgw:cache:*')) do redis.call('del', k) end", 0);
    await client('gw-seeded-key-0001').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `ttl b ${Date.now()}` }] });
    await new Promise((r) => setTimeout(r, 100));
    const model = await cacheTtls();
    expect(model.length).toBe(1);
    expect(model[0]).toBeGreaterThan(30);
    expect(model[0]).toBeLessThanOrEqual(120);

    await admin.eval("for _, k in ipairs(redis.call('keys', 'llmgw:cache:*')) do redis.call('del', k) end", 0);
    await client('gw-seeded-key-0001').chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: `ttl c ${Date.now()}` }] });
    await new Promise((r) => setTimeout(r, 100));
    const fallback = await cacheTtls();
    expect(fallback.length).toBe(1);
    expect(fallback[0]).toBeGreaterThan(120);
  });
});

describe('bring your own key', () => {
  it("sends a tenant's own provider credential instead of the platform's, and keeps it out of Redis in clear", async () => {
    const own = 'sk-tenant-own-credential-123';
    await storeCredential(admin, 'byok', 'openai', own, loadMasterKey({ GATEWAY_MASTER_KEY: MASTER_KEY })!);
    const { key } = await createKey(admin, { tenant: 'byok' });
    // The simulator only knows the platform key, so it refuses the tenant's: the gateway must
    // have sent the tenant's credential, and must not pass the provider's 401 on as the caller's.
    const err = await client(key)
      .chat.completions.create({ model: 'gpt-4o-mini', messages })
      .catch((e: unknown) => e);
    expect(stack.simulator!.requests.at(-1)!.headers.authorization).toBe(`Bearer ${own}`);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(String((err as Error).message)).not.toContain(own);
    for (const k of await admin.keys('*')) {
      const type = await admin.type(k);
      const v = type === 'string' ? await admin.get(k) : JSON.stringify(await admin.hgetall(k).catch(() => ({})));
      expect(`${k} ${v}`).not.toContain(own);
    }
    // Other tenants still use the platform credential.
    const r = await client('gw-seeded-key-0001').chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: `platform ${Date.now()}` }],
    });
    expect(r.choices[0]?.message.content).toBeTruthy();
  });
});

describe('Redis down', () => {
  it('answers 503 in the OpenAI format for Redis-managed keys, and recovers', async () => {
    const { key } = await createKey(admin, { tenant: 'acme' });
    await redis.stop();
    try {
      const r = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages }),
      });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('auth_unavailable');
      // Seeded keys need no Redis.
      const seeded = await client('gw-seeded-key-0001').chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: `down ${Date.now()}` }],
      });
      expect(seeded.choices[0]?.message.content).toBeTruthy();
    } finally {
      await redis.restart();
    }
    // The test Redis keeps nothing across a restart: make a new key once it is back.
    let fresh: string | undefined;
    for (let i = 0; i < 50 && !fresh; i++) {
      await new Promise((r) => setTimeout(r, 100));
      fresh = await createKey(admin, { tenant: 'acme' }).then(
        (k) => k.key,
        () => undefined,
      );
    }
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await client(fresh!)
        .chat.completions.create({ model: 'gpt-4o-mini', messages })
        .then(
          () => true,
          () => false,
        );
      if (!ok) await new Promise((r) => setTimeout(r, 100));
    }
    expect(ok).toBe(true);
  });
});
