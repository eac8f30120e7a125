import { describe, expect, it } from 'vitest';
import { Scheduler, type Grant, type SchedulerOptions, type Ticket } from './scheduler.js';

function make(o: Partial<SchedulerOptions> = {}): { s: Scheduler; clock: { t: number } } {
  const clock = { t: 1000 };
  const s = new Scheduler({ maxNumSeqs: 2, maxQueue: 8, kvCacheTokens: 1000, maxLoras: 1, loraLoadMs: 150, now: () => clock.t, ...o });
  return { s, clock };
}

function ticket(t: Ticket | 'busy'): Ticket {
  if (t === 'busy') throw new Error('unexpected busy');
  return t;
}

/** The grant if the ticket was granted by now (grants resolve in a microtask). */
async function peek(t: Ticket): Promise<Grant | 'pending' | undefined> {
  return Promise.race([t.granted, new Promise<'pending'>((r) => setImmediate(() => r('pending')))]);
}

async function granted(t: Ticket): Promise<Grant> {
  const g = await peek(t);
  if (g === undefined || g === 'pending') throw new Error(`expected a grant, got ${String(g)}`);
  return g;
}

describe('Scheduler', () => {
  it('runs maxNumSeqs at once and hands the freed slot to the oldest waiter', async () => {
    const { s } = make();
    const a = ticket(s.submit({ kvTokens: 10 }));
    const b = ticket(s.submit({ kvTokens: 10 }));
    const c = ticket(s.submit({ kvTokens: 10 }));
    const d = ticket(s.submit({ kvTokens: 10 }));
    expect([s.running(), s.waiting()]).toEqual([2, 2]);
    expect(await peek(c)).toBe('pending');
    (await granted(b)).release();
    expect(await peek(c)).not.toBe('pending');
    expect(await peek(d)).toBe('pending');
    (await granted(a)).release();
    await granted(d);
    expect([s.running(), s.waiting()]).toEqual([2, 0]);
  });

  it('refuses beyond maxQueue waiting, and counts only waiting sequences', () => {
    const { s } = make({ maxNumSeqs: 1, maxQueue: 2 });
    ticket(s.submit({ kvTokens: 1 }));
    ticket(s.submit({ kvTokens: 1 }));
    ticket(s.submit({ kvTokens: 1 }));
    expect(s.submit({ kvTokens: 1 })).toBe('busy');
    expect([s.running(), s.waiting()]).toEqual([1, 2]);
  });

  it('makes a sequence wait while the KV cache lacks room, and blocks those behind it', async () => {
    const { s } = make({ maxNumSeqs: 4, kvCacheTokens: 100 });
    const a = ticket(s.submit({ kvTokens: 70 }));
    expect(s.kvUsage()).toBeCloseTo(0.7);
    const big = ticket(s.submit({ kvTokens: 50 }));
    const small = ticket(s.submit({ kvTokens: 10 }));
    // The small one would fit, but vLLM stops at the first request it cannot allocate.
    expect(await peek(big)).toBe('pending');
    expect(await peek(small)).toBe('pending');
    expect(s.running()).toBe(1);
    (await granted(a)).release();
    await granted(big);
    await granted(small);
    expect(s.kvUsage()).toBeCloseTo(0.6);
  });

  it('rejects a sequence larger than the whole cache instead of blocking the queue forever', () => {
    const { s } = make({ kvCacheTokens: 100 });
    expect(() => s.submit({ kvTokens: 101 })).toThrow(/never fit/);
  });

  it('gives a queue place back on abort, which can unblock the sequences behind', async () => {
    const { s } = make({ maxNumSeqs: 4, kvCacheTokens: 100 });
    ticket(s.submit({ kvTokens: 60 }));
    const ac = new AbortController();
    const big = ticket(s.submit({ kvTokens: 60 }, ac.signal));
    const small = ticket(s.submit({ kvTokens: 30 }));
    expect(await peek(small)).toBe('pending');
    ac.abort();
    expect(await peek(big)).toBeUndefined();
    await granted(small);
    expect([s.running(), s.waiting()]).toEqual([2, 0]);
  });

  it('loads an adapter on first use: ready loraLoadMs later, at once when resident', async () => {
    const { s, clock } = make({ maxLoras: 2 });
    const a = await granted(ticket(s.submit({ kvTokens: 1, adapter: 'sql' })));
    expect(a.readyAt).toBe(1150);
    clock.t = 1100;
    // A second user of an adapter still loading waits for the same load.
    const b = await granted(ticket(s.submit({ kvTokens: 1, adapter: 'sql' })));
    expect(b.readyAt).toBe(1150);
    a.release();
    b.release();
    clock.t = 2000;
    const c = await granted(ticket(s.submit({ kvTokens: 1, adapter: 'sql' })));
    expect(c.readyAt).toBe(2000);
    const base = await granted(ticket(s.submit({ kvTokens: 1 })));
    expect(base.readyAt).toBe(2000);
    expect(s.loadedAdapters()).toEqual(['sql']);
  });

  it('evicts the least recently used idle adapter, never one in use', async () => {
    const { s, clock } = make({ maxNumSeqs: 4, maxLoras: 2 });
    (await granted(ticket(s.submit({ kvTokens: 1, adapter: 'a' })))).release();
    const b = await granted(ticket(s.submit({ kvTokens: 1, adapter: 'b' })));
    expect(s.loadedAdapters()).toEqual(['a', 'b']);
    // Two slots, both taken: loading 'c' must evict the idle 'a', not 'b', which a sequence is using.
    clock.t = 5000;
    const c = await granted(ticket(s.submit({ kvTokens: 1, adapter: 'c' })));
    expect(c.readyAt).toBe(5150);
    expect(s.loadedAdapters()).toEqual(['b', 'c']);
    // Both resident adapters are in use: 'd' cannot load and waits, while base-model work goes ahead.
    const d = ticket(s.submit({ kvTokens: 1, adapter: 'd' }));
    const base = ticket(s.submit({ kvTokens: 1 }));
    expect(await peek(d)).toBe('pending');
    await granted(base);
    expect(s.waitingAdapters()).toEqual(['d']);
    expect(s.runningAdapters().sort()).toEqual(['b', 'c']);
    c.release();
    const dg = await granted(d);
    expect(dg.readyAt).toBe(5150);
    expect(s.loadedAdapters().sort()).toEqual(['b', 'd']);
    b.release();
  });

  it('evicts by last use, counting a release as a use', async () => {
    const { s, clock } = make({ maxNumSeqs: 4, maxLoras: 2 });
    const a = await granted(ticket(s.submit({ kvTokens: 1, adapter: 'a' })));
    (await granted(ticket(s.submit({ kvTokens: 1, adapter: 'b' })))).release();
    clock.t = 3000;
    a.release(); // 'a' was loaded first but used last
    (await granted(ticket(s.submit({ kvTokens: 1, adapter: 'c' })))).release();
    expect(s.loadedAdapters()).toEqual(['a', 'c']);
  });

  it('releases only once', async () => {
    const { s } = make({ maxNumSeqs: 1 });
    const a = await granted(ticket(s.submit({ kvTokens: 5 })));
    const b = ticket(s.submit({ kvTokens: 5 }));
    a.release();
    a.release();
    await granted(b);
    expect([s.running(), s.waiting()]).toEqual([1, 0]);
    expect(s.kvUsage()).toBeCloseTo(0.005);
  });
});
