import { parseLabels, scanSamples } from './prom-text.js';

/** What the picker needs from one vLLM server's /metrics page. */
export interface VllmLoad {
  running: number;
  waiting: number;
  /** 0..1 (vLLM reports a fraction despite the `_perc` suffix); undefined when not exported. */
  kvCacheUsage: number | undefined;
  runningAdapters: string[];
  waitingAdapters: string[];
  maxLora: number | undefined;
  /** `vllm:e2e_request_latency_seconds` sum and count (finished requests, arrival to last token). */
  e2e: HistogramTotals | undefined;
  /** `vllm:request_queue_time_seconds` sum and count (time those requests spent waiting). */
  queue: HistogramTotals | undefined;
}

export interface HistogramTotals {
  sum: number;
  count: number;
}

const RUNNING = 'vllm:num_requests_running';
const WAITING = 'vllm:num_requests_waiting';
const KV = 'vllm:kv_cache_usage_perc';
/** The name before vLLM renamed it; read only when the new one is absent. */
const KV_OLD = 'vllm:gpu_cache_usage_perc';
const LORA = 'vllm:lora_requests_info';
const E2E = 'vllm:e2e_request_latency_seconds';
const QUEUE = 'vllm:request_queue_time_seconds';

const WANTED = new Set([RUNNING, WAITING, KV, KV_OLD, LORA, `${E2E}_sum`, `${E2E}_count`, `${QUEUE}_sum`, `${QUEUE}_count`]);
const wanted = (name: string): boolean => WANTED.has(name);

export class NotVllmMetricsError extends Error {}

/**
 * Reads the scheduler gauges of one vLLM server, and the totals of two request histograms from
 * which the picker learns how fast the server serves (member.ts). Series are summed over their labels (one per
 * engine under data parallelism, one per served model name); KV-cache usage takes the fullest
 * engine, since a new request may land on it.
 *
 * `vllm:lora_requests_info` keeps one series per adapter combination it has ever seen, valued at
 * the time it was last true: the current state is the newest series (per engine).
 *
 * Throws NotVllmMetricsError when neither queue gauge is present: the URL answers, but not with
 * vLLM's metrics, and a zero read from it would look like an idle server.
 */
export function parseVllmMetrics(text: string): VllmLoad {
  let running = 0;
  let waiting = 0;
  let seenQueue = false;
  let kv: number | undefined;
  let kvOld: number | undefined;
  const lora = new Map<string, { at: number; labels: string }>();
  let e2e: HistogramTotals | undefined;
  let queue: HistogramTotals | undefined;
  scanSamples(text, wanted, (name, labels, value) => {
    if (name === RUNNING || name === WAITING) {
      seenQueue = true;
      if (!Number.isFinite(value) || value < 0) return;
      if (name === RUNNING) running += value;
      else waiting += value;
    } else if (name === KV || name === KV_OLD) {
      if (!Number.isFinite(value)) return;
      if (name === KV) kv = Math.max(kv ?? 0, value);
      else kvOld = Math.max(kvOld ?? 0, value);
    } else if (name.startsWith(E2E) || name.startsWith(QUEUE)) {
      if (!Number.isFinite(value)) return;
      const t = name.startsWith(E2E) ? (e2e ??= { sum: 0, count: 0 }) : (queue ??= { sum: 0, count: 0 });
      if (name.endsWith('_sum')) t.sum += value;
      else t.count += value;
    } else {
      const engine = /(?:^|,)\s*engine="([^"]*)"/.exec(labels)?.[1] ?? '';
      const prev = lora.get(engine);
      if (!prev || value > prev.at) lora.set(engine, { at: value, labels });
    }
  });
  if (!seenQueue) throw new NotVllmMetricsError(`no ${RUNNING} or ${WAITING} series: not a vLLM /metrics page`);

  const runningAdapters = new Set<string>();
  const waitingAdapters = new Set<string>();
  let maxLora: number | undefined;
  for (const { labels } of lora.values()) {
    const l = parseLabels(labels);
    for (const a of splitList(l.running_lora_adapters)) runningAdapters.add(a);
    for (const a of splitList(l.waiting_lora_adapters)) waitingAdapters.add(a);
    const m = l.max_lora === undefined ? NaN : Number(l.max_lora);
    if (Number.isFinite(m)) maxLora = Math.max(maxLora ?? 0, m);
  }
  const usage = kv ?? kvOld;
  return {
    running,
    waiting,
    kvCacheUsage: usage === undefined ? undefined : Math.min(1, Math.max(0, usage)),
    runningAdapters: [...runningAdapters],
    waitingAdapters: [...waitingAdapters],
    maxLora,
    e2e,
    queue,
  };
}

function splitList(v: string | undefined): string[] {
  if (!v) return [];
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
