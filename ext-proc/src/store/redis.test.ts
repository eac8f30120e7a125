import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { createRedisStore, describeRedisUrl, type RedisKvStore } from './redis.js';

/** Fast-fail budget per operation while Redis is away (the command timeout is 50 ms). */
const FAST_FAIL_MS = 200;

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function captureLog(): { log: pino.Logger; lines: LogLine[]; warnings(): LogLine[] } {
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines, warnings: () => lines.filter((l) => l.level === 40) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(cond: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!cond()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(20);
  }
  return Date.now() - started;
}

async function timed<T>(op: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await op();
  return { value, ms: performance.now() - started };
}

function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

describe('redis store', () => {
  let redis: RedisServerHandle;
  let store: RedisKvStore | undefined;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  async function open(extra: { onStateChange?: (healthy: boolean) => void } = {}) {
    const captured = captureLog();
    const s = createRedisStore({ url: redis.url, log: captured.log, ...extra });
    store = s;
    await until(() => s.healthy(), 3_000);
    return { store: s, ...captured };
  }

  it('gets, sets and deletes', async () => {
    const { store } = await open();
    expect(store.kind).toBe('redis');
    expect(await store.get('t1:absent')).toBeUndefined();
    expect(await store.set('t1:k', Buffer.from('hello'), 60)).toBe(true);
    expect((await store.get('t1:k'))?.toString()).toBe('hello');
    expect(await store.delete('t1:k')).toBe(true);
    expect(await store.get('t1:k')).toBeUndefined();
    expect(await store.delete('t1:k')).toBe(true); // already gone is still success
    expect(store.errors()).toBe(0);
    const latency = store.latency();
    expect(latency.count).toBe(6);
    expect(latency.meanMs).toBeGreaterThan(0);
    expect(latency.maxMs).toBeGreaterThanOrEqual(latency.meanMs);
  });

  it('is binary-safe', async () => {
    const { store } = await open();
    const everyByte = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const invalidUtf8 = Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x24]);
    const large = randomBytes(256 * 1024);
    for (const [key, value] of [
      ['t2:bytes', everyByte],
      ['t2:utf8', invalidUtf8],
      ['t2:large', large],
      ['t2:empty', Buffer.alloc(0)],
    ] as const) {
      expect(await store.set(key, value, 60)).toBe(true);
      const got = await store.get(key);
      expect(Buffer.isBuffer(got)).toBe(true);
      expect(got?.equals(value)).toBe(true);
    }
  });

  it('expires values after their TTL (SET … PX)', async () => {
    const { store } = await open();
    const probe = new Redis(redis.url);
    try {
      expect(await store.set('t3:short', Buffer.from('x'), 1)).toBe(true);
      expect(await store.set('t3:fraction', Buffer.from('y'), 0.25)).toBe(true);
      const pttl = await probe.pttl('t3:short');
      expect(pttl).toBeGreaterThan(900);
      expect(pttl).toBeLessThanOrEqual(1000);
      expect(await probe.pttl('t3:fraction')).toBeLessThanOrEqual(250);
      expect((await store.get('t3:short'))?.toString()).toBe('x');
      await sleep(1_100);
      expect(await store.get('t3:short')).toBeUndefined();
      expect(await store.get('t3:fraction')).toBeUndefined();
    } finally {
      probe.disconnect();
    }
  });

  it('refuses a non-positive TTL without calling Redis', async () => {
    const { store } = await open();
    expect(await store.set('t4:k', Buffer.from('v'), 0)).toBe(false);
    expect(await store.set('t4:k', Buffer.from('v'), Number.POSITIVE_INFINITY)).toBe(false);
    expect(await store.get('t4:k')).toBeUndefined();
  });

  it('fails fast while Redis is down and reconnects by itself when it is back', async () => {
    const states: boolean[] = [];
    const { store, warnings, lines } = await open({ onStateChange: (h) => states.push(h) });
    expect(await store.set('t5:k', Buffer.from('before'), 60)).toBe(true);
    expect(states).toEqual([true]);

    await redis.stop();

    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const get = await timed(() => store.get('t5:k'));
      expect(get.value).toBeUndefined();
      const set = await timed(() => store.set('t5:k', Buffer.from('during'), 60));
      expect(set.value).toBe(false);
      const del = await timed(() => store.delete('t5:k'));
      expect(del.value).toBe(false);
      times.push(get.ms, set.ms, del.ms);
    }
    for (const ms of times) expect(ms).toBeLessThan(FAST_FAIL_MS);
    expect(store.healthy()).toBe(false);
    expect(store.errors()).toBeGreaterThanOrEqual(60);
    // One warning for the outage, not one per failed request.
    expect(warnings().length).toBe(1);
    expect(states).toEqual([true, false]);
    console.info(
      `[redis outage] ${times.length} ops, max ${Math.max(...times).toFixed(2)} ms, mean ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(3)} ms`,
    );

    const outageStarted = Date.now();
    await redis.restart();
    const waited = await until(() => store.healthy(), 5_000);
    console.info(`[redis outage] reconnected ${waited} ms after the server was back (outage ${Date.now() - outageStarted} ms)`);
    expect(states).toEqual([true, false, true]);
    expect(lines.some((l) => l.msg === 'redis reconnected')).toBe(true);
    // Redis restarted empty (no persistence); the store works again.
    expect(await store.get('t5:k')).toBeUndefined();
    expect(await store.set('t5:k', Buffer.from('after'), 60)).toBe(true);
    expect((await store.get('t5:k'))?.toString()).toBe('after');
    expect(warnings().length).toBe(1);
  });

  it('gives up on a connection that stops answering, then fails fast until the server answers again', async () => {
    const states: boolean[] = [];
    const { store, warnings } = await open({ onStateChange: (h) => states.push(h) });
    expect(await store.set('t6:k', Buffer.from('v'), 60)).toBe(true);

    redis.pause();
    try {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const get = await timed(() => store.get('t6:k'));
        expect(get.value).toBeUndefined();
        times.push(get.ms);
      }
      console.info(`[redis hung] per-op ms: ${times.map((t) => t.toFixed(1)).join(', ')}`);
      // The first three pay the command timeout; after that the connection is abandoned.
      for (const ms of times) expect(ms).toBeLessThan(FAST_FAIL_MS);
      for (const ms of times.slice(3)) expect(ms).toBeLessThan(10);
      expect(store.healthy()).toBe(false);
      expect(states).toEqual([true, false]);
      // One warning for the first timeout while connected, one for abandoning the connection.
      expect(warnings().map((l) => l.msg)).toEqual([expect.stringMatching(/command failed/), expect.stringMatching(/connection lost/)]);
    } finally {
      redis.resume();
    }

    const waited = await until(() => store.healthy(), 5_000);
    console.info(`[redis hung] reconnected ${waited} ms after SIGCONT`);
    expect((await store.get('t6:k'))?.toString()).toBe('v');
    expect(states).toEqual([true, false, true]);
  });

  it('starts without Redis: no throw, unhealthy, fast-failing, one warning', async () => {
    const port = await closedPort();
    const states: boolean[] = [];
    const { log, warnings } = captureLog();
    const s = createRedisStore({ url: `redis://127.0.0.1:${port}`, log, onStateChange: (h) => states.push(h) });
    store = s;
    expect(s.healthy()).toBe(false);
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const get = await timed(() => s.get('k'));
      const set = await timed(() => s.set('k', Buffer.from('v'), 60));
      const del = await timed(() => s.delete('k'));
      expect(get.value).toBeUndefined();
      expect(set.value).toBe(false);
      expect(del.value).toBe(false);
      times.push(get.ms, set.ms, del.ms);
    }
    for (const ms of times) expect(ms).toBeLessThan(FAST_FAIL_MS);
    console.info(`[redis never up] ${times.length} ops, max ${Math.max(...times).toFixed(3)} ms`);
    await sleep(500); // several reconnect attempts
    expect(s.healthy()).toBe(false);
    expect(warnings().length).toBe(1);
    expect(warnings()[0]?.msg).toMatch(/unreachable/);
    expect(states).toEqual([false]);
    const closing = await timed(() => s.close());
    expect(closing.ms).toBeLessThan(FAST_FAIL_MS);
  });

  it('is unusable after close and stops reconnecting', async () => {
    const { store: s, lines } = await open();
    await s.close();
    expect(s.healthy()).toBe(false);
    expect(await s.get('k')).toBeUndefined();
    expect(await s.set('k', Buffer.from('v'), 60)).toBe(false);
    expect(await s.delete('k')).toBe(false);
    await s.close(); // idempotent
    const before = lines.length;
    await sleep(300);
    expect(lines.length).toBe(before);
  });

  it('keeps credentials out of the URL it logs and rejects other schemes', () => {
    expect(describeRedisUrl('redis://user:s3cret@cache.internal:6380/2')).toBe('redis://cache.internal:6380/2');
    expect(describeRedisUrl('rediss://:s3cret@cache.internal')).toBe('rediss://cache.internal:6379');
    expect(() => describeRedisUrl('http://cache.internal')).toThrow(/redis:\/\//);
    expect(() => describeRedisUrl('not a url')).toThrow(/valid URL/);
  });
});
