/**
 * What a pick costs the request path: pick + begin + end on a pool with fresh metrics, timed
 * over many iterations (the pool's scrape is faked once, so no I/O is involved).
 */
import { EndpointPool } from '../../ext-proc/src/upstream/pools/index.js';

export interface PickCost {
  endpoints: number;
  affinity: boolean;
  /** Microseconds per pick + begin + end. */
  us: number;
}

function page(i: number): string {
  return [
    `vllm:num_requests_running{engine="0",model_name="m"} ${i % 5}`,
    `vllm:num_requests_waiting{engine="0",model_name="m"} ${i % 2}`,
    `vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.${i % 9}`,
    `vllm:lora_requests_info{max_lora="2",running_lora_adapters="a${i % 3},b",waiting_lora_adapters=""} 1.7e+09`,
    '',
  ].join('\n');
}

export async function measurePickCost(endpoints: number, affinity: boolean, iterations = 200_000): Promise<PickCost> {
  const urls = Array.from({ length: endpoints }, (_, i) => `http://10.0.${i >> 8}.${(i & 255) + 1}:8000`);
  const fetchImpl = (async (input: string | URL | Request) => {
    const host = new URL(String(input)).hostname;
    return new Response(page(urls.findIndex((u) => u.includes(`//${host}:`))));
  }) as typeof fetch;
  const pool = new EndpointPool({ name: 'cost', kind: 'vllm', endpoints: urls.map((url) => ({ url })), fetchImpl });
  await pool.refresh();
  const keys = Array.from({ length: 64 }, (_, i) => `conversation-prefix-${i}`);
  const run = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const p = pool.pick(affinity ? { model: 'a1', affinityKey: keys[i & 63]! } : { model: 'm' });
      pool.begin(p.endpoints[0]!)({ status: 200 });
    }
  };
  run(20_000); // warm-up: let the JIT settle
  const t = process.hrtime.bigint();
  run(iterations);
  const us = Number(process.hrtime.bigint() - t) / 1000 / iterations;
  return { endpoints, affinity, us: Math.round(us * 1000) / 1000 };
}
