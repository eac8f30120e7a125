import { afterEach, describe, expect, it, vi } from 'vitest';
import { EndpointPool, type PoolOptions } from './pool.js';

const A = '10.0.0.1:8000';
const B = '10.0.0.2:8000';
const C = '10.0.0.3:8000';

interface Load {
  running?: number;
  waiting?: number;
  kv?: number;
  adapters?: string[];
  /** Finished requests so far and their total seconds (vllm:e2e_request_latency_seconds). */
  finished?: [count: number, seconds: number];
}

/** A vLLM /metrics page as the server writes it. */
function page({ running = 0, waiting = 0, kv = 0, adapters = [], finished = [0, 0] }: Load): string {
  return [
    `vllm:e2e_request_latency_seconds_count{engine="0",model_name="base"} ${finished[0]}`,
    `vllm:e2e_request_latency_seconds_sum{engine="0",model_name="base"} ${finished[1]}`,
    '# TYPE vllm:num_requests_running gauge',
    `vllm:num_requests_running{engine="0",model_name="base"} ${running.toFixed(1)}`,
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{engine="0",model_name="base"} ${waiting.toFixed(1)}`,
    `vllm:kv_cache_usage_perc{engine="0",model_name="base"} ${kv}`,
    `vllm:lora_requests_info{max_lora="2",running_lora_adapters="${adapters.join(',')}",waiting_lora_adapters=""} 1.7e+09`,
    '',
  ].join('\n');
}

/** Fake servers: per endpoint, a page, an HTTP status, or a network error. */
class Servers {
  readonly answers = new Map<string, string | number | Error>();
  readonly calls: string[] = [];
  readonly fetch = (async (input: string | URL | Request) => {
    const url = new URL(String(input));
    this.calls.push(url.host);
    const a = this.answers.get(url.host) ?? new Error('connect ECONNREFUSED');
    if (a instanceof Error) throw a;
    if (typeof a === 'number') return new Response('oops', { status: a });
    return new Response(a, { status: 200, headers: { 'content-type': 'text/plain; version=0.0.4' } });
  }) as typeof fetch;

  set(endpoint: string, load: Load): void {
    this.answers.set(endpoint, page(load));
  }
}

let clock = 1_000_000;
const now = (): number => clock;

function pool(kind: 'vllm' | 'ollama', servers = new Servers(), extra: Partial<PoolOptions> = {}): EndpointPool {
  return new EndpointPool({
    name: kind,
    kind,
    endpoints: [A, B, C].map((e) => ({ url: `http://${e}` })),
    fetchImpl: servers.fetch,
    now,
    ...extra,
  });
}

async function scraped(servers: Servers, loads: Record<string, Load>, extra: Partial<PoolOptions> = {}): Promise<EndpointPool> {
  for (const [e, l] of Object.entries(loads)) servers.set(e, l);
  const p = pool('vllm', servers, extra);
  await p.refresh();
  return p;
}

afterEach(() => {
  clock = 1_000_000;
  vi.useRealTimers();
});

describe('EndpointPool (vLLM) with fresh metrics', () => {
  it('prefers the shortest queue, then the emptiest batch, and lists every endpoint', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 8, waiting: 3 }, [B]: { running: 6 }, [C]: { running: 8, waiting: 1 } });
    expect(p.pick({ model: 'base' })).toEqual({ endpoints: [B, C, A], reason: 'least-loaded' });
  });

  it('avoids an endpoint whose KV cache is nearly full', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 2, kv: 0.99 }, [B]: { running: 3, kv: 0.5 }, [C]: { running: 3, kv: 0.6 } });
    expect(p.pick({ model: 'base' }).endpoints[2]).toBe(A);
  });

  it('counts requests sent since the last scrape, so a burst spreads over equal endpoints', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: {}, [B]: {}, [C]: {} });
    const firsts: string[] = [];
    for (let i = 0; i < 6; i++) {
      const e = p.pick({ model: 'base' }).endpoints[0]!;
      firsts.push(e);
      p.begin(e);
    }
    expect(firsts.filter((e) => e === A)).toHaveLength(2);
    expect(firsts.filter((e) => e === B)).toHaveLength(2);
    expect(firsts.filter((e) => e === C)).toHaveLength(2);
  });

  it('does not count a request twice once a scrape has seen it', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: {}, [B]: {}, [C]: {} });
    p.begin(A);
    p.begin(A);
    s.set(A, { running: 2 });
    s.set(B, { running: 3 });
    await p.refresh();
    // A: 2 running (ours, now in its metrics) < B: 3 running; double counting would make A 4.
    expect(p.pick({ model: 'base' }).endpoints.slice(0, 2)).toEqual([C, A]);
    p.begin(C);
    p.begin(C);
    p.begin(C);
    expect(p.pick({ model: 'base' }).endpoints[0]).toBe(A);
  });

  it('learns a small endpoint from a queue it keeps, and stops sending it more than its slots', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 2, waiting: 1 }, [B]: { running: 6 }, [C]: { running: 6 } });
    await p.refresh(); // two scrapes in a row with a queue: A runs 2 at most
    s.set(A, { running: 2 });
    await p.refresh();
    // A has no queue now but is full; B and C have room: they come first.
    expect(p.pick({ model: 'base' }).endpoints[2]).toBe(A);
  });
});

describe('EndpointPool (vLLM) with stale or failing metrics', () => {
  it('before any scrape, picks by its own in-flight counts', () => {
    const p = pool('vllm');
    p.begin(A);
    p.begin(A);
    p.begin(B);
    expect(p.pick({ model: 'base' })).toEqual({ endpoints: [C, B, A], reason: 'stale-metrics:least-in-flight' });
  });

  it('ignores metrics older than staleAfterMs and falls back on in-flight counts', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 0 }, [B]: { running: 8, waiting: 5 }, [C]: { running: 8, waiting: 5 } });
    expect(p.pick({ model: 'base' }).endpoints[0]).toBe(A);
    p.begin(A);
    p.begin(A);
    p.begin(C);
    clock += 3001; // default staleAfterMs: 3 x 1000
    expect(p.pick({ model: 'base' })).toEqual({ endpoints: [B, C, A], reason: 'stale-metrics:least-in-flight' });
    expect(p.snapshot().every((e) => !e.fresh)).toBe(true);
  });

  it('one stale endpoint degrades alone: it is compared by its in-flight count', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 4 }, [B]: { running: 5 }, [C]: { running: 4 } });
    clock += 2500;
    s.answers.set(C, new Error('timeout'));
    await p.refresh();
    clock += 1000; // A and B scraped 1 s ago; C's last good scrape is 3.5 s old
    expect(p.snapshot().map((e) => e.fresh)).toEqual([true, true, false]);
    // Nothing of ours is in flight at C: its in-flight score (0) beats A and B's metrics (4 and 5 of 8).
    expect(p.pick({ model: 'base' })).toEqual({ endpoints: [C, A, B], reason: 'stale-metrics:least-in-flight' });
  });

  it('orders an endpoint that failed two scrapes in a row after the healthy ones, without removing it', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 5 }, [B]: { running: 0 }, [C]: { running: 6 } });
    expect(p.pick({ model: 'base' }).endpoints[0]).toBe(B);
    s.answers.set(B, 500);
    await p.refresh();
    // One failure: B's numbers are still fresh and it still leads.
    expect(p.pick({ model: 'base' }).endpoints[0]).toBe(B);
    s.answers.set(B, 'this is not a metrics page');
    await p.refresh();
    expect(p.pick({ model: 'base' })).toEqual({ endpoints: [A, C, B], reason: 'least-loaded' });
    s.set(B, { running: 0 });
    await p.refresh();
    expect(p.pick({ model: 'base' }).endpoints[0]).toBe(B);
  });

  it('a pool whose scrapes all fail still picks, by in-flight counts', async () => {
    const s = new Servers(); // every endpoint refuses connections
    const p = pool('vllm', s);
    await p.refresh();
    await p.refresh();
    p.begin(B);
    const pick = p.pick({ model: 'base' });
    expect(pick.reason).toBe('stale-metrics:least-in-flight');
    expect(pick.endpoints).toHaveLength(3);
    expect(pick.endpoints[2]).toBe(B);
  });

  it('does not scrape an endpoint again while its previous scrape is pending', async () => {
    let release: (r: Response) => void = () => undefined;
    const calls: string[] = [];
    const slow = ((input: string | URL | Request) => {
      calls.push(String(input));
      return new Promise<Response>((resolve) => (release = resolve));
    }) as typeof fetch;
    const p = new EndpointPool({ name: 'v', kind: 'vllm', endpoints: [{ url: `http://${A}` }], fetchImpl: slow, now });
    const first = p.refresh();
    const second = p.refresh();
    expect(calls).toEqual([`http://${A}/metrics`]);
    release(new Response(page({ running: 1 })));
    await Promise.all([first, second]);
    expect(p.snapshot()[0]!.running).toBe(1);
  });
});

describe('EndpointPool service time', () => {
  /** Two scrapes: A and B served 10 requests in 0.7 s each, C in 1.75 s; then the given loads. */
  async function measured(loads: Record<string, Load>, extra: Partial<PoolOptions> = {}): Promise<EndpointPool> {
    const s = new Servers();
    const p = await scraped(s, { [A]: {}, [B]: {}, [C]: {} }, extra);
    s.set(A, { ...loads[A], finished: [10, 7] });
    s.set(B, { ...loads[B], finished: [10, 7] });
    s.set(C, { ...loads[C], finished: [10, 17.5] });
    await p.refresh();
    return p;
  }

  it('keeps a slow idle endpoint behind fast ones with room', async () => {
    const p = await measured({ [A]: { running: 4 }, [B]: { running: 5 }, [C]: {} });
    expect(p.pick({ model: 'base' }).endpoints).toEqual([A, B, C]);
    expect(p.snapshot().map((e) => e.serviceSeconds)).toEqual([0.7, 0.7, 1.75]);
  });

  it('uses the slow endpoint once the fast ones queue', async () => {
    const p = await measured({ [A]: { running: 8, waiting: 2 }, [B]: { running: 8, waiting: 3 }, [C]: { running: 1 } });
    await p.refresh(); // a second scrape with queues: A and B are known to run 8 at most
    // A: (8 + 4 x 2) / 8 = 2; C: 2.5 x (1 + 1/8) - 1 = 1.81.
    expect(p.pick({ model: 'base' }).endpoints).toEqual([C, A, B]);
  });

  it('can be turned off', async () => {
    const p = await measured({ [A]: { running: 4 }, [B]: { running: 5 }, [C]: {} }, { weighServiceTime: false });
    expect(p.pick({ model: 'base' }).endpoints[0]).toBe(C);
  });
});

describe('EndpointPool LoRA adapters', () => {
  it('prefers an endpoint already running the adapter when it is a little busier', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 2 }, [B]: { running: 6, adapters: ['sql-lora'] }, [C]: { running: 3 } });
    expect(p.pick({ model: 'sql-lora' })).toEqual({ endpoints: [B, A, C], reason: 'adapter-loaded' });
    // The base model is no adapter: plain least-loaded.
    expect(p.pick({ model: 'base' }).endpoints[0]).toBe(A);
  });

  it('gives the adapter up when its endpoint is much more loaded', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 2 }, [B]: { running: 8, waiting: 2, adapters: ['sql-lora'] }, [C]: { running: 3 } });
    expect(p.pick({ model: 'sql-lora' })).toEqual({ endpoints: [A, C, B], reason: 'least-loaded' });
  });

  it('among endpoints running the adapter, takes the least loaded', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 5, adapters: ['x'] }, [B]: { running: 0 }, [C]: { running: 4, adapters: ['y', 'x'] } });
    expect(p.pick({ model: 'x' }).endpoints[0]).toBe(C);
  });

  it('ignores adapter lists from stale metrics', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 0 }, [B]: { running: 0, adapters: ['x'] }, [C]: { running: 0 } });
    p.begin(B);
    clock += 10_000;
    expect(p.pick({ model: 'x' }).endpoints[0]).not.toBe(B);
  });
});

describe('EndpointPool prefix affinity', () => {
  it('sends the same key to the same endpoint while loads are equal', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 3 }, [B]: { running: 3 }, [C]: { running: 3 } });
    const home = p.pick({ model: 'base', affinityKey: 'conv-42' });
    expect(home.reason).toBe('affinity');
    for (let i = 0; i < 20; i++) expect(p.pick({ model: 'base', affinityKey: 'conv-42' }).endpoints[0]).toBe(home.endpoints[0]);
  });

  it('spreads different keys over the endpoints', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: {}, [B]: {}, [C]: {} });
    const used = new Set<string>();
    for (let i = 0; i < 60; i++) used.add(p.pick({ model: 'base', affinityKey: `conv-${i}` }).endpoints[0]!);
    expect(used.size).toBe(3);
  });

  it('keeps the key within the slack, moves it when its endpoint is clearly worse, and comes back', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 4 }, [B]: { running: 4 }, [C]: { running: 4 } });
    const home = p.pick({ model: 'base', affinityKey: 'k' }).endpoints[0]!;
    const others = [A, B, C].filter((e) => e !== home);

    // 3 more running of 8 slots: 0.375 worse than the best, inside the 0.5 slack.
    s.set(home, { running: 7 });
    await p.refresh();
    const kept = p.pick({ model: 'base', affinityKey: 'k' });
    expect(kept.endpoints[0]).toBe(home);
    expect(kept.reason).toBe('affinity');

    // A queue of 2 (each counted 4 slots): 1.5 worse, so the key goes to the least loaded.
    s.set(home, { running: 8, waiting: 2 });
    await p.refresh();
    const moved = p.pick({ model: 'base', affinityKey: 'k' });
    expect(others).toContain(moved.endpoints[0]);
    expect(moved.reason).toBe('least-loaded');
    expect(moved.endpoints[2]).toBe(home);

    s.set(home, { running: 4 });
    await p.refresh();
    expect(p.pick({ model: 'base', affinityKey: 'k' }).endpoints[0]).toBe(home);
  });

  it('combines with adapters: the key stays on an endpoint that runs the adapter', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 1, adapters: ['x'] }, [B]: { running: 1, adapters: ['x'] }, [C]: { running: 0 } });
    const picks = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = p.pick({ model: 'x', affinityKey: `conv-${i}` });
      picks.add(r.endpoints[0]!);
      expect(r.reason).toBe('affinity');
    }
    expect([...picks].sort()).toEqual([A, B]);
  });
});

describe('EndpointPool (Ollama)', () => {
  it('picks the endpoint with the fewest requests of its own in flight, and ends count once', () => {
    const p = pool('ollama');
    const endA = p.begin(A);
    p.begin(B);
    p.begin(B);
    p.begin(C);
    p.begin(C);
    p.begin(C);
    expect(p.pick({ model: 'llama3.2' })).toEqual({ endpoints: [A, B, C], reason: 'least-in-flight' });
    endA({ status: 200 });
    endA({ status: 200 });
    expect(p.snapshot().map((e) => e.inFlight)).toEqual([0, 2, 3]);
    expect(p.snapshot().every((e) => !e.fresh && e.running === undefined)).toBe(true);
  });

  it('puts an endpoint that answered 503 last for busyMs', () => {
    const p = pool('ollama');
    p.begin(B)({ status: 503 });
    p.begin(A);
    p.begin(A);
    expect(p.pick({ model: 'm' }).endpoints).toEqual([C, A, B]);
    expect(p.snapshot()[1]!.fullUntil).toBe(clock + 2000);
    clock += 2001;
    // B is back among the idle endpoints, ahead of A and its two requests.
    const after = p.pick({ model: 'm' }).endpoints;
    expect(after.slice(0, 2).sort()).toEqual([B, C]);
    expect(after[2]).toBe(A);
    expect(p.snapshot()[1]!.fullUntil).toBeUndefined();
  });

  it('takes a busy flag as well as the status, and says so when every endpoint is full', () => {
    const p = pool('ollama');
    p.begin(A)({ status: 200, busy: true });
    p.begin(B)({ status: 503 });
    clock += 500;
    p.begin(C)({ status: 503 });
    const pick = p.pick({ model: 'm' });
    expect(pick.reason).toBe('all-full');
    expect(pick.endpoints).toHaveLength(3);
  });

  it('uses slotsPerEndpoint: two requests on a two-slot endpoint beat one queued on a one-slot guess', () => {
    const p = pool('ollama', new Servers(), { slotsPerEndpoint: 2 });
    p.begin(A);
    p.begin(A);
    p.begin(B);
    p.begin(B);
    p.begin(B);
    p.begin(C);
    p.begin(C);
    p.begin(C);
    expect(p.pick({ model: 'm' }).endpoints[0]).toBe(A);
  });

  it('keeps an affinity key on its endpoint while in-flight counts are close', () => {
    const p = pool('ollama', new Servers(), { slotsPerEndpoint: 4 });
    const home = p.pick({ model: 'm', affinityKey: 'abc' }).endpoints[0]!;
    p.begin(home);
    const again = p.pick({ model: 'm', affinityKey: 'abc' });
    expect(again.endpoints[0]).toBe(home);
    expect(again.reason).toBe('affinity');
  });

  it('does not poll', async () => {
    const s = new Servers();
    const p = pool('ollama', s);
    p.start();
    await p.stop();
    expect(s.calls).toEqual([]);
  });
});

describe('EndpointPool lifecycle and configuration', () => {
  it('scrapes at start and every pollIntervalMs, and stops', async () => {
    vi.useFakeTimers();
    const s = new Servers();
    for (const e of [A, B, C]) s.set(e, {});
    const p = pool('vllm', s, { pollIntervalMs: 500 });
    p.start();
    p.start(); // idempotent
    await vi.advanceTimersByTimeAsync(0);
    expect(s.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(1000);
    expect(s.calls).toHaveLength(9);
    await p.stop();
    await vi.advanceTimersByTimeAsync(2000);
    expect(s.calls).toHaveLength(9);
  });

  it('stop aborts a scrape that hangs', async () => {
    const hang = ((_: unknown, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new Error('aborted'))))) as typeof fetch;
    const p = new EndpointPool({ name: 'v', kind: 'vllm', endpoints: [{ url: `http://${A}` }], fetchImpl: hang, now });
    p.start();
    await p.stop();
    expect(p.snapshot()[0]!.fresh).toBe(false);
  });

  it('a begin for an endpoint outside the pool is harmless', () => {
    const p = pool('ollama');
    p.begin('192.168.1.1:1')({ status: 503 });
    expect(p.snapshot().every((e) => e.inFlight === 0 && e.fullUntil === undefined)).toBe(true);
  });

  it('rejects host names, duplicate endpoints and empty pools', () => {
    expect(() => new EndpointPool({ name: 'v', kind: 'vllm', endpoints: [{ url: 'http://gpu-1:8000' }] })).toThrow(/not an IP address/);
    expect(() => new EndpointPool({ name: 'v', kind: 'vllm', endpoints: [{ url: 'http://localhost:8000' }, { url: 'http://127.0.0.1:8000/v1' }] })).toThrow(
      /twice/,
    );
    expect(() => new EndpointPool({ name: 'v', kind: 'vllm', endpoints: [] })).toThrow();
  });

  it('scrapes /metrics at the URL it was given, localhost included', async () => {
    const s = new Servers();
    s.answers.set('localhost:8001', page({ running: 2 }));
    const p = new EndpointPool({ name: 'v', kind: 'vllm', endpoints: [{ url: 'http://localhost:8001/v1' }], fetchImpl: s.fetch, now });
    await p.refresh();
    expect(p.snapshot()).toEqual([{ endpoint: '127.0.0.1:8001', inFlight: 0, running: 2, waiting: 0, kvCacheUsage: 0, adapters: [], fresh: true }]);
    expect(p.endpoints).toEqual(['127.0.0.1:8001']);
  });

  it('counts picks per endpoint and reason', async () => {
    const s = new Servers();
    const p = await scraped(s, { [A]: { running: 0 }, [B]: { running: 4 }, [C]: { running: 4 } });
    p.pick({ model: 'base' });
    p.pick({ model: 'base' });
    clock += 10_000;
    p.pick({ model: 'base' });
    expect(p.pickCounts()).toEqual([
      { endpoint: A, reason: 'least-loaded', count: 2 },
      { endpoint: expect.any(String), reason: 'stale-metrics:least-in-flight', count: 1 },
    ]);
  });
});
