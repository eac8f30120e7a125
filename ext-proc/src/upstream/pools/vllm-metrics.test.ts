import { describe, expect, it } from 'vitest';
import { NotVllmMetricsError, parseVllmMetrics } from './vllm-metrics.js';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

/** The shape of a vLLM server's /metrics page, trimmed: gauges, one histogram, LoRA info. */
const PAGE = `# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="${MODEL}"} 3.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="${MODEL}"} 2.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="${MODEL}"} 0.4375
# HELP vllm:lora_requests_info Running stats on lora requests.
# TYPE vllm:lora_requests_info gauge
vllm:lora_requests_info{max_lora="2",running_lora_adapters="sql-lora",waiting_lora_adapters=""} 1.7632e+09
vllm:lora_requests_info{max_lora="2",running_lora_adapters="sql-lora,chat-lora",waiting_lora_adapters="tool-lora"} 1.7633e+09
vllm:lora_requests_info{max_lora="2",running_lora_adapters="",waiting_lora_adapters=""} 1.7631e+09
# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="${MODEL}"} 0.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="${MODEL}"} 17.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="${MODEL}"} 17.0
vllm:time_to_first_token_seconds_sum{engine="0",model_name="${MODEL}"} 4.2
# HELP vllm:e2e_request_latency_seconds Histogram of end to end request latency in seconds.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="${MODEL}"} 14.0
vllm:e2e_request_latency_seconds_count{engine="0",model_name="${MODEL}"} 14.0
vllm:e2e_request_latency_seconds_sum{engine="0",model_name="${MODEL}"} 21.5
# HELP vllm:request_queue_time_seconds Histogram of time spent in WAITING phase for request.
# TYPE vllm:request_queue_time_seconds histogram
vllm:request_queue_time_seconds_sum{engine="0",model_name="${MODEL}"} 3.25
vllm:request_queue_time_seconds_count{engine="0",model_name="${MODEL}"} 14.0
`;

describe('parseVllmMetrics', () => {
  it('reads the queue gauges, KV-cache usage and the newest LoRA series', () => {
    expect(parseVllmMetrics(PAGE)).toEqual({
      running: 3,
      waiting: 2,
      kvCacheUsage: 0.4375,
      runningAdapters: ['sql-lora', 'chat-lora'],
      waitingAdapters: ['tool-lora'],
      maxLora: 2,
      e2e: { sum: 21.5, count: 14 },
      queue: { sum: 3.25, count: 14 },
    });
  });

  it('falls back on the older gpu_cache_usage_perc name, and prefers the new one when both exist', () => {
    const old = 'vllm:num_requests_running{model_name="m"} 0\nvllm:gpu_cache_usage_perc{model_name="m"} 0.9\n';
    expect(parseVllmMetrics(old).kvCacheUsage).toBe(0.9);
    expect(parseVllmMetrics(`${old}vllm:kv_cache_usage_perc{model_name="m"} 0.25\n`).kvCacheUsage).toBe(0.25);
  });

  it('sums queues over engines, takes the fullest KV cache and the newest LoRA series of each engine', () => {
    const text = [
      'vllm:num_requests_running{engine="0",model_name="m"} 4.0',
      'vllm:num_requests_running{engine="1",model_name="m"} 5.0',
      'vllm:num_requests_waiting{engine="0",model_name="m"} 1.0',
      'vllm:num_requests_waiting{engine="1",model_name="m"} 0.0',
      'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.3',
      'vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.7',
      'vllm:lora_requests_info{engine="0",max_lora="1",running_lora_adapters="a",waiting_lora_adapters=""} 200',
      'vllm:lora_requests_info{engine="0",max_lora="1",running_lora_adapters="old",waiting_lora_adapters=""} 100',
      'vllm:lora_requests_info{engine="1",max_lora="1",running_lora_adapters="b",waiting_lora_adapters=""} 150',
    ].join('\n');
    const m = parseVllmMetrics(text);
    expect(m.running).toBe(9);
    expect(m.waiting).toBe(1);
    expect(m.kvCacheUsage).toBe(0.7);
    expect(m.runningAdapters.sort()).toEqual(['a', 'b']);
    expect(m.maxLora).toBe(1);
  });

  it('adds request histogram totals over engines and leaves their buckets alone', () => {
    const text = [
      'vllm:num_requests_running{engine="0",model_name="m"} 0',
      'vllm:e2e_request_latency_seconds_bucket{engine="0",le="1.0",model_name="m"} 3',
      'vllm:e2e_request_latency_seconds_sum{engine="0",model_name="m"} 2.5',
      'vllm:e2e_request_latency_seconds_count{engine="0",model_name="m"} 3',
      'vllm:e2e_request_latency_seconds_sum{engine="1",model_name="m"} 1.5',
      'vllm:e2e_request_latency_seconds_count{engine="1",model_name="m"} 2',
    ].join('\n');
    expect(parseVllmMetrics(text)).toMatchObject({ e2e: { sum: 4, count: 5 }, queue: undefined });
  });

  it('without LoRA or KV series: no adapters, undefined usage and max_lora', () => {
    expect(parseVllmMetrics('vllm:num_requests_waiting{model_name="m"} 0.0\n')).toEqual({
      running: 0,
      waiting: 0,
      kvCacheUsage: undefined,
      runningAdapters: [],
      waitingAdapters: [],
      maxLora: undefined,
      e2e: undefined,
      queue: undefined,
    });
  });

  it('clamps a KV usage outside 0..1 and ignores non-finite queue values', () => {
    const m = parseVllmMetrics('vllm:num_requests_running 2\nvllm:num_requests_running NaN\nvllm:kv_cache_usage_perc 1.2\n');
    expect(m.running).toBe(2);
    expect(m.kvCacheUsage).toBe(1);
  });

  it('refuses a page without vLLM queue gauges (another server on that port, an error page)', () => {
    expect(() => parseVllmMetrics('# HELP process_cpu_seconds_total x\nprocess_cpu_seconds_total 12\n')).toThrow(NotVllmMetricsError);
    expect(() => parseVllmMetrics('<html>502 Bad Gateway</html>')).toThrow(NotVllmMetricsError);
  });
});
