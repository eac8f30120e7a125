/**
 * What only the Redis limiter has: counters shared by replicas (3 clients racing), its keys and
 * TTLs, the script cache going away, and Redis going away.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { createRedisLimiter, type RedisLimiter } from './redis.js';
import { LimiterUnavailable, type Admission, type Estimate, type LimitSubject } from './types.js';

const FAST_FAIL_MS = 200;
const silent = pino({ level: 'silent' });

async function until(cond: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

function admitted(a: Admission): Extract<Admission, { ok: true }> {
  if (!a.ok) throw new Error(`expected admission, got denial: ${a.message}`);
  return a;
}

const uid = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

describe('redis limiter', () => {
  let redis: RedisServerHandle;
  let probe: Redis;
  const opened: RedisLimiter[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
    probe.on('error', () => {}); // it reconnects by itself after the outage test
  });
  afterAll(async () => {
    probe?.disconnect();
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((l) => l.close()));
  });

  async function open(extra: { keyPrefix?: string; commandTimeoutMs?: number } = {}): Promise<RedisLimiter> {
    const limiter = createRedisLimiter({ url: redis.url, log: silent, ...extra });
    opened.push(limiter);
    await until(() => limiter.healthy(), 3_000);
    return limiter;
  }

  it('keeps counters under prefixed keys made of scope and id, with TTLs per window kind', async () => {
    const limiter = await open();
    const now = Date.UTC(2025, 6, 4, 9, 30, 15);
    const minute = Math.floor(now / 60_000);
    const a = admitted(
      await limiter.admit(
        [
          { scope: 'tenant', id: 'acme corp', policy: { rpm: 10, tpm: 1_000, usdPerDay: 5, usdPerMonth: 50 } },
          { scope: 'key', id: 'key-7', policy: { rpm: 5 } },
        ],
        { tokens: 120, usd: 0.0123 },
        now,
      ),
    );
    const keys = (await probe.keys('llmgw:rl:*')).sort();
    expect(keys).toEqual([
      `llmgw:rl:key:key-7:m:${minute}`,
      'llmgw:rl:tenant:acme%20corp:d:20250704',
      `llmgw:rl:tenant:acme%20corp:m:${minute}`,
      'llmgw:rl:tenant:acme%20corp:mo:202507',
    ]);
    expect(await probe.hgetall(`llmgw:rl:tenant:acme%20corp:m:${minute}`)).toEqual({ r: '1', t: '120' });
    expect(await probe.hgetall(`llmgw:rl:key:key-7:m:${minute}`)).toEqual({ r: '1' });
    expect(await probe.get('llmgw:rl:tenant:acme%20corp:d:20250704')).toBe('12300');
    expect(await probe.get('llmgw:rl:tenant:acme%20corp:mo:202507')).toBe('12300');
    const ttl = async (k: string) => probe.pttl(k);
    expect(await ttl(`llmgw:rl:tenant:acme%20corp:m:${minute}`)).toBeGreaterThan(110_000);
    expect(await ttl(`llmgw:rl:tenant:acme%20corp:m:${minute}`)).toBeLessThanOrEqual(120_000);
    expect(await ttl('llmgw:rl:tenant:acme%20corp:d:20250704')).toBeGreaterThan(2 * 86_400_000 - 10_000);
    expect(await ttl('llmgw:rl:tenant:acme%20corp:d:20250704')).toBeLessThanOrEqual(2 * 86_400_000);
    expect(await ttl('llmgw:rl:tenant:acme%20corp:mo:202507')).toBeGreaterThan(32 * 86_400_000 - 10_000);
    expect(await ttl('llmgw:rl:tenant:acme%20corp:mo:202507')).toBeLessThanOrEqual(32 * 86_400_000);
    expect(a.reservation.charges.map((c) => c.key)).toEqual([
      `llmgw:rl:tenant:acme%20corp:m:${minute}`,
      'llmgw:rl:tenant:acme%20corp:d:20250704',
      'llmgw:rl:tenant:acme%20corp:mo:202507',
    ]);

    const custom = await open({ keyPrefix: 'other:' });
    admitted(await custom.admit([{ scope: 'tenant', id: 'acme corp', policy: { rpm: 1 } }], { tokens: 0, usd: 0 }, now));
    expect(await probe.keys('other:*')).toEqual([`other:tenant:acme%20corp:m:${minute}`]);
  });

  it('reconcile leaves an expired counter gone and never goes below zero', async () => {
    const limiter = await open();
    const id = uid('rec');
    const now = Date.UTC(2025, 6, 4, 9, 31, 0);
    const minuteKey = `llmgw:rl:tenant:${id}:m:${Math.floor(now / 60_000)}`;
    const dayKey = `llmgw:rl:tenant:${id}:d:20250704`;
    const a = admitted(await limiter.admit([{ scope: 'tenant', id, policy: { tpm: 10_000, usdPerDay: 1 } }], { tokens: 700, usd: 0.5 }, now));
    await probe.del(dayKey); // as if it had expired
    await probe.hset(minuteKey, 't', '100'); // as if something had lowered it meanwhile
    await limiter.reconcile(a.reservation, { tokens: 50, usd: 0.1 });
    expect(await probe.exists(dayKey)).toBe(0);
    expect(await probe.hget(minuteKey, 't')).toBe('0');
    expect(await probe.pttl(minuteKey)).toBeGreaterThan(0);
  });

  it('100 concurrent admissions from 3 replicas never exceed a limit by more than one reservation; reconcile sums to the actuals', async () => {
    const replicas = await Promise.all([open(), open(), open()]);
    const now = Date.UTC(2025, 6, 4, 10, 0, 30);
    const minute = Math.floor(now / 60_000);

    // Tokens per minute.
    const acme = uid('acme');
    const keyIds = [uid('k0'), uid('k1'), uid('k2')];
    const subjectsFor = (i: number): LimitSubject[] => [
      { scope: 'tenant', id: acme, policy: { tpm: 10_000, usdPerDay: 100, usdPerMonth: 1_000 } },
      { scope: 'key', id: keyIds[i % 3]!, policy: { rpm: 1_000 } },
    ];
    const estimate: Estimate = { tokens: 700, usd: 0.02 };
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => replicas[i % 3]!.admit(subjectsFor(i), estimate, now)));
    const ok = results.filter((r): r is Extract<Admission, { ok: true }> => r.ok);
    const tokensAdmitted = ok.length * estimate.tokens;
    console.info(`[concurrency] tpm 10000, 700 per request: ${ok.length} of 100 admitted (${tokensAdmitted} tokens)`);
    expect(tokensAdmitted).toBeLessThanOrEqual(10_000);
    expect(tokensAdmitted).toBeGreaterThanOrEqual(10_000 - 700);
    for (const r of results) if (!r.ok) expect(r).toMatchObject({ limit: 'tpm', scope: 'tenant', id: acme });
    // Denied admissions charged nothing: the keys' request counts add up to the admissions.
    let requests = 0;
    for (const k of keyIds) requests += Number((await probe.hget(`llmgw:rl:key:${k}:m:${minute}`, 'r')) ?? 0);
    expect(requests).toBe(ok.length);

    const actuals = ok.map((_, i) => ({ tokens: 37 + i * 41, usd: 0.0001 * (i + 1) + 0.000_003 }));
    await Promise.all(ok.map((a, i) => replicas[i % 3]!.reconcile(a.reservation, actuals[i]!)));
    const sumTokens = actuals.reduce((s, a) => s + a.tokens, 0);
    const sumMicros = actuals.reduce((s, a) => s + Math.round(a.usd * 1e6), 0);
    expect(Number(await probe.hget(`llmgw:rl:tenant:${acme}:m:${minute}`, 't'))).toBe(sumTokens);
    expect(Number(await probe.get(`llmgw:rl:tenant:${acme}:d:20250704`))).toBe(sumMicros);
    expect(Number(await probe.get(`llmgw:rl:tenant:${acme}:mo:202507`))).toBe(sumMicros);

    // A USD budget, the same way.
    const budget = uid('budget');
    const spend: Estimate = { tokens: 10, usd: 0.07 };
    const bResults = await Promise.all(
      Array.from({ length: 100 }, (_, i) => replicas[i % 3]!.admit([{ scope: 'tenant', id: budget, policy: { usdPerDay: 1 } }], spend, now)),
    );
    const bOk = bResults.filter((r): r is Extract<Admission, { ok: true }> => r.ok);
    const microsAdmitted = bOk.length * 70_000;
    console.info(`[concurrency] $1/day, $0.07 per request: ${bOk.length} of 100 admitted ($${microsAdmitted / 1e6})`);
    expect(microsAdmitted).toBeLessThanOrEqual(1_000_000);
    expect(microsAdmitted).toBeGreaterThanOrEqual(1_000_000 - 70_000);
    for (const r of bResults) if (!r.ok) expect(r).toMatchObject({ limit: 'usd_per_day', id: budget });
    const bActuals = bOk.map((_, i) => ({ tokens: 5, usd: 0.01 + i * 0.00123 }));
    await Promise.all(bOk.map((a, i) => replicas[(i + 1) % 3]!.reconcile(a.reservation, bActuals[i]!)));
    expect(Number(await probe.get(`llmgw:rl:tenant:${budget}:d:20250704`))).toBe(bActuals.reduce((s, a) => s + Math.round(a.usd * 1e6), 0));
  });

  it('reloads its scripts when the server has lost them (EVALSHA, EVAL on NOSCRIPT)', async () => {
    const limiter = await open();
    const subjects: LimitSubject[] = [{ scope: 'tenant', id: uid('noscript'), policy: { rpm: 100, tpm: 100_000 } }];
    const first = admitted(await limiter.admit(subjects, { tokens: 10, usd: 0 }));
    await probe.script('FLUSH');
    await probe.config('RESETSTAT');
    for (let i = 0; i < 5; i++) admitted(await limiter.admit(subjects, { tokens: 10, usd: 0 }));
    await limiter.reconcile(first.reservation, { tokens: 1, usd: 0 });
    const stats = (await probe.info('commandstats'))
      .split('\r\n')
      .filter((l) => /^cmdstat_eval(sha)?:/.test(l))
      .join('; ');
    console.info(`[noscript] ${stats}`);
    // One EVAL per script after the flush, EVALSHA for everything else.
    expect(stats).toMatch(/cmdstat_eval:calls=2,/);
    expect(stats).toMatch(/cmdstat_evalsha:calls=\d+/);
  });

  it('admit latency against local Redis', async () => {
    const limiter = await open();
    const subjects: LimitSubject[] = [
      { scope: 'tenant', id: uid('lat'), policy: { rpm: 1e9, tpm: 1e12, usdPerDay: 1e9, usdPerMonth: 1e9 } },
      { scope: 'key', id: uid('latk'), policy: { rpm: 1e9, tpm: 1e12 } },
    ];
    for (let i = 0; i < 200; i++) admitted(await limiter.admit(subjects, { tokens: 700, usd: 0.01 })); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      const started = performance.now();
      admitted(await limiter.admit(subjects, { tokens: 700, usd: 0.01 }));
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const started = performance.now();
    await Promise.all(Array.from({ length: 500 }, () => limiter.admit(subjects, { tokens: 700, usd: 0.01 })));
    const concurrentMs = performance.now() - started;
    console.info(
      `[latency] sequential admit (2 subjects, 6 limits): p50 ${percentile(times, 50).toFixed(3)} ms, p99 ${percentile(times, 99).toFixed(3)} ms, max ${times[times.length - 1]!.toFixed(3)} ms; ` +
        `500 concurrent on one client: ${concurrentMs.toFixed(0)} ms (${Math.round(500 / (concurrentMs / 1000))}/s)`,
    );
    expect(percentile(times, 50)).toBeLessThan(5);
  });

  it('fails fast with LimiterUnavailable while Redis is down, and works again once it is back', async () => {
    const limiter = await open();
    const subjects: LimitSubject[] = [{ scope: 'tenant', id: uid('down'), policy: { rpm: 100, tpm: 100_000 } }];
    const before = admitted(await limiter.admit(subjects, { tokens: 10, usd: 0 }));

    await redis.stop();
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const err = await limiter.admit(subjects, { tokens: 10, usd: 0 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      times.push(performance.now() - started);
      expect(err).toBeInstanceOf(LimiterUnavailable);
    }
    console.info(`[redis down] admit failed in max ${Math.max(...times).toFixed(3)} ms`);
    for (const ms of times) expect(ms).toBeLessThan(FAST_FAIL_MS);
    expect(limiter.healthy()).toBe(false);
    expect(limiter.errors()).toBeGreaterThanOrEqual(20);
    await expect(limiter.reconcile(before.reservation, { tokens: 1, usd: 0 })).rejects.toBeInstanceOf(LimiterUnavailable);

    await redis.restart();
    const waited = await until(() => limiter.healthy(), 5_000);
    console.info(`[redis down] reconnected ${waited} ms after restart`);
    // The restarted server has neither counters nor the cached script.
    const after = admitted(await limiter.admit(subjects, { tokens: 10, usd: 0 }));
    expect(after.remaining).toEqual({ rpm: 99, tpm: 99_990 });
    // The reconcile that failed was not consumed: it can be retried.
    await limiter.reconcile(before.reservation, { tokens: 1, usd: 0 });
  });

  it('gives up on a hung server within the command timeout, and recovers when it answers again', async () => {
    const limiter = await open();
    const subjects: LimitSubject[] = [{ scope: 'tenant', id: uid('hung'), policy: { rpm: 100 } }];
    admitted(await limiter.admit(subjects, { tokens: 0, usd: 0 }));
    redis.pause();
    try {
      const times: number[] = [];
      for (let i = 0; i < 6; i++) {
        const started = performance.now();
        await expect(limiter.admit(subjects, { tokens: 0, usd: 0 })).rejects.toBeInstanceOf(LimiterUnavailable);
        times.push(performance.now() - started);
      }
      console.info(`[redis hung] per-admit ms: ${times.map((t) => t.toFixed(1)).join(', ')}`);
      for (const ms of times) expect(ms).toBeLessThan(FAST_FAIL_MS);
      for (const ms of times.slice(3)) expect(ms).toBeLessThan(10); // connection abandoned after 3 timeouts
      expect(limiter.healthy()).toBe(false);
    } finally {
      redis.resume();
    }
    await until(() => limiter.healthy(), 5_000);
    admitted(await limiter.admit(subjects, { tokens: 0, usd: 0 }));
  });

  it('keeps a busy connection: a burst that times out is not taken for a hung server', async () => {
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push((JSON.parse(line) as { msg: string }).msg) });
    const limiter = createRedisLimiter({ url: redis.url, log, commandTimeoutMs: 5 });
    opened.push(limiter);
    await until(() => limiter.healthy(), 3_000);
    const subjects: LimitSubject[] = [{ scope: 'tenant', id: uid('burst'), policy: { rpm: 1e9, tpm: 1e12 } }];
    // Issuing 3,000 admissions takes far longer than 5 ms of synchronous work: most time out.
    const results = await Promise.allSettled(Array.from({ length: 3_000 }, () => limiter.admit(subjects, { tokens: 1, usd: 0 })));
    const rejected = results.filter((r) => r.status === 'rejected');
    console.info(`[burst] 3000 concurrent admits with a 5 ms timeout: ${rejected.length} timed out`);
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LimiterUnavailable);
    await until(() => limiter.healthy(), 100);
    expect(warnings.filter((m) => /connection lost/.test(m))).toEqual([]);
    admitted(await limiter.admit(subjects, { tokens: 1, usd: 0 }));
  });

  it('starts without Redis: unhealthy, admit fails fast; close is quick and final', async () => {
    const limiter = createRedisLimiter({ url: 'redis://127.0.0.1:1', log: silent });
    try {
      expect(limiter.healthy()).toBe(false);
      const started = performance.now();
      await expect(limiter.admit([{ scope: 'tenant', id: 't', policy: { rpm: 1 } }], { tokens: 0, usd: 0 })).rejects.toBeInstanceOf(LimiterUnavailable);
      expect(performance.now() - started).toBeLessThan(FAST_FAIL_MS);
      // Nothing to limit needs no Redis.
      expect((await limiter.admit([{ scope: 'tenant', id: 't', policy: {} }], { tokens: 0, usd: 0 })).ok).toBe(true);
    } finally {
      await limiter.close();
    }
    expect(limiter.healthy()).toBe(false);
  });
});
