/**
 * The part of vLLM's /metrics a pool picker reads, with vLLM's names, labels and buckets.
 *
 * Every series carries `model_name` (the served base model) and `engine="0"`, as vLLM V1
 * labels them. Gauges are read from the scheduler at scrape time, so a scrape always sees the
 * current state. `vllm:lora_requests_info` exists only when adapters are served (vLLM
 * registers it only with LoRA enabled); like vLLM, it keeps one series per combination of
 * label values seen, valued with the time it was last current, so a reader must take the
 * series with the largest value.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface EngineState {
  running(): number;
  waiting(): number;
  kvUsage(): number;
  runningAdapters(): string[];
  waitingAdapters(): string[];
}

export interface EngineMetrics {
  /** Prometheus text format. */
  render(): Promise<string>;
  contentType: string;
  prefilled(promptTokens: number): void;
  generated(tokens: number): void;
  /** Seconds from arrival to first token. */
  firstToken(seconds: number): void;
  /** A finished request: seconds queued and from arrival to last token. */
  finished(queueSeconds: number, e2eSeconds: number): void;
}

const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
const REQUEST_LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];
/** Old label combinations of lora_requests_info kept at most; vLLM keeps them all. */
const MAX_LORA_INFO_SERIES = 64;

export interface EngineMetricsOptions {
  model: string;
  /** Set when adapters are served. */
  maxLoras?: number | undefined;
}

export function createEngineMetrics(opts: EngineMetricsOptions, state: EngineState): EngineMetrics {
  const registry = new Registry();
  const labels = { model_name: opts.model, engine: '0' };
  const labelNames = ['model_name', 'engine'] as const;
  const registers = [registry];

  new Gauge({
    name: 'vllm:num_requests_running',
    help: 'Number of requests in model execution batches.',
    labelNames,
    registers,
    collect() {
      this.set(labels, state.running());
    },
  });
  new Gauge({
    name: 'vllm:num_requests_waiting',
    help: 'Number of requests waiting to be processed.',
    labelNames,
    registers,
    collect() {
      this.set(labels, state.waiting());
    },
  });
  new Gauge({
    name: 'vllm:kv_cache_usage_perc',
    help: 'KV-cache usage. 1 means 100 percent usage.',
    labelNames,
    registers,
    collect() {
      this.set(labels, state.kvUsage());
    },
  });

  const maxLoras = opts.maxLoras;
  if (maxLoras !== undefined) {
    const seen: string[] = [];
    new Gauge({
      name: 'vllm:lora_requests_info',
      help: 'Running stats on lora requests.',
      labelNames: ['max_lora', 'waiting_lora_adapters', 'running_lora_adapters', 'model_name'] as const,
      registers,
      collect() {
        const current = {
          max_lora: String(maxLoras),
          waiting_lora_adapters: state.waitingAdapters().join(','),
          running_lora_adapters: state.runningAdapters().join(','),
          model_name: opts.model,
        };
        const key = `${current.waiting_lora_adapters}|${current.running_lora_adapters}`;
        const at = seen.indexOf(key);
        if (at >= 0) seen.splice(at, 1);
        seen.push(key);
        if (seen.length > MAX_LORA_INFO_SERIES) {
          const [waiting, running] = (seen.shift() as string).split('|');
          this.remove({ ...current, waiting_lora_adapters: waiting ?? '', running_lora_adapters: running ?? '' });
        }
        this.set(current, Date.now() / 1000);
      },
    });
  }

  const preemptions = new Counter({ name: 'vllm:num_preemptions_total', help: 'Cumulative number of preemption from the engine.', labelNames, registers });
  // Whole reservations mean nothing is ever preempted; the series is there because readers expect it.
  preemptions.inc(labels, 0);
  const promptTokens = new Counter({ name: 'vllm:prompt_tokens_total', help: 'Number of prefill tokens processed.', labelNames, registers });
  const generationTokens = new Counter({ name: 'vllm:generation_tokens_total', help: 'Number of generation tokens processed.', labelNames, registers });
  promptTokens.inc(labels, 0);
  generationTokens.inc(labels, 0);

  const ttft = new Histogram({
    name: 'vllm:time_to_first_token_seconds',
    help: 'Histogram of time to first token in seconds.',
    buckets: TTFT_BUCKETS,
    labelNames,
    registers,
  });
  const e2e = new Histogram({
    name: 'vllm:e2e_request_latency_seconds',
    help: 'Histogram of e2e request latency in seconds.',
    buckets: REQUEST_LATENCY_BUCKETS,
    labelNames,
    registers,
  });
  const queue = new Histogram({
    name: 'vllm:request_queue_time_seconds',
    help: 'Histogram of time spent in WAITING phase for request.',
    buckets: REQUEST_LATENCY_BUCKETS,
    labelNames,
    registers,
  });
  // Histograms with labels only appear once observed; zero() makes them present from the start.
  ttft.zero(labels);
  e2e.zero(labels);
  queue.zero(labels);

  return {
    render: () => registry.metrics(),
    contentType: registry.contentType,
    prefilled: (n) => promptTokens.inc(labels, n),
    generated: (n) => generationTokens.inc(labels, n),
    firstToken: (s) => ttft.observe(labels, s),
    finished: (queueSeconds, e2eSeconds) => {
      queue.observe(labels, queueSeconds);
      e2e.observe(labels, e2eSeconds);
    },
  };
}
