/**
 * Open-loop (fixed-rate) load generator: request i is due at t0 + i / rate whatever happened to
 * earlier requests, and its latency runs from that *scheduled* time to the end of the response
 * body, so a stall anywhere (server, proxy, or this process) shows up in the tail instead of
 * silently lowering the offered rate (no coordinated omission).
 *
 * Timing: Node timers have 1 ms granularity, which at 500 RPS (one request every 2 ms) would add
 * up to 1 ms of send lag. A worker thread sleeps precisely until each due time (Atomics.wait takes
 * fractional milliseconds and does not spin) and wakes the main thread, which sends everything
 * due. The remaining send lag (due time -> request written) is reported separately.
 *
 * Config (one JSON argument): { url, key, body, rate, durationS, warmupS, maxSockets, timeoutMs }.
 * Requests scheduled during the warm-up are sent but not recorded.
 * Output: one JSON line (latency samples in microseconds, 0.1 µs resolution).
 */
import http from 'node:http';
import { Worker } from 'node:worker_threads';
import { emit, fail, nsToUs, pct, readConfig } from './common.js';

interface Config {
  url: string;
  key: string;
  body: string;
  rate: number;
  durationS: number;
  warmupS: number;
  maxSockets: number;
  timeoutMs: number;
}

export interface OpenLoopResult {
  rate: number;
  durationS: number;
  scheduled: number;
  ok: number;
  non200: number;
  statusCounts: Record<string, number>;
  socketErrors: number;
  timeouts: number;
  firstError: string | undefined;
  /** OK responses per second over [first scheduled, last completion] of the measured requests. */
  achievedRps: number;
  elapsedS: number;
  /** Scheduled time -> end of response body, OK responses only. */
  latencyUs: number[];
  /** Actual send -> end of response body (what a closed-loop tool would report). */
  serviceUs: { p50: number; p90: number; p99: number };
  /** Scheduled time -> request handed to the socket layer: this generator's own lag. */
  sendLagUs: { p50: number; p90: number; p99: number; max: number };
  maxInFlight: number;
}

const TICKER = `
const { parentPort, workerData } = require('node:worker_threads');
const cell = new Int32Array(new SharedArrayBuffer(4));
const t0 = BigInt(workerData.t0);
for (let i = 0; i < workerData.total; i++) {
  const due = t0 + BigInt(Math.round(i * workerData.intervalNs));
  const waitMs = Number(due - process.hrtime.bigint()) / 1e6;
  if (waitMs > 0) Atomics.wait(cell, 0, 0, waitMs);
  parentPort.postMessage(i);
}
`;

function main(): void {
  const cfg = readConfig<Config>();
  const url = new URL(cfg.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: cfg.maxSockets });
  const body = Buffer.from(cfg.body, 'utf8');
  const headers = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    authorization: `Bearer ${cfg.key}`,
  };
  const intervalNs = 1e9 / cfg.rate;
  const warmupN = Math.round(cfg.warmupS * cfg.rate);
  const measuredN = Math.round(cfg.durationS * cfg.rate);
  const total = warmupN + measuredN;

  const latency: number[] = [];
  const service: number[] = [];
  const lag: number[] = [];
  const statusCounts: Record<string, number> = {};
  let ok = 0;
  let non200 = 0;
  let socketErrors = 0;
  let timeouts = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  let completed = 0;
  let lastEnd = 0n;

  // Start a little in the future so the ticker and the first sends line up.
  const t0 = process.hrtime.bigint() + 20_000_000n;
  const firstMeasured = t0 + BigInt(Math.round(warmupN * intervalNs));
  const dueAt = (i: number) => t0 + BigInt(Math.round(i * intervalNs));

  const report = () => {
    agent.destroy();
    latency.sort((a, b) => a - b);
    service.sort((a, b) => a - b);
    lag.sort((a, b) => a - b);
    const elapsedS = Number(lastEnd - firstMeasured) / 1e9;
    const result: OpenLoopResult = {
      rate: cfg.rate,
      durationS: cfg.durationS,
      scheduled: measuredN,
      ok,
      non200,
      statusCounts,
      socketErrors,
      timeouts,
      firstError,
      achievedRps: elapsedS > 0 ? ok / elapsedS : 0,
      elapsedS,
      latencyUs: latency,
      serviceUs: { p50: pct(service, 50), p90: pct(service, 90), p99: pct(service, 99) },
      sendLagUs: { p50: pct(lag, 50), p90: pct(lag, 90), p99: pct(lag, 99), max: lag[lag.length - 1] ?? NaN },
      maxInFlight,
    };
    emit(result);
    process.exit(0);
  };

  const fire = (i: number) => {
    const due = dueAt(i);
    const measured = i >= warmupN;
    const sent = process.hrtime.bigint();
    inFlight++;
    if (inFlight > maxInFlight) maxInFlight = inFlight;
    let finished = false;
    const finish = (kind: 'ok' | 'status' | 'error' | 'timeout', detail: string | number) => {
      if (finished) return;
      finished = true;
      const end = process.hrtime.bigint();
      inFlight--;
      completed++;
      if (measured) {
        lastEnd = end > lastEnd ? end : lastEnd;
        lag.push(nsToUs(sent - due));
        if (kind === 'ok') {
          ok++;
          latency.push(nsToUs(end - due));
          service.push(nsToUs(end - sent));
        } else if (kind === 'status') {
          non200++;
          statusCounts[String(detail)] = (statusCounts[String(detail)] ?? 0) + 1;
        } else if (kind === 'timeout') {
          timeouts++;
        } else {
          socketErrors++;
          firstError ??= String(detail);
        }
      }
      if (completed === total) report();
    };
    const req = http.request({ agent, hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      const status = res.statusCode ?? 0;
      res.on('error', (err) => finish('error', err.message));
      res.on('end', () => finish(status === 200 ? 'ok' : 'status', status));
      res.resume();
    });
    req.setTimeout(cfg.timeoutMs, () => {
      finish('timeout', 'timeout');
      req.destroy();
    });
    req.on('error', (err) => finish('error', err.message));
    req.end(body);
  };

  let next = 0;
  const pump = () => {
    const now = process.hrtime.bigint();
    while (next < total && dueAt(next) <= now) fire(next++);
  };

  const ticker = new Worker(TICKER, { eval: true, workerData: { t0: t0.toString(), intervalNs, total } });
  ticker.on('message', pump);
  ticker.on('error', fail);
  ticker.on('exit', () => {
    // Everything due has been announced; make sure the tail is sent even if a tick was coalesced.
    const flush = () => {
      pump();
      if (next < total) setTimeout(flush, 1);
    };
    flush();
  });
}

try {
  main();
} catch (err) {
  fail(err);
}
