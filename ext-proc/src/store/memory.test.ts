import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from './memory.js';
import type { KvStore } from './kv.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('memory store', () => {
  let store: KvStore;
  afterEach(async () => {
    await store?.close();
  });

  it('gets what was set, misses what was not, deletes', async () => {
    store = createMemoryStore({ maxBytes: 1024 });
    expect(store.kind).toBe('memory');
    expect(store.healthy()).toBe(true);
    expect(await store.get('absent')).toBeUndefined();
    expect(await store.set('k', Buffer.from('v1'), 60)).toBe(true);
    expect((await store.get('k'))?.toString()).toBe('v1');
    expect(await store.set('k', Buffer.from('v2'), 60)).toBe(true);
    expect((await store.get('k'))?.toString()).toBe('v2');
    expect(await store.delete('k')).toBe(true);
    expect(await store.delete('k')).toBe(true);
    expect(await store.get('k')).toBeUndefined();
  });

  it('keeps binary values intact and copies them in and out', async () => {
    store = createMemoryStore({ maxBytes: 4096 });
    const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await store.set('bin', value, 60);
    value[0] = 0xff; // the caller reusing its buffer must not change the cached copy
    const got = await store.get('bin');
    expect(got?.length).toBe(256);
    expect(got?.[0]).toBe(0);
    expect(got?.equals(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))).toBe(true);
    got![1] = 0xff; // nor mutating what get returned
    expect((await store.get('bin'))?.[1]).toBe(1);
  });

  it('expires entries after their own TTL', async () => {
    store = createMemoryStore({ maxBytes: 1024 });
    await store.set('short', Buffer.from('a'), 0.05);
    await store.set('long', Buffer.from('b'), 60);
    expect((await store.get('short'))?.toString()).toBe('a');
    await sleep(120);
    expect(await store.get('short')).toBeUndefined();
    expect((await store.get('long'))?.toString()).toBe('b');
  });

  it('refuses a non-positive or non-finite TTL', async () => {
    store = createMemoryStore({ maxBytes: 1024 });
    expect(await store.set('k', Buffer.from('v'), 0)).toBe(false);
    expect(await store.set('k', Buffer.from('v'), -1)).toBe(false);
    expect(await store.set('k', Buffer.from('v'), Number.NaN)).toBe(false);
    expect(await store.get('k')).toBeUndefined();
  });

  it('evicts least recently used entries to stay within maxBytes (key + value bytes)', async () => {
    store = createMemoryStore({ maxBytes: 100 });
    const thirty = Buffer.alloc(29, 1); // 29 + 1-byte key = 30 bytes per entry
    await store.set('a', thirty, 60);
    await store.set('b', thirty, 60);
    await store.set('c', thirty, 60);
    expect(await store.get('a')).toBeDefined(); // a is now the most recently used
    await store.set('d', thirty, 60); // 120 > 100: the least recently used (b) goes
    expect(await store.get('b')).toBeUndefined();
    expect(await store.get('a')).toBeDefined();
    expect(await store.get('c')).toBeDefined();
    expect(await store.get('d')).toBeDefined();
  });

  it('counts the key towards the size', async () => {
    store = createMemoryStore({ maxBytes: 100 });
    await store.set('x'.repeat(40), Buffer.alloc(10), 60); // 50
    await store.set('y'.repeat(40), Buffer.alloc(10), 60); // 100
    await store.set('z', Buffer.alloc(1), 60); // 102: the first goes
    expect(await store.get('x'.repeat(40))).toBeUndefined();
    expect(await store.get('y'.repeat(40))).toBeDefined();
  });

  it('refuses an entry larger than the whole store and drops the old value of that key', async () => {
    store = createMemoryStore({ maxBytes: 100 });
    await store.set('big', Buffer.from('small'), 60);
    await store.set('other', Buffer.from('kept'), 60);
    expect(await store.set('big', Buffer.alloc(200), 60)).toBe(false);
    expect(await store.get('big')).toBeUndefined();
    expect((await store.get('other'))?.toString()).toBe('kept');
  });

  it('stores empty values', async () => {
    store = createMemoryStore({ maxBytes: 100 });
    expect(await store.set('empty', Buffer.alloc(0), 60)).toBe(true);
    expect((await store.get('empty'))?.length).toBe(0);
  });

  it('is unusable after close', async () => {
    store = createMemoryStore({ maxBytes: 100 });
    await store.set('k', Buffer.from('v'), 60);
    await store.close();
    expect(store.healthy()).toBe(false);
    expect(await store.get('k')).toBeUndefined();
    expect(await store.set('k', Buffer.from('v'), 60)).toBe(false);
    expect(await store.delete('k')).toBe(false);
  });

  it('rejects a nonsensical size bound at construction', () => {
    store = createMemoryStore({ maxBytes: 1 });
    expect(() => createMemoryStore({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => createMemoryStore({ maxBytes: Number.NaN })).toThrow(RangeError);
  });
});
