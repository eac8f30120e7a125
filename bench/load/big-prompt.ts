/**
 * Large-prompt client: `calls` sequential chat calls (one keep-alive connection, one call at a
 * time) whose body is an OpenAI chat request of `bodyBytes` bytes, built here (an 8 MiB body
 * cannot travel on a command line). Latency runs from the first byte written to the end of the
 * response body. A call counts as OK only if it is a 200 whose body is a chat completion.
 * `warmupCalls` calls are made first and not recorded.
 *
 * Config (one JSON argument): { url, key, bodyBytes, calls, warmupCalls, timeoutMs }.
 * Output: one JSON line (samples in microseconds).
 */
import http from 'node:http';
import { bigChatBody } from '../lib/payload.js';
import { emit, fail, nsToUs, readConfig } from './common.js';

interface Config {
  url: string;
  key: string;
  bodyBytes: number;
  calls: number;
  warmupCalls: number;
  timeoutMs: number;
}

export interface BigPromptResult {
  bodyBytes: number;
  calls: number;
  ok: number;
  non200: number;
  statusCounts: Record<string, number>;
  /** 200s whose body was not a chat completion. */
  badBodies: number;
  socketErrors: number;
  timeouts: number;
  firstError: string | undefined;
  elapsedS: number;
  /** Per OK call, in call order. */
  latencyUs: number[];
}

type Outcome =
  | { kind: 'ok'; ns: bigint }
  | { kind: 'status'; status: number }
  | { kind: 'bad'; detail: string }
  | { kind: 'error'; detail: string }
  | { kind: 'timeout' };

function once(agent: http.Agent, url: URL, headers: Record<string, string>, body: Buffer, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (o: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    const start = process.hrtime.bigint();
    const req = http.request({ agent, hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => settle({ kind: 'error', detail: err.message }));
      res.on('end', () => {
        const end = process.hrtime.bigint();
        if (res.statusCode !== 200) return settle({ kind: 'status', status: res.statusCode ?? 0 });
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          const parsed = JSON.parse(text) as { object?: string };
          if (parsed.object !== 'chat.completion') return settle({ kind: 'bad', detail: `200 but not a chat completion: ${text.slice(0, 120)}` });
        } catch {
          return settle({ kind: 'bad', detail: `200 but not JSON: ${text.slice(0, 120)}` });
        }
        settle({ kind: 'ok', ns: end - start });
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
  const body = Buffer.from(bigChatBody(cfg.bodyBytes), 'utf8');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const headers = { 'content-type': 'application/json', 'content-length': String(body.length), authorization: `Bearer ${cfg.key}` };
  for (let i = 0; i < cfg.warmupCalls; i++) await once(agent, url, headers, body, cfg.timeoutMs);

  const r: BigPromptResult = {
    bodyBytes: body.length,
    calls: cfg.calls,
    ok: 0,
    non200: 0,
    statusCounts: {},
    badBodies: 0,
    socketErrors: 0,
    timeouts: 0,
    firstError: undefined,
    elapsedS: 0,
    latencyUs: [],
  };
  const start = process.hrtime.bigint();
  for (let i = 0; i < cfg.calls; i++) {
    const o = await once(agent, url, headers, body, cfg.timeoutMs);
    if (o.kind === 'ok') {
      r.ok++;
      r.latencyUs.push(nsToUs(o.ns));
    } else if (o.kind === 'status') {
      r.non200++;
      r.statusCounts[String(o.status)] = (r.statusCounts[String(o.status)] ?? 0) + 1;
    } else if (o.kind === 'bad') {
      r.badBodies++;
      r.firstError ??= o.detail;
    } else if (o.kind === 'timeout') {
      r.timeouts++;
    } else {
      r.socketErrors++;
      r.firstError ??= o.detail;
    }
  }
  r.elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  agent.destroy();
  await emit(r);
}

main().catch(fail);
