import { describe, expect, it } from 'vitest';
import { createEngineMetrics, type EngineState } from './metrics.js';

function fakeState(): EngineState & { r: number; w: number; kv: number; ra: string[]; wa: string[] } {
  return {
    r: 0,
    w: 0,
    kv: 0,
    ra: [],
    wa: [],
    running() {
      return this.r;
    },
    waiting() {
      return this.w;
    },
    kvUsage() {
      return this.kv;
    },
    runningAdapters() {
      return this.ra;
    },
    waitingAdapters() {
      return this.wa;
    },
  };
}

const lines = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`));
const value = (line: string | undefined): number => Number(line?.slice(line.lastIndexOf(' ') + 1));

describe('engine metrics', () => {
  it('reads the scheduler at scrape time', async () => {
    const s = fakeState();
    const m = createEngineMetrics({ model: 'm' }, s);
    s.r = 3;
    s.w = 7;
    s.kv = 0.25;
    const text = await m.render();
    expect(lines(text, 'vllm:num_requests_running')).toEqual(['vllm:num_requests_running{model_name="m",engine="0"} 3']);
    expect(value(lines(text, 'vllm:num_requests_waiting')[0])).toBe(7);
    expect(value(lines(text, 'vllm:kv_cache_usage_perc')[0])).toBe(0.25);
    // Without adapters vLLM has no lora_requests_info at all.
    expect(text).not.toContain('vllm:lora_requests_info');
  });

  it('counts tokens and observes latencies', async () => {
    const m = createEngineMetrics({ model: 'm' }, fakeState());
    m.prefilled(10);
    m.generated(4);
    m.generated(5);
    m.firstToken(0.03);
    m.finished(0.01, 0.9);
    const text = await m.render();
    expect(value(lines(text, 'vllm:prompt_tokens_total')[0])).toBe(10);
    expect(value(lines(text, 'vllm:generation_tokens_total')[0])).toBe(9);
    expect(lines(text, 'vllm:time_to_first_token_seconds_bucket').find((l) => l.includes('le="0.04"'))).toMatch(/ 1$/);
    expect(lines(text, 'vllm:time_to_first_token_seconds_bucket').find((l) => l.includes('le="0.02"'))).toMatch(/ 0$/);
    expect(value(lines(text, 'vllm:e2e_request_latency_seconds_count')[0])).toBe(1);
    expect(value(lines(text, 'vllm:request_queue_time_seconds_count')[0])).toBe(1);
  });

  it('keeps a lora_requests_info series per state seen, the current one newest, and a bounded number', async () => {
    const s = fakeState();
    const m = createEngineMetrics({ model: 'm', maxLoras: 2 }, s);
    s.ra = ['a'];
    s.wa = ['b', 'c'];
    await m.render();
    await new Promise((r) => setTimeout(r, 20));
    s.ra = ['b'];
    s.wa = [];
    const text = await m.render();
    const series = lines(text, 'vllm:lora_requests_info');
    expect(series).toHaveLength(2);
    const old = series.find((l) => l.includes('running_lora_adapters="a"') && l.includes('waiting_lora_adapters="b,c"'));
    const now = series.find((l) => l.includes('running_lora_adapters="b"') && l.includes('waiting_lora_adapters=""'));
    expect(now).toContain('max_lora="2"');
    expect(value(now)).toBeGreaterThan(value(old));
    for (let i = 0; i < 100; i++) {
      s.ra = [`x${i}`];
      await m.render();
    }
    const many = lines(await m.render(), 'vllm:lora_requests_info');
    expect(many.length).toBeLessThanOrEqual(64);
    expect(many.some((l) => l.includes('running_lora_adapters="x99"'))).toBe(true);
  });
});
