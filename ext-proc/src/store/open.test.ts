import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { openStore } from './open.js';

function captureLog(): { log: pino.Logger; messages: string[]; text(): string } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return {
    log: pino(sink),
    messages: lines,
    text: () => lines.join('\n'),
  };
}

describe('openStore', () => {
  let redis: RedisServerHandle;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('uses the in-process store without a Redis URL and says it is per process', async () => {
    for (const redisUrl of [undefined, '', '  ']) {
      const { log, text } = captureLog();
      const store = openStore({ redisUrl, memoryMaxBytes: 1024, log });
      try {
        expect(store.kind).toBe('memory');
        expect(text()).toContain('cache and limits are per process');
        expect(await store.set('k', Buffer.from('v'), 60)).toBe(true);
        expect((await store.get('k'))?.toString()).toBe('v');
      } finally {
        await store.close();
      }
    }
  });

  it('uses Redis when a URL is given', async () => {
    const { log, text } = captureLog();
    const store = openStore({ redisUrl: redis.url, memoryMaxBytes: 1024, log });
    try {
      expect(store.kind).toBe('redis');
      expect(text()).toContain('store: redis');
      expect(text()).not.toContain('per process');
      const started = Date.now();
      while (!store.healthy() && Date.now() - started < 3_000) await new Promise((r) => setTimeout(r, 20));
      expect(store.healthy()).toBe(true);
      expect(await store.set('open:k', Buffer.from('v'), 60)).toBe(true);
      expect((await store.get('open:k'))?.toString()).toBe('v');
    } finally {
      await store.close();
    }
  });

  it('does not log the credentials in REDIS_URL', async () => {
    const { log, text } = captureLog();
    const store = openStore({ redisUrl: 'redis://default:not-a-real-password@127.0.0.1:1', memoryMaxBytes: 1024, log });
    await store.close();
    expect(text()).toContain('redis://127.0.0.1:1');
    expect(text()).not.toContain('not-a-real-password');
  });

  it('rejects a REDIS_URL that is not redis:// at start', () => {
    expect(() => openStore({ redisUrl: 'http://127.0.0.1:6379', memoryMaxBytes: 1024, log: captureLog().log })).toThrow(/redis:\/\//);
  });
});
