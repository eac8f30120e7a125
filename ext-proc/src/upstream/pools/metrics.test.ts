import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerPoolMetrics } from './metrics.js';
import { EndpointPool } from './pool.js';

const A = '10.0.0.1:8000';
const B = '10.0.0.2:8000';

function vllmPool(now: () => number): EndpointPool {
  const pages: Record<string, string> = {
    [A]: 'vllm:num_requests_running{model_name="m"} 3\nvllm:num_requests_waiting{model_name="m"} 2\nvllm:kv_cache_usage_perc{model_name="m"} 0.5\n',
  };
  const fetchImpl = (async (input: string | URL | Request) => {
    const body = pages[new URL(String(input)).host];
    if (body === undefined) throw new Error('connect ECONNREFUSED');
    return new Response(body);
  }) as typeof fetch;
  return new EndpointPool({ name: 'vllm', kind: 'vllm', endpoints: [{ url: `http://${A}` }, { url: `http://${B}` }], fetchImpl, now });
}

describe('registerPoolMetrics', () => {
  it('exports gauges read at scrape time and the picks counter', async () => {
    let t = 1000;
    const pool = vllmPool(() => t);
    const ollama = new EndpointPool({ name: 'ollama', kind: 'ollama', endpoints: [{ url: 'http://127.0.0.1:11434' }] });
    await pool.refresh();
    const end = pool.begin(B);
    pool.begin(B);
    pool.pick({ model: 'm' });
    ollama.pick({ model: 'llama3.2' });
    const registry = registerPoolMetrics(new Registry(), [pool, ollama]);

    let text = await registry.metrics();
    expect(text).toContain(`llm_gateway_pool_queue_depth{pool="vllm",endpoint="${A}"} 2`);
    expect(text).toContain(`llm_gateway_pool_running{pool="vllm",endpoint="${A}"} 3`);
    expect(text).toContain(`llm_gateway_pool_kv_cache_usage{pool="vllm",endpoint="${A}"} 0.5`);
    expect(text).toContain(`llm_gateway_pool_metrics_fresh{pool="vllm",endpoint="${A}"} 1`);
    expect(text).toContain(`llm_gateway_pool_metrics_fresh{pool="vllm",endpoint="${B}"} 0`);
    expect(text).toContain(`llm_gateway_pool_in_flight{pool="vllm",endpoint="${B}"} 2`);
    expect(text).toContain(`llm_gateway_pool_in_flight{pool="ollama",endpoint="127.0.0.1:11434"} 0`);
    expect(text).not.toContain('llm_gateway_pool_metrics_fresh{pool="ollama"');
    expect(text).not.toContain(`llm_gateway_pool_queue_depth{pool="vllm",endpoint="${B}"}`);
    // B never answered a scrape: it is compared by its 2 in flight, which beat A's queue of 2.
    expect(text).toContain(`llm_gateway_pool_picks_total{pool="vllm",endpoint="${B}",reason="stale-metrics:least-in-flight"} 1`);
    expect(text).toContain('llm_gateway_pool_picks_total{pool="ollama",endpoint="127.0.0.1:11434",reason="least-in-flight"} 1');

    // Later scrapes see the current state: stale numbers drop out, ended requests leave.
    end({ status: 200 });
    t += 60_000;
    text = await registry.metrics();
    expect(text).not.toContain('llm_gateway_pool_queue_depth{pool="vllm"');
    expect(text).toContain(`llm_gateway_pool_metrics_fresh{pool="vllm",endpoint="${A}"} 0`);
    expect(text).toContain(`llm_gateway_pool_in_flight{pool="vllm",endpoint="${B}"} 1`);
  });

  it('creates a registry when none is passed', async () => {
    const registry = registerPoolMetrics(undefined, []);
    expect(registry).toBeInstanceOf(Registry);
    expect(await registry.metrics()).toContain('# TYPE llm_gateway_pool_picks_total counter');
  });
});
