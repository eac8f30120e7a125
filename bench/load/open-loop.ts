/**
 * Open-loop (fixed-rate) load generator: request i is due at t0 + i / rate whatever happened to
 * earlier requests, and its latency runs from that *scheduled* time to the end of the response
 * body, so a stall anywhere (server, proxy, or this process) shows up in the tail instead of
 * silently lowering the offered rate (no coordinated omission).
 *
 * Timing: Node timers have 1 ms granularity, which at 2,000 RPS (one request every 0.5 ms) would
 * send in bursts. A worker thread sleeps precisely until each due time (Atomics.wait takes
 * fractional milliseconds and does not spin) and wakes the main thread, which sends everything due.
 *
 * HTTP: plain keep-alive HTTP/1.1 over `net` sockets, one request at a time per connection, with
 * the request bytes built once and a minimal response parser (status line, content-length or
 * chunked body). Node's `http` client costs ~0.2 ms of CPU per request, which at 2,000 RPS is
 * close to half a core on the load side; this costs a fraction of that. A request due while every
 * connection is busy opens a new one, up to `maxSockets`, and beyond that waits in a FIFO queue:
 * that wait is part of its latency, as it would be for a real client.
 *
 * Timeouts run from the scheduled time too: a request not answered `timeoutMs` after it was due
 * (queued or in flight) counts as a timeout, and its connection is closed. That bounds a run
 * against an overloaded proxy to `durationS + timeoutMs`.
 *
 * Config (one JSON argument): { url, key, body, rate, durationS, warmupS, maxSockets, timeoutMs,
 * unique?: { marker, prefix }, bucketS? }. With `unique`, the one occurrence of `marker` in the
 * body is replaced by `prefix` + the request number (every request a different cache key).
 * Requests scheduled during the warm-up are sent but not recorded.
 * Output: one JSON line (latency samples in microseconds, 0.1 µs resolution).
 */
import net from 'node:net';
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
  unique?: { marker: string; prefix: string };
  /** Width of the timeline buckets in seconds (default 1). */
  bucketS?: number;
}

export interface TimelineBucket {
  /** Seconds from the first measured scheduled time to the start of the bucket. */
  t: number;
  ok: number;
  errors: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
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
  /**
   * OK responses per second from the first measured scheduled time until 99 % of the OK responses
   * had completed (so one slow last response does not lower it; a growing backlog does).
   */
  achievedRps: number;
  /**
   * Requests per second this generator actually handed on over [first scheduled, last handed on]
   * of the measured requests: below the rate when the generator itself fell behind.
   */
  offeredRps: number;
  elapsedS: number;
  /** Scheduled time -> end of response body, OK responses only. */
  latencyUs: number[];
  /** Request written -> end of response body (what a closed-loop tool would report). */
  serviceUs: { p50: number; p90: number; p99: number };
  /** Scheduled time -> handed to a connection or the queue: this generator's own lateness. */
  sendLagUs: { p50: number; p90: number; p99: number; max: number };
  /** Time spent waiting for a free connection (all connections busy). */
  queueUs: { p50: number; p99: number; max: number };
  maxInFlight: number;
  connectionsOpened: number;
  timeline: TimelineBucket[];
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

interface Req {
  i: number;
  due: bigint;
  measured: boolean;
  /** When the generator handed it on (to a connection or the queue). */
  issued: bigint;
  /** When its bytes were written to a socket (0n: not yet). */
  sent: bigint;
  done: boolean;
}

type Outcome = { kind: 'ok' } | { kind: 'status'; status: number } | { kind: 'error'; detail: string } | { kind: 'timeout' };

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

/** One keep-alive connection carrying one request at a time, with its response parser. */
class Conn {
  readonly socket: net.Socket;
  req: Req | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private state: 'head' | 'len' | 'close' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'trailer' = 'head';
  private status = 0;
  private remaining = 0;
  private keepAlive = true;
  private connected = false;
  private pending: Buffer | undefined;

  constructor(
    host: string,
    port: number,
    private readonly onResponse: (c: Conn, req: Req, status: number, keepAlive: boolean) => void,
    private readonly onClose: (c: Conn, req: Req | undefined, detail: string) => void,
  ) {
    this.socket = net.connect({ host, port });
    this.socket.setNoDelay(true);
    let lastError = '';
    this.socket.on('connect', () => {
      this.connected = true;
      if (this.pending) {
        this.socket.write(this.pending);
        this.pending = undefined;
      }
    });
    this.socket.on('data', (d: Buffer) => this.onData(d));
    this.socket.on('error', (err) => (lastError = err.message));
    this.socket.on('close', () => {
      let req = this.req;
      this.req = undefined;
      if (req && this.state === 'close') {
        // A body delimited by the end of the connection: it ends here.
        this.onResponse(this, req, this.status, false);
        req = undefined;
      }
      this.onClose(this, req, lastError || 'connection closed');
    });
  }

  send(req: Req, bytes: Buffer): void {
    this.req = req;
    req.sent = process.hrtime.bigint();
    if (this.connected) this.socket.write(bytes);
    else this.pending = bytes;
  }

  private protocolError(detail: string): void {
    this.socket.destroy(new Error(detail));
  }

  private onData(chunk: Buffer): void {
    if (!this.req) return this.protocolError('data with no request outstanding');
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      switch (this.state) {
        case 'head': {
          const end = this.buf.indexOf(HEAD_END);
          if (end < 0) {
            if (this.buf.length > 65_536) this.protocolError('response head over 64 KiB');
            return;
          }
          const lines = this.buf.toString('latin1', 0, end).split('\r\n');
          this.buf = this.buf.subarray(end + 4);
          const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
          if (!m) return this.protocolError(`bad status line ${JSON.stringify(lines[0])}`);
          this.status = Number(m[1]);
          let length: number | undefined;
          let chunked = false;
          this.keepAlive = !lines[0]!.startsWith('HTTP/1.0');
          for (let i = 1; i < lines.length; i++) {
            const line = lines[i]!;
            const colon = line.indexOf(':');
            if (colon < 0) continue;
            const name = line.slice(0, colon).trim().toLowerCase();
            const value = line
              .slice(colon + 1)
              .trim()
              .toLowerCase();
            if (name === 'content-length') length = Number(value);
            else if (name === 'transfer-encoding') chunked = value.includes('chunked');
            else if (name === 'connection') this.keepAlive = !value.includes('close') && (this.keepAlive || value.includes('keep-alive'));
          }
          if (this.status === 204 || this.status === 304 || (this.status >= 100 && this.status < 200)) {
            if (this.status < 200) continue; // an interim response: the real one follows
            this.remaining = 0;
            this.state = 'len';
          } else if (chunked) this.state = 'chunk-size';
          else if (length !== undefined && Number.isFinite(length)) {
            this.remaining = length;
            this.state = 'len';
          } else {
            this.keepAlive = false;
            this.state = 'close';
          }
          break;
        }
        case 'len': {
          const take = Math.min(this.remaining, this.buf.length);
          this.remaining -= take;
          this.buf = this.buf.subarray(take);
          if (this.remaining > 0) return;
          return this.complete();
        }
        case 'close':
          this.buf = Buffer.alloc(0);
          return;
        case 'chunk-size': {
          const end = this.buf.indexOf(CRLF);
          if (end < 0) return;
          const size = Number.parseInt(this.buf.toString('latin1', 0, end).split(';')[0]!.trim(), 16);
          this.buf = this.buf.subarray(end + 2);
          if (!Number.isFinite(size)) return this.protocolError('bad chunk size');
          if (size === 0) this.state = 'trailer';
          else {
            this.remaining = size;
            this.state = 'chunk-data';
          }
          break;
        }
        case 'chunk-data': {
          const take = Math.min(this.remaining, this.buf.length);
          this.remaining -= take;
          this.buf = this.buf.subarray(take);
          if (this.remaining > 0) return;
          this.state = 'chunk-crlf';
          break;
        }
        case 'chunk-crlf':
          if (this.buf.length < 2) return;
          this.buf = this.buf.subarray(2);
          this.state = 'chunk-size';
          break;
        case 'trailer': {
          const end = this.buf.indexOf(CRLF);
          if (end < 0) return;
          this.buf = this.buf.subarray(end + 2);
          if (end === 0) return this.complete();
          break;
        }
      }
    }
  }

  private complete(): void {
    const req = this.req!;
    this.req = undefined;
    this.state = 'head';
    if (this.buf.length > 0) {
      this.onResponse(this, req, this.status, false);
      return this.protocolError('bytes after the end of a response');
    }
    this.onResponse(this, req, this.status, this.keepAlive);
    if (!this.keepAlive) this.socket.destroy();
  }
}

function main(): void {
  const cfg = readConfig<Config>();
  const url = new URL(cfg.url);
  const host = url.hostname;
  const port = Number(url.port || 80);
  const head = (len: number) =>
    `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${cfg.key}\r\nContent-Length: ${len}\r\n\r\n`;
  const fixed = Buffer.from(head(Buffer.byteLength(cfg.body)) + cfg.body, 'utf8');
  let bodyParts: [string, string] | undefined;
  if (cfg.unique) {
    const at = cfg.body.indexOf(cfg.unique.marker);
    if (at < 0) throw new Error(`unique: marker ${cfg.unique.marker} not in the body`);
    bodyParts = [cfg.body.slice(0, at), cfg.body.slice(at + cfg.unique.marker.length)];
  }
  const requestBytes = (i: number): Buffer => {
    if (!bodyParts) return fixed;
    const body = `${bodyParts[0]}${cfg.unique!.prefix}${i}${bodyParts[1]}`;
    return Buffer.from(head(Buffer.byteLength(body)) + body, 'utf8');
  };

  const intervalNs = 1e9 / cfg.rate;
  const warmupN = Math.round(cfg.warmupS * cfg.rate);
  const measuredN = Math.round(cfg.durationS * cfg.rate);
  const total = warmupN + measuredN;
  const timeoutNs = BigInt(Math.round(cfg.timeoutMs * 1e6));
  const bucketNs = (cfg.bucketS ?? 1) * 1e9;

  const latency: number[] = [];
  const service: number[] = [];
  /** Completion times of the measured OK responses, seconds after the first measured scheduled time. */
  const okEnds: number[] = [];
  const lag: number[] = [];
  const queued: number[] = [];
  const buckets: Array<{ lat: number[]; errors: number }> = [];
  const statusCounts: Record<string, number> = {};
  let ok = 0;
  let non200 = 0;
  let socketErrors = 0;
  let timeouts = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  let maxInFlight = 0;
  let finished = 0;
  let opened = 0;
  let lastEnd = 0n;
  let lastIssued = 0n;

  // Start a little in the future so the ticker and the first sends line up.
  const t0 = process.hrtime.bigint() + 20_000_000n;
  const firstMeasured = t0 + BigInt(Math.round(warmupN * intervalNs));
  const dueAt = (i: number) => t0 + BigInt(Math.round(i * intervalNs));
  const bucketOf = (due: bigint) => {
    const b = Math.max(0, Math.floor(Number(due - firstMeasured) / bucketNs));
    while (buckets.length <= b) buckets.push({ lat: [], errors: 0 });
    return buckets[b]!;
  };

  const conns = new Set<Conn>();
  const idle: Conn[] = [];
  const queue: Req[] = [];
  let queueHead = 0;
  let sweeper: NodeJS.Timeout | undefined;

  const report = () => {
    if (sweeper) clearInterval(sweeper);
    for (const c of conns) c.socket.destroy();
    const timeline: TimelineBucket[] = buckets.map((b, i) => {
      b.lat.sort((x, y) => x - y);
      return {
        t: (i * bucketNs) / 1e9,
        ok: b.lat.length,
        errors: b.errors,
        p50Us: pct(b.lat, 50),
        p99Us: pct(b.lat, 99),
        maxUs: b.lat[b.lat.length - 1] ?? NaN,
      };
    });
    latency.sort((a, b) => a - b);
    service.sort((a, b) => a - b);
    lag.sort((a, b) => a - b);
    queued.sort((a, b) => a - b);
    const elapsedS = Number(lastEnd - firstMeasured) / 1e9;
    okEnds.sort((a, b) => a - b);
    const n99 = Math.max(1, Math.floor(0.99 * okEnds.length));
    const t99 = okEnds[n99 - 1];
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
      achievedRps: t99 !== undefined && t99 > 0 ? n99 / t99 : 0,
      offeredRps: measuredN > 0 && lastIssued > 0n ? measuredN / (Number(lastIssued - firstMeasured) / 1e9 + 1 / cfg.rate) : 0,
      elapsedS,
      latencyUs: latency,
      serviceUs: { p50: pct(service, 50), p90: pct(service, 90), p99: pct(service, 99) },
      sendLagUs: { p50: pct(lag, 50), p90: pct(lag, 90), p99: pct(lag, 99), max: lag[lag.length - 1] ?? NaN },
      queueUs: { p50: pct(queued, 50), p99: pct(queued, 99), max: queued[queued.length - 1] ?? NaN },
      maxInFlight,
      connectionsOpened: opened,
      timeline,
    };
    // Exit explicitly (the ticker worker and idle sockets would keep the process alive), but only
    // once the whole result line is written.
    emit(result).then(() => process.exit(0), fail);
  };

  const finish = (req: Req, o: Outcome) => {
    if (req.done) return;
    req.done = true;
    const end = process.hrtime.bigint();
    inFlight--;
    finished++;
    if (req.measured) {
      lastEnd = end > lastEnd ? end : lastEnd;
      lag.push(nsToUs(req.issued - req.due));
      if (req.sent > 0n) queued.push(nsToUs(req.sent - req.issued));
      const bucket = bucketOf(req.due);
      if (o.kind === 'ok') {
        ok++;
        const l = nsToUs(end - req.due);
        latency.push(l);
        okEnds.push(Number(end - firstMeasured) / 1e9);
        bucket.lat.push(l);
        service.push(nsToUs(end - req.sent));
      } else {
        bucket.errors++;
        if (o.kind === 'status') {
          non200++;
          statusCounts[String(o.status)] = (statusCounts[String(o.status)] ?? 0) + 1;
        } else if (o.kind === 'timeout') {
          timeouts++;
        } else {
          socketErrors++;
          firstError ??= o.detail;
        }
      }
    }
    if (finished === total) report();
  };

  const nextQueued = (): Req | undefined => {
    while (queueHead < queue.length) {
      const r = queue[queueHead++]!;
      if (!r.done) return r;
    }
    return undefined;
  };

  const openConn = (req: Req) => {
    opened++;
    const c = new Conn(host, port, onResponse, onClose);
    conns.add(c);
    c.send(req, requestBytes(req.i));
  };

  function onResponse(c: Conn, req: Req, status: number, keepAlive: boolean): void {
    finish(req, status === 200 ? { kind: 'ok' } : { kind: 'status', status });
    if (!keepAlive) return; // closing: onClose replaces it if needed
    const next = nextQueued();
    if (next) c.send(next, requestBytes(next.i));
    else idle.push(c);
  }

  function onClose(c: Conn, req: Req | undefined, detail: string): void {
    conns.delete(c);
    const at = idle.indexOf(c);
    if (at >= 0) idle.splice(at, 1);
    if (req) finish(req, { kind: 'error', detail });
    if (conns.size < cfg.maxSockets) {
      const next = nextQueued();
      if (next) openConn(next);
    }
  }

  const dispatch = (req: Req) => {
    const c = idle.pop();
    if (c) c.send(req, requestBytes(req.i));
    else if (conns.size < cfg.maxSockets) openConn(req);
    else queue.push(req);
  };

  // Timeouts, counted from the scheduled time: queued requests (oldest first) and in-flight ones.
  sweeper = setInterval(() => {
    const limit = process.hrtime.bigint() - timeoutNs;
    while (queueHead < queue.length && queue[queueHead]!.due < limit) {
      const r = queue[queueHead++]!;
      finish(r, { kind: 'timeout' });
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
    for (const c of conns) {
      if (c.req && c.req.due < limit) {
        const r = c.req;
        c.req = undefined;
        finish(r, { kind: 'timeout' });
        c.socket.destroy();
      }
    }
  }, 20);

  if (total === 0) return report();

  let next = 0;
  const pump = () => {
    const now = process.hrtime.bigint();
    while (next < total && dueAt(next) <= now) {
      const i = next++;
      const req: Req = { i, due: dueAt(i), measured: i >= warmupN, issued: process.hrtime.bigint(), sent: 0n, done: false };
      if (req.measured) lastIssued = req.issued;
      inFlight++;
      if (inFlight > maxInFlight) maxInFlight = inFlight;
      dispatch(req);
    }
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
