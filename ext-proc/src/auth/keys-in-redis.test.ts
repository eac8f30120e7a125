import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { Authenticator } from './authenticate.js';
import { parseGatewayKeys } from './keys.js';
import { createKey, KeyInputError, listKeys, revokeKey } from './key-admin.js';
import { createRedisKeyDirectory, type KeyDirectory, type RedisKeyDirectory } from './key-directory.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function captureLog() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

async function until(cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** Every key and every value (all types) in the Redis database, as one string per item. */
async function dumpRedis(redis: Redis): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      out.push(k);
      const type = await redis.type(k);
      if (type === 'string') out.push((await redis.get(k)) ?? '');
      else if (type === 'hash') out.push(...Object.entries(await redis.hgetall(k)).flat());
      else if (type === 'set') out.push(...(await redis.smembers(k)));
      else if (type === 'list') out.push(...(await redis.lrange(k, 0, -1)));
      else if (type === 'zset') out.push(...(await redis.zrange(k, 0, -1)));
      else out.push(`<unchecked type ${type}>`);
    }
  } while (cursor !== '0');
  return out;
}

describe("gateway keys in Redis: the request path's directory and the CLI's administration", () => {
  let server: RedisServerHandle;
  let admin: Redis;
  const open: RedisKeyDirectory[] = [];
  const logs = captureLog();

  async function directory(): Promise<RedisKeyDirectory> {
    const dir = createRedisKeyDirectory({ url: server.url, log: logs.log });
    open.push(dir);
    await until(() => dir.healthy());
    return dir;
  }

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
  });
  beforeEach(async () => {
    await admin.flushdb();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('create → lookup gives the principal with the key policy', async () => {
    const { key, record } = await createKey(admin, {
      tenant: 'acme',
      name: 'ci bot',
      models: ['gpt-4o-mini', 'llama-3.3-70b-versatile', 'gpt-4o-mini'],
      limits: { rpm: 60, usdPerDay: 5 },
    });
    expect(key).toMatch(/^gw-[A-Za-z0-9_-]{43}$/);
    const digest = createHash('sha256').update(key).digest('hex');
    expect(record).toEqual({
      tenant: 'acme',
      keyId: digest.slice(0, 12),
      name: 'ci bot',
      createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      revoked: false,
      models: ['gpt-4o-mini', 'llama-3.3-70b-versatile'],
      limits: { rpm: 60, usdPerDay: 5 },
    });
    expect(await admin.exists(`llmgw:key:${digest}`)).toBe(1);
    expect(await admin.smembers('llmgw:tenant-keys:acme')).toEqual([record.keyId]);

    const dir = await directory();
    const p = await dir.lookup(key);
    expect(p).not.toBe('unavailable');
    if (!p || p === 'unavailable') throw new Error('expected a principal');
    expect(p.tenant).toBe('acme');
    expect(p.keyId).toBe(record.keyId);
    expect([...(p.models ?? [])]).toEqual(['gpt-4o-mini', 'llama-3.3-70b-versatile']);
    expect(p.limits).toEqual({ rpm: 60, usdPerDay: 5 });
  });

  it('a key without policy gives a bare principal', async () => {
    const { key, record } = await createKey(admin, { tenant: 'beta' });
    const dir = await directory();
    expect(await dir.lookup(key)).toEqual({ tenant: 'beta', keyId: record.keyId });
  });

  it('unknown keys are undefined (well-formed ones after a read; others without one)', async () => {
    const dir = await directory();
    const before = dir.latency().count;
    expect(await dir.lookup(`gw-${'A'.repeat(43)}`)).toBeUndefined();
    expect(dir.latency().count).toBe(before + 1);
    expect(await dir.lookup('not-a-gateway-key')).toBeUndefined();
    expect(await dir.lookup('')).toBeUndefined();
    expect(dir.latency().count).toBe(before + 1);
  });

  it('revoke → the next lookup on another replica is undefined', async () => {
    const { key, record } = await createKey(admin, { tenant: 'acme' });
    const replicaA = await directory();
    const replicaB = await directory();
    expect(await replicaA.lookup(key)).toMatchObject({ tenant: 'acme' });
    expect(await replicaB.lookup(key)).toMatchObject({ tenant: 'acme' });

    expect(await revokeKey(admin, record.keyId)).toBe(true);
    expect(await replicaB.lookup(key)).toBeUndefined();
    expect(await replicaA.lookup(key)).toBeUndefined();

    const [listed] = await listKeys(admin, 'acme');
    expect(listed?.revoked).toBe(true);
    expect(listed?.revokedAt).toMatch(/^\d{4}-/);
    // Idempotent; unknown ids are false.
    expect(await revokeKey(admin, record.keyId)).toBe(true);
    expect(await revokeKey(admin, '000000000000')).toBe(false);
  });

  it('revokes by clear key or full digest too', async () => {
    const a = await createKey(admin, { tenant: 'acme' });
    const b = await createKey(admin, { tenant: 'acme' });
    const dir = await directory();
    expect(await revokeKey(admin, a.key)).toBe(true);
    expect(await revokeKey(admin, createHash('sha256').update(b.key).digest('hex'))).toBe(true);
    expect(await dir.lookup(a.key)).toBeUndefined();
    expect(await dir.lookup(b.key)).toBeUndefined();
    expect(await revokeKey(admin, 'gw-never-issued')).toBe(false);
  });

  it('expiry: valid before expiresAt, undefined from then on', async () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    const { key, record } = await createKey(admin, { tenant: 'acme', expiresAt: '2030-01-02', nowMs: now });
    expect(record.expiresAt).toBe('2030-01-02T00:00:00.000Z');
    const dir = await directory();
    expect(await dir.lookup(key, Date.parse('2030-01-01T23:59:59.999Z'))).toMatchObject({ tenant: 'acme' });
    expect(await dir.lookup(key, Date.parse('2030-01-02T00:00:00Z'))).toBeUndefined();
    // Without nowMs, lookups use the wall clock.
    const live = await createKey(admin, { tenant: 'acme', expiresAt: new Date(Date.now() + 60_000) });
    expect(await dir.lookup(live.key)).toMatchObject({ tenant: 'acme' });
  });

  it('refuses invalid create input', async () => {
    await expect(createKey(admin, { tenant: 'bad tenant' })).rejects.toThrow(KeyInputError);
    await expect(createKey(admin, { tenant: 'acme', expiresAt: '2020-01-01' })).rejects.toThrow(/not in the future/);
    await expect(createKey(admin, { tenant: 'acme', expiresAt: '01/02/2030' })).rejects.toThrow(/must be a date/);
    await expect(createKey(admin, { tenant: 'acme', expiresAt: '2030-02-30' })).rejects.toThrow(/not a valid date/);
    await expect(createKey(admin, { tenant: 'acme', models: [] })).rejects.toThrow(/empty allow-list/);
    await expect(createKey(admin, { tenant: 'acme', models: ['has space'] })).rejects.toThrow(/not a valid model name/);
    await expect(createKey(admin, { tenant: 'acme', limits: { rpm: 0 } })).rejects.toThrow(/rpm must be a positive number/);
    await expect(createKey(admin, { tenant: 'acme', limits: { tpm: 1.5 } })).rejects.toThrow(/whole number/);
    await expect(createKey(admin, { tenant: 'acme', limits: { usdPerDay: 10, usdPerMonth: 5 } })).rejects.toThrow(/exceeds/);
    expect(await dumpRedis(admin)).toEqual([]);
  });

  it('list never contains a clear key, and Redis holds none anywhere', async () => {
    const made = [
      await createKey(admin, { tenant: 'acme', name: 'one' }),
      await createKey(admin, { tenant: 'acme', name: 'two', models: ['gpt-4o-mini'] }),
      await createKey(admin, { tenant: 'globex', limits: { rpm: 5 } }),
    ];
    await revokeKey(admin, made[1]!.record.keyId);

    const all = await listKeys(admin);
    expect(all.map((r) => r.keyId).sort()).toEqual(made.map((m) => m.record.keyId).sort());
    expect((await listKeys(admin, 'acme')).map((r) => r.name).sort()).toEqual(['one', 'two']);
    expect(await listKeys(admin, 'nobody')).toEqual([]);

    const listed = JSON.stringify(all);
    const everything = (await dumpRedis(admin)).join('\n');
    expect(everything.length).toBeGreaterThan(0);
    for (const { key } of made) {
      const secretPart = key.slice(3); // even without the gw- prefix
      expect(listed).not.toContain(secretPart);
      expect(everything).not.toContain(secretPart);
      expect(everything).not.toContain(Buffer.from(key).toString('base64'));
      expect(everything).not.toContain(Buffer.from(key).toString('hex'));
    }
    // Nor in anything logged.
    for (const { key } of made) expect(logs.lines.join('\n')).not.toContain(key.slice(3));
  });

  it('a malformed record is refused and logged without the key', async () => {
    const { key, record } = await createKey(admin, { tenant: 'acme' });
    const digest = createHash('sha256').update(key).digest('hex');
    await admin.hset(`llmgw:key:${digest}`, 'revoked', 'maybe');
    const dir = await directory();
    expect(await dir.lookup(key)).toBeUndefined();
    const line = logs.lines.find((l) => l.includes('malformed key record'));
    expect(line).toContain(record.keyId);
    expect(line).not.toContain(key.slice(3));
    await expect(listKeys(admin, 'acme')).rejects.toThrow(/malformed/);
  });

  it('Redis down → lookup answers unavailable within 200 ms, and recovers', async () => {
    const { key } = await createKey(admin, { tenant: 'acme' });
    const dir = await directory();
    expect(await dir.lookup(key)).toMatchObject({ tenant: 'acme' });

    await server.stop();
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      expect(await dir.lookup(key)).toBe('unavailable');
      expect(performance.now() - started).toBeLessThan(200);
    }
    // Unknown-shaped keys still get a definite answer without Redis.
    expect(await dir.lookup('garbage-key')).toBeUndefined();
    expect(dir.errors()).toBeGreaterThanOrEqual(3);

    await server.restart();
    admin.disconnect();
    admin = new Redis(server.url);
    await until(() => dir.healthy(), 5_000);
    // The server came back empty (no persistence): the key is now unknown, not unavailable.
    expect(await dir.lookup(key)).toBeUndefined();
  });

  it('Redis hung → lookup answers unavailable within the command timeout', async () => {
    const { key } = await createKey(admin, { tenant: 'acme' });
    const dir = await directory();
    server.pause();
    try {
      const started = performance.now();
      expect(await dir.lookup(key)).toBe('unavailable');
      expect(performance.now() - started).toBeLessThan(200);
    } finally {
      server.resume();
    }
    await until(() => dir.healthy(), 5_000);
    expect(await dir.lookup(key)).toMatchObject({ tenant: 'acme' });
  });

  it('never started → unavailable at once', async () => {
    const dir = createRedisKeyDirectory({ url: 'redis://127.0.0.1:1', log: logs.log });
    open.push(dir);
    const started = performance.now();
    expect(await dir.lookup(`gw-${'B'.repeat(43)}`)).toBe('unavailable');
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('authenticator: env keys win, then Redis; unavailable only when nobody knows the key', async () => {
    const envKeys = parseGatewayKeys('envtenant:env-key-123456');
    const { key } = await createKey(admin, { tenant: 'acme' });
    const dir = await directory();
    const auth = new Authenticator(envKeys, dir);
    expect(await auth.authenticate('env-key-123456')).toMatchObject({ tenant: 'envtenant' });
    expect(await auth.authenticate(key)).toMatchObject({ tenant: 'acme' });
    expect(await auth.authenticate(`gw-${'C'.repeat(43)}`)).toBeUndefined();

    // Same key in both: the seeded keys win.
    const shadow: KeyDirectory = { lookup: async () => ({ tenant: 'shadow', keyId: 'x' }) };
    expect(await new Authenticator(envKeys, shadow).authenticate('env-key-123456')).toMatchObject({ tenant: 'envtenant' });

    const down: KeyDirectory = { lookup: async () => 'unavailable' };
    expect(await new Authenticator(envKeys, down).authenticate('env-key-123456')).toMatchObject({ tenant: 'envtenant' });
    expect(await new Authenticator(envKeys, down).authenticate('other')).toBe('unavailable');
  });

  it('lookup latency: one round trip per request (measured)', async () => {
    const { key } = await createKey(admin, { tenant: 'acme', models: ['gpt-4o-mini'], limits: { rpm: 10 } });
    const dir = await directory();
    for (let i = 0; i < 200; i++) await dir.lookup(key); // warm up
    const samples: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const started = performance.now();
      await dir.lookup(key);
      samples.push(performance.now() - started);
    }
    samples.sort((a, b) => a - b);
    const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!;
    const stats = { p50: pct(0.5), p99: pct(0.99), max: samples.at(-1)!, redisMean: dir.latency().meanMs };
    console.log(`key lookup latency (loopback redis, ms): p50 ${stats.p50.toFixed(3)} p99 ${stats.p99.toFixed(3)} max ${stats.max.toFixed(3)}`);
    expect(stats.p50).toBeLessThan(5);
  });
});
