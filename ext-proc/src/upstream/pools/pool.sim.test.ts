/**
 * The pool against the vLLM simulator's real /metrics page (simulators/vllm): the parse, the
 * adapter preference and the service-time estimate with nothing faked but the load.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startVllmSimulator, type VllmSimulator, type VllmSimulatorOptions } from '../../../../simulators/vllm/server.js';
import { EndpointPool } from './pool.js';

const sims: VllmSimulator[] = [];
const controllers: AbortController[] = [];

async function sim(o: VllmSimulatorOptions): Promise<VllmSimulator> {
  const s = await startVllmSimulator({ model: 'base', ...o });
  sims.push(s);
  return s;
}

/** Starts a streamed chat and returns once the simulator has queued it; the stream is left open. */
async function open(s: VllmSimulator, model: string, tokens: number): Promise<void> {
  const ac = new AbortController();
  controllers.push(ac);
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: `hi [sim:tokens=${tokens}]` }] }),
    signal: ac.signal,
  });
  // Headers come once the request is queued; the body is left unread (cancelling it would end
  // the request) until afterEach aborts it.
  expect(res.status).toBe(200);
}

async function chat(s: VllmSimulator, tokens: number): Promise<void> {
  const res = await fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'base', messages: [{ role: 'user', content: `hi [sim:tokens=${tokens}]` }] }),
  });
  expect(res.status).toBe(200);
  await res.json();
}

afterEach(async () => {
  for (const ac of controllers.splice(0)) ac.abort();
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

describe('EndpointPool against the vLLM simulator', () => {
  it('reads running, waiting and the running adapters; a queue that stays moves adapter requests elsewhere', async () => {
    const a = await sim({ maxNumSeqs: 1, tokensPerSecond: 2, loraModules: ['sql-lora'], loraLoadMs: 0 });
    const b = await sim({ maxNumSeqs: 4, tokensPerSecond: 2, loraModules: ['sql-lora'], loraLoadMs: 0 });
    const pool = new EndpointPool({ name: 'vllm', kind: 'vllm', endpoints: [{ url: a.url }, { url: b.url }] });
    await open(a, 'sql-lora', 100);
    await open(a, 'base', 100);
    await pool.refresh();
    const [sa, sb] = pool.snapshot();
    expect(sa).toMatchObject({ running: 1, waiting: 1, adapters: ['sql-lora'], fresh: true });
    expect(sb).toMatchObject({ running: 0, waiting: 0, adapters: [], fresh: true });
    expect(pool.pick({ model: 'base' }).endpoints[0]).toBe(pool.endpoints[1]);
    // One look: a's size is unknown (guessed 8), so its queue of 1 is worth keeping the adapter.
    expect(pool.pick({ model: 'sql-lora' })).toEqual({ endpoints: pool.endpoints, reason: 'adapter-loaded' });
    // A second look at the same queue: a runs 1 at most, and the adapter is not worth the wait.
    await pool.refresh();
    expect(pool.pick({ model: 'sql-lora' })).toEqual({ endpoints: [pool.endpoints[1], pool.endpoints[0]], reason: 'least-loaded' });
  });

  it('keeps an adapter request on the endpoint running it while the difference is small', async () => {
    const a = await sim({ maxNumSeqs: 8, tokensPerSecond: 2, loraModules: ['sql-lora'], loraLoadMs: 0 });
    const b = await sim({ maxNumSeqs: 8, tokensPerSecond: 2, loraModules: ['sql-lora'], loraLoadMs: 0 });
    const pool = new EndpointPool({ name: 'vllm', kind: 'vllm', endpoints: [{ url: a.url }, { url: b.url }] });
    await open(a, 'sql-lora', 100);
    await open(a, 'base', 100);
    await pool.refresh();
    expect(pool.pick({ model: 'sql-lora' })).toEqual({ endpoints: pool.endpoints, reason: 'adapter-loaded' });
    expect(pool.pick({ model: 'base' }).endpoints[0]).toBe(pool.endpoints[1]);
  });

  it('learns which endpoint serves faster from its request histograms', async () => {
    const fast = await sim({ tokensPerSecond: 200 });
    const slow = await sim({ tokensPerSecond: 50 });
    const pool = new EndpointPool({ name: 'vllm', kind: 'vllm', endpoints: [{ url: slow.url }, { url: fast.url }] });
    await pool.refresh();
    await Promise.all([chat(fast, 20), chat(slow, 20), chat(fast, 20), chat(slow, 20)]);
    await pool.refresh();
    const [s, f] = pool.snapshot();
    // 19 token gaps: about 95 ms fast, 380 ms slow; generous bounds for a loaded machine.
    expect(f!.serviceSeconds).toBeGreaterThan(0.05);
    expect(s!.serviceSeconds!).toBeGreaterThan(2 * f!.serviceSeconds!);
    expect(pool.pick({ model: 'base' }).endpoints).toEqual([pool.endpoints[1], pool.endpoints[0]]);
  });
});
