import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createMemoryLimiter, LimiterUnavailable } from '../limits/index.js';
import { createMemoryStore } from '../store/memory.js';
import { ipcLimiter, ipcStore, serveSharedState, SharedStateClient, type SharedRequest } from './ipc.js';

/** A worker's `process` wired to a primary in the same test: messages cross as they would over IPC (JSON). */
function channel(state: Parameters<typeof serveSharedState>[1], opts: { connected?: boolean; silent?: boolean } = {}) {
  const proc = new EventEmitter() as EventEmitter & { connected: boolean; send: (m: unknown) => boolean };
  proc.connected = opts.connected ?? true;
  proc.send = (m: unknown) => {
    if (opts.silent) return true;
    const req = JSON.parse(JSON.stringify(m)) as SharedRequest;
    void serveSharedState(req, state).then((r) => proc.emit('message', JSON.parse(JSON.stringify(r))));
    return true;
  };
  return new SharedStateClient(proc as unknown as NodeJS.Process);
}

const subject = { scope: 'tenant' as const, id: 't', policy: { rpm: 2 } };

describe('shared state across workers', () => {
  it("admits against the primary's limiter: two workers see one budget", async () => {
    const state = { limiter: createMemoryLimiter(), store: undefined };
    const a = ipcLimiter(channel(state));
    const b = ipcLimiter(channel(state));
    const est = { tokens: 10, usd: 0 };
    expect((await a.admit([subject], est)).ok).toBe(true);
    expect((await b.admit([subject], est)).ok).toBe(true);
    const third = await a.admit([subject], est);
    expect(third.ok).toBe(false);
  });

  it('reconciles a reservation once, however often it is asked', async () => {
    const state = { limiter: createMemoryLimiter(), store: undefined };
    let sent = 0;
    const client = channel(state);
    const real = client.call.bind(client);
    client.call = (op) => {
      if (op.op === 'reconcile') sent++;
      return real(op);
    };
    const l = ipcLimiter(client);
    const adm = await l.admit([{ scope: 'tenant', id: 'r', policy: { tpm: 100 } }], { tokens: 50, usd: 0 });
    if (!adm.ok) throw new Error('not admitted');
    await l.reconcile(adm.reservation, { tokens: 5, usd: 0 });
    await l.reconcile(adm.reservation, { tokens: 5, usd: 0 });
    expect(sent).toBe(1);
  });

  it('fails as unavailable, not as a wrong answer, when the primary is gone or silent', async () => {
    const gone = ipcLimiter(channel({ limiter: createMemoryLimiter(), store: undefined }, { connected: false }));
    await expect(gone.admit([subject], { tokens: 1, usd: 0 })).rejects.toBeInstanceOf(LimiterUnavailable);
    expect(gone.healthy()).toBe(false);
    const store = ipcStore(channel({ limiter: createMemoryLimiter(), store: createMemoryStore({ maxBytes: 1 << 20 }) }, { connected: false }));
    expect(await store.get('k')).toBeUndefined();
    expect(await store.set('k', Buffer.from('v'), 10)).toBe(false);
  }, 10_000);

  it('keeps binary cache values intact across the channel', async () => {
    const s = ipcStore(channel({ limiter: createMemoryLimiter(), store: createMemoryStore({ maxBytes: 1 << 20 }) }));
    const value = Buffer.from([0, 255, 10, 13, 0xe2, 0x82]);
    expect(await s.set('k', value, 60)).toBe(true);
    expect((await s.get('k'))?.equals(value)).toBe(true);
    expect(await s.delete('k')).toBe(true);
    expect(await s.get('k')).toBeUndefined();
  });
});
