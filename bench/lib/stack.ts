/**
 * The processes under test, each a separate OS process on loopback:
 *   simulator  node dist/simulators/openai/main.js   (no API key check, zero latency)
 *   processor  node dist/ext-proc/src/main.js        (LOG_LEVEL=info, stdout to a file or /dev/null)
 *   Envoy "bare"     renderBootstrap without extProc, LLM routes fixed to the simulator
 *   Envoy "gateway"  renderBootstrap with extProc -> processor, provider clusters -> simulator
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { loadCatalog } from '../../ext-proc/src/catalog/load.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { renderBootstrap, type UpstreamCluster } from '../../envoy/bootstrap.js';
import { startEnvoy, type EnvoyProcess } from '../../scripts/lib/envoy-process.js';
import { freePort } from '../../scripts/lib/ports.js';
import { BENCH_MODEL, CHAT_PATH } from './payload.js';
import { spawnTracked, stopChild, track } from './procs.js';

export type Target = 'bare' | 'gateway';

/** Environment for child processes: only what they need, so the caller's shell can't skew a run. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return env;
}

function distFile(rel: string): string {
  const file = path.join(repoRoot(), 'dist', rel);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return file;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- simulator --------------------------------------------------------------------------------

export interface Simulator {
  port: number;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

export async function startSimulator(): Promise<Simulator> {
  const port = await freePort();
  const child = spawnTracked('simulator', process.execPath, [distFile('simulators/openai/main.js')], {
    env: { ...baseEnv(), SIM_HOST: '127.0.0.1', SIM_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`simulator not ready after 15 s:\n${out}${err}`)), 15_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"simulator ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited (${code}) before it was ready:\n${out}${err}`));
    });
  });
  child.stdout?.resume();
  return { port, child, stop: () => stopChild(child) };
}

// ---- processor --------------------------------------------------------------------------------

export interface Processor {
  grpcPort: number;
  metricsPort: number;
  child: ChildProcess;
  /** Last lines of its stderr (its logs go to stdout, which is the log file or /dev/null). */
  stderr(): string;
  stop(): Promise<number | null>;
}

export interface ProcessorOptions {
  gatewayKey: string;
  providerKey: string;
  /** Where the processor's stdout (its JSON logs) goes. */
  logFile: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
}

export async function startProcessor(o: ProcessorOptions): Promise<Processor> {
  const grpcPort = await freePort();
  const metricsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...baseEnv(),
    GRPC_HOST: '127.0.0.1',
    GRPC_PORT: String(grpcPort),
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: String(metricsPort),
    GATEWAY_KEYS: `bench:${o.gatewayKey}`,
    OPENAI_API_KEY: o.providerKey,
    // The loads repeat one request: with the cache on, the gateway would answer them itself and
    // the comparison with bare Envoy would measure the cache, not the processor's overhead.
    CACHE_TTL_SECONDS: '0',
    // The production default, stated explicitly so a LOG_LEVEL in the caller's shell can't leak in.
    LOG_LEVEL: 'info',
  };
  const fd = openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawnTracked('processor', process.execPath, [...(o.nodeFlags ?? []), distFile('ext-proc/src/main.js')], {
      env,
      stdio: ['ignore', fd, 'pipe'],
    });
  } finally {
    closeSync(fd);
  }
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `processor exited (${child.exitCode}) during start-up; its logs went to ${o.logFile}` +
          (o.logFile === '/dev/null' ? ' (re-run with --processor-log <file> to keep them)' : '') +
          `\n${err}`,
      );
    }
    const status = await httpGetStatus(`http://127.0.0.1:${metricsPort}/metrics`).catch(() => 0);
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`processor not ready after 20 s\n${err}`);
    await sleep(100);
  }
  return { grpcPort, metricsPort, child, stderr: () => err, stop: () => stopChild(child, 15_000) };
}

// ---- Envoys -----------------------------------------------------------------------------------

export interface Proxy {
  target: Target;
  url: string;
  envoy: EnvoyProcess;
}

/** Envoy runtime overrides (`--envoy-runtime key=value`), applied to both proxies alike. */
export type EnvoyRuntime = Record<string, string | number | boolean>;

function withRuntime(config: Record<string, unknown>, runtime: EnvoyRuntime): Record<string, unknown> {
  if (Object.keys(runtime).length === 0) return config;
  return { ...config, layered_runtime: { layers: [{ name: 'bench_overrides', static_layer: runtime }] } };
}

export async function startBareEnvoy(simPort: number, concurrency: number, runtime: EnvoyRuntime = {}): Promise<Proxy> {
  const listenPort = await freePort();
  const adminPort = await freePort();
  const config = renderBootstrap({
    listenPort,
    adminPort,
    upstreams: [{ name: 'openai', host: '127.0.0.1', port: simPort, tls: false }],
    fixedCluster: 'openai',
    accessLog: '/dev/null',
  });
  const envoy = await startEnvoy(withRuntime(config, runtime), { adminPort, concurrency });
  track('envoy-bare', envoy.child);
  return { target: 'bare', url: `http://127.0.0.1:${listenPort}${CHAT_PATH}`, envoy };
}

export async function startGatewayEnvoy(
  simPort: number,
  grpcPort: number,
  concurrency: number,
  runtime: EnvoyRuntime = {},
  name = 'envoy-gateway',
): Promise<Proxy> {
  const listenPort = await freePort();
  const adminPort = await freePort();
  const catalog = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml'));
  // Every provider cluster of the catalog points at the simulator (only openai is used).
  const upstreams: UpstreamCluster[] = [...catalog.providers.values()].map((p) => ({ name: p.cluster, host: '127.0.0.1', port: simPort, tls: false }));
  const config = renderBootstrap({
    listenPort,
    adminPort,
    extProc: { host: '127.0.0.1', port: grpcPort },
    upstreams,
    accessLog: '/dev/null',
  });
  const envoy = await startEnvoy(withRuntime(config, runtime), { adminPort, concurrency });
  track(name, envoy.child);
  return { target: 'gateway', url: `http://127.0.0.1:${listenPort}${CHAT_PATH}`, envoy };
}

/** Envoy's downstream counters for the listener (and the ext_proc filter's, if any). */
export async function envoyCounters(p: Proxy): Promise<Record<string, number>> {
  const res = await fetch(`${p.envoy.adminUrl}/stats?filter=${encodeURIComponent('^http\\.gateway\\.(downstream_rq_(completed|[1-5]xx)|ext_proc\\.)')}`);
  const text = await res.text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^http\.gateway\.([\w.]+): (\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

export function counterDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export async function envoyVersion(p: Proxy): Promise<string> {
  try {
    const r = (await (await fetch(`${p.envoy.adminUrl}/server_info`)).json()) as { version?: string };
    return r.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---- pre-flight -------------------------------------------------------------------------------

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function httpGetStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', reject);
  });
}

function post(url: string, key: string, body: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.from(body);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(buf.length), authorization: `Bearer ${key}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(buf);
  });
}

export interface PreflightReport {
  target: Target;
  status: number;
  gatewayModel: string | undefined;
  gatewayProvider: string | undefined;
  costHeader: string | undefined;
  streamStatus: number;
  streamComplete: boolean;
  /** Gateway only: a wrong key must be refused (proves the processor is really on the path). */
  badKeyStatus?: number;
}

/**
 * One request of each kind before any load: the benchmark refuses to measure a path that does not
 * answer 200 with the simulator's completion (a fast 401/404 would otherwise look like low latency).
 * Retries for a few seconds while Envoy's health check of the processor comes up.
 */
export async function preflight(p: Proxy, key: string, body: string, streamBody: string): Promise<PreflightReport> {
  const deadline = Date.now() + 15_000;
  let last: HttpResult | undefined;
  let lastErr = '';
  for (;;) {
    try {
      last = await post(p.url, key, body);
      if (last.status === 200) break;
    } catch (err) {
      lastErr = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new Error(`pre-flight: ${p.target} answered ${last ? `${last.status}: ${last.body.slice(0, 500)}` : lastErr}`);
    }
    await sleep(250);
  }
  const parsed = JSON.parse(last.body) as { object?: string; choices?: Array<{ message?: { content?: string } }> };
  if (parsed.object !== 'chat.completion' || typeof parsed.choices?.[0]?.message?.content !== 'string') {
    throw new Error(`pre-flight: ${p.target} answered 200 but not a chat completion: ${last.body.slice(0, 300)}`);
  }
  const h = (name: string) => {
    const v = last!.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const report: PreflightReport = {
    target: p.target,
    status: last.status,
    gatewayModel: h('x-gateway-model'),
    gatewayProvider: h('x-gateway-provider'),
    costHeader: h('x-gateway-cost-usd'),
    streamStatus: 0,
    streamComplete: false,
  };
  if (p.target === 'gateway') {
    if (report.gatewayModel !== BENCH_MODEL || report.gatewayProvider !== 'openai') {
      throw new Error(`pre-flight: gateway answered 200 without x-gateway-model: ${BENCH_MODEL} / x-gateway-provider: openai (got ${report.gatewayModel} / ${report.gatewayProvider})`);
    }
    const bad = await post(p.url, `${key}-wrong`, body);
    report.badKeyStatus = bad.status;
    if (bad.status !== 401) throw new Error(`pre-flight: gateway accepted a wrong key (status ${bad.status})`);
  } else if (report.gatewayModel !== undefined) {
    throw new Error('pre-flight: the bare proxy answered with x-gateway-model: it is not bare');
  }
  const s = await post(p.url, key, streamBody);
  report.streamStatus = s.status;
  report.streamComplete = s.body.endsWith('data: [DONE]\n\n');
  if (s.status !== 200 || !report.streamComplete) {
    throw new Error(`pre-flight: ${p.target} stream answered ${s.status}: ${s.body.slice(0, 300)}`);
  }
  return report;
}
