/**
 * Streaming client: `connections` keep-alive connections (default 1), each carrying one
 * `stream: true` chat call at a time (a closed loop), for `durationS` seconds after a `warmupS`
 * warm-up. For each call it records the time to the first
 * response body byte (the first SSE event: what a user waits for before text appears) and the
 * time to the end of the stream. A call counts as OK only if it is a 200 `text/event-stream`
 * that ends with `data: [DONE]`.
 *
 * Config (one JSON argument): { url, key, body, api?, connections?, durationS, warmupS, timeoutMs }.
 * Output: one JSON line (samples in microseconds).
 */
import http from 'node:http';
import { emit, fail, nsToUs, readConfig } from './common.js';

interface Config {
  url: string;
  key: string;
  body: string;
  /** The caller's API (default openai): its path, key header and last event. */
  api?: 'openai' | 'anthropic';
  /** Concurrent calls, each on its own keep-alive connection (default 1). */
  connections?: number;
  durationS: number;
  warmupS: number;
  timeoutMs: number;
}

export interface StreamResult {
  durationS: number;
  elapsedS: number;
  ok: number;
  non200: number;
  statusCounts: Record<string, number>;
  /** 200 responses that were not a complete event stream. */
  badStreams: number;
  socketErrors: number;
  timeouts: number;
  firstError: string | undefined;
  rps: number;
  ttfbUs: number[];
  totalUs: number[];
  meanEvents: number;
}

type Outcome =
  | { kind: 'ok'; ttfbNs: bigint; totalNs: bigint; events: number }
  | { kind: 'status'; status: number }
  | { kind: 'bad'; detail: string }
  | { kind: 'error'; detail: string }
  | { kind: 'timeout' };

/** How each caller API's stream ends. */
const LAST_EVENT: Record<NonNullable<Config['api']>, (event: string) => boolean> = {
  openai: (e) => e === 'data: [DONE]',
  anthropic: (e) => e.startsWith('event: message_stop'),
};

function once(
  agent: http.Agent,
  url: URL,
  headers: Record<string, string>,
  body: Buffer,
  timeoutMs: number,
  isLast: (event: string) => boolean,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const start = process.hrtime.bigint();
    let settled = false;
    const settle = (o: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    const req = http.request({ agent, hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      const status = res.statusCode ?? 0;
      let first: bigint | undefined;
      // SSE events end with a blank line; `rest` is the unfinished event after the last one.
      let rest = '';
      let lastEvent = '';
      let events = 0;
      res.on('data', (chunk: Buffer) => {
        first ??= process.hrtime.bigint();
        const parts = (rest + chunk.toString('latin1')).split('\n\n');
        events += parts.length - 1;
        if (parts.length > 1) lastEvent = parts[parts.length - 2]!;
        rest = parts[parts.length - 1]!;
      });
      res.on('error', (err) => settle({ kind: 'error', detail: err.message }));
      res.on('end', () => {
        const end = process.hrtime.bigint();
        if (status !== 200) return settle({ kind: 'status', status });
        const type = String(res.headers['content-type'] ?? '');
        if (!type.startsWith('text/event-stream') || !isLast(lastEvent) || rest !== '' || first === undefined) {
          return settle({
            kind: 'bad',
            detail: `content-type ${type}, last event ${JSON.stringify(lastEvent.slice(-60))}, trailing ${JSON.stringify(rest.slice(-60))}`,
          });
        }
        settle({ kind: 'ok', ttfbNs: first - start, totalNs: end - start, events });
      });
    });
    req.setTimeout(timeoutMs, () => {
      settle({ kind: 'timeout' });
      req.destroy();
    });
    req.on('error', (err) => settle({ kind: 'error', detail: err.message }));
    req.end(body);
  });
}

async function main(): Promise<void> {
  const cfg = readConfig<Config>();
  const url = new URL(cfg.url);
  const connections = Math.max(1, Math.floor(cfg.connections ?? 1));
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const loops = <T>(fn: () => Promise<T>) => Promise.all(Array.from({ length: connections }, fn));
  const body = Buffer.from(cfg.body, 'utf8');
  const api = cfg.api ?? 'openai';
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(body.length),
    accept: 'text/event-stream',
    ...(api === 'anthropic' ? { 'x-api-key': cfg.key, 'anthropic-version': '2023-06-01' } : { authorization: `Bearer ${cfg.key}` }),
  };
  const isLast = LAST_EVENT[api];

  const warmEnd = process.hrtime.bigint() + BigInt(Math.round(cfg.warmupS * 1e9));
  await loops(async () => {
    while (process.hrtime.bigint() < warmEnd) await once(agent, url, headers, body, cfg.timeoutMs, isLast);
  });

  const r: StreamResult = {
    durationS: cfg.durationS,
    elapsedS: 0,
    ok: 0,
    non200: 0,
    statusCounts: {},
    badStreams: 0,
    socketErrors: 0,
    timeouts: 0,
    firstError: undefined,
    rps: 0,
    ttfbUs: [],
    totalUs: [],
    meanEvents: 0,
  };
  let events = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(cfg.durationS * 1e9));
  await loops(async () => {
    while (process.hrtime.bigint() < end) {
      const o = await once(agent, url, headers, body, cfg.timeoutMs, isLast);
      switch (o.kind) {
        case 'ok':
          r.ok++;
          r.ttfbUs.push(nsToUs(o.ttfbNs));
          r.totalUs.push(nsToUs(o.totalNs));
          events += o.events;
          break;
        case 'status':
          r.non200++;
          r.statusCounts[String(o.status)] = (r.statusCounts[String(o.status)] ?? 0) + 1;
          break;
        case 'bad':
          r.badStreams++;
          r.firstError ??= o.detail;
          break;
        case 'timeout':
          r.timeouts++;
          break;
        case 'error':
          r.socketErrors++;
          r.firstError ??= o.detail;
          break;
      }
    }
  });
  r.elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  r.rps = r.ok / r.elapsedS;
  r.meanEvents = r.ok > 0 ? events / r.ok : 0;
  agent.destroy();
  await emit(r);
}

main().catch(fail);
