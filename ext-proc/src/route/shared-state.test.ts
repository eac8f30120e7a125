/**
 * Two processes' routing state through one real Redis: a rollback or a cooldown decided by one
 * replica is followed by the other within a refresh, and Redis going away changes nothing locally.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { Cooldowns } from '../fallback/cooldown.js';
import { SharedRouteState } from './shared-state.js';

const silent = pino({ level: 'silent' });
const known = { canaries: new Map([['mini-next', 'abc123']]), backends: ['gpt-4o-mini', 'deepseek-chat'] };

describe('SharedRouteState', () => {
  let redis: RedisServerHandle;
  const opened: SharedRouteState[] = [];
  const open = async (prefix: string, k = known) => {
    const s = new SharedRouteState(redis.url, silent, k, prefix);
    opened.push(s);
    for (let i = 0; i < 200 && !s.healthy(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.healthy()).toBe(true);
    return s;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    for (const s of opened) await s.close();
    await redis?.stop();
  });

  it("adopts another replica's canary rollback at the next refresh", async () => {
    const a = await open('t1');
    const b = await open('t1');
    a.markRolledBack('mini-next', { canary: 'mini-next', rolledBack: true, samples: 20 });
    expect(a.isRolledBack('mini-next')).toBe(true);
    expect(b.isRolledBack('mini-next')).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    await b.refresh();
    expect(b.isRolledBack('mini-next')).toBe(true);
    // A changed canary configuration (another hash) is not rolled back by the old mark.
    const changed = await open('t1', { ...known, canaries: new Map([['mini-next', 'def456']]) });
    await changed.refresh();
    expect(changed.isRolledBack('mini-next')).toBe(false);
    a.clear('mini-next');
  });

  it("follows another replica's cooldowns, and forgets them when they end", async () => {
    const a = new Cooldowns({ defaultSeconds: 5, maxSeconds: 300 }, await open('t2'));
    const bState = await open('t2');
    const b = new Cooldowns({ defaultSeconds: 5, maxSeconds: 300 }, bState);
    a.refuse('deepseek-chat', '1');
    expect(b.cooling('deepseek-chat')).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    await bState.refresh();
    expect(b.cooling('deepseek-chat')).toBe(true);
    expect(b.cooling('gpt-4o-mini')).toBe(false);
    expect(b.cooling('deepseek-chat', Date.now() + 1100)).toBe(false);
  });
});
