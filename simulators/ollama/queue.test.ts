import { describe, expect, it } from 'vitest';
import { SlotQueue, type Release } from './queue.js';

const isRelease = (r: unknown): r is Release => typeof r === 'function';

describe('SlotQueue', () => {
  it('runs up to `parallel` at once, then queues in arrival order', async () => {
    const q = new SlotQueue(2, 10);
    const a = await q.acquire();
    const b = await q.acquire();
    expect(q.inFlight()).toBe(2);
    const order: string[] = [];
    const c = q.acquire().then((r) => {
      order.push('c');
      return r;
    });
    const d = q.acquire().then((r) => {
      order.push('d');
      return r;
    });
    expect(q.queued()).toBe(2);
    await Promise.resolve();
    expect(order).toEqual([]);
    if (!isRelease(a) || !isRelease(b)) throw new Error('expected slots');
    a();
    const rc = await c;
    expect(order).toEqual(['c']);
    expect(q.inFlight()).toBe(2);
    expect(q.queued()).toBe(1);
    b();
    const rd = await d;
    expect(order).toEqual(['c', 'd']);
    if (!isRelease(rc) || !isRelease(rd)) throw new Error('expected slots');
    rc();
    rd();
    expect(q.inFlight()).toBe(0);
    expect(q.queued()).toBe(0);
  });

  it('answers busy once maxQueue are waiting', async () => {
    const q = new SlotQueue(1, 1);
    const first = await q.acquire();
    void q.acquire();
    expect(await q.acquire()).toBe('busy');
    expect(q.queued()).toBe(1);
    if (isRelease(first)) first();
    expect(q.queued()).toBe(0);
    expect(q.inFlight()).toBe(1);
  });

  it('maxQueue 0 turns away everything beyond the running slots', async () => {
    const q = new SlotQueue(1, 0);
    expect(isRelease(await q.acquire())).toBe(true);
    expect(await q.acquire()).toBe('busy');
  });

  it('a waiter that aborts leaves the queue and is not granted later', async () => {
    const q = new SlotQueue(1, 5);
    const first = await q.acquire();
    const ac = new AbortController();
    const gone = q.acquire(ac.signal);
    const next = q.acquire();
    expect(q.queued()).toBe(2);
    ac.abort();
    expect(await gone).toBe('aborted');
    expect(q.queued()).toBe(1);
    if (isRelease(first)) first();
    expect(isRelease(await next)).toBe(true);
    expect(q.inFlight()).toBe(1);
  });

  it('an already aborted signal never takes a slot', async () => {
    const ac = new AbortController();
    ac.abort();
    const q = new SlotQueue(1, 5);
    expect(await q.acquire(ac.signal)).toBe('aborted');
    expect(q.inFlight()).toBe(0);
  });

  it('releasing twice frees one slot only', async () => {
    const q = new SlotQueue(1, 5);
    const a = await q.acquire();
    const b = q.acquire();
    const c = q.acquire();
    if (!isRelease(a)) throw new Error('expected a slot');
    a();
    a();
    expect(isRelease(await b)).toBe(true);
    expect(q.queued()).toBe(1);
    expect(q.inFlight()).toBe(1);
    void c;
  });

  it('refuses nonsense limits', () => {
    expect(() => new SlotQueue(0, 1)).toThrow();
    expect(() => new SlotQueue(1, -1)).toThrow();
    expect(() => new SlotQueue(1.5, 1)).toThrow();
  });
});
