/**
 * The processes under test, each a separate OS process on loopback:
 *   simulator  node dist/simulators/openai/main.js   (no API key check, zero latency)
 *   processor  node dist/ext-proc/src/main.js        (LOG_LEVEL=info, stdout to a file or /dev/null)
 *   Envoy "bare"     renderBootstrap without extProc, LLM routes fixed to the simulator
 *   Envoy "gateway"  renderBootstrap with extProc -> processor, provider clusters -> simulator
 * and, only for the cache-hit scenarios, a second processor with the response cache on (in-process
 * store, or Redis with --redis) behind its own gateway Envoy.
 *
 * This module's exports are also the interface a later tree's benchmark uses to run this tree as
 * its "baseline" side (--baseline-ref): keep startProcessor and startGatewayEnvoy compatible.
 * It depends only on envoy/bootstrap.ts, models/catalog.yaml and the built entry points
 * (dist/ext-proc/src/main.js, dist/simulators/openai/main.js), not on the processor's modules.
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { renderBootstrap, type ExtProcEndpoint, type UpstreamCluster } from '../../envoy/bootstrap.js';
import { workerSocketPath } from '../../ext-proc/src/workers/count.js';
import { startEnvoy, type EnvoyProcess } from '../../scripts/lib/envoy-process.js';
import { freePort } from '../../scripts/lib/ports.js';
import { benchRoot as repoRoot } from './paths.js';
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
  /** Its workers' Unix sockets, when it was started with `unixSockets`. */
  sockets?: string[];
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
  /**
   * Response cache. Absent: off (CACHE_TTL_SECONDS=0), which every overhead scenario uses. Present:
   * on with this TTL, in the in-process store, or in Redis when `redisUrl` is set.
   */
  cache?: { ttlSeconds: number; redisUrl?: string };
  /** Name in the process list (teardown messages). */
  name?: string;
  /**
   * Worker processes the processor should run (PROCESSOR_WORKERS). Absent: the variable is not
   * set and the processor decides.
   */
  workers?: number;
  /**
   * Envoy reaches the processor over Unix sockets, one per worker (GRPC_SOCKET_DIR), rather than
   * TCP: how `npm start` runs it, and the only way Envoy balances streams across workers.
   */
  unixSockets?: boolean;
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
    // The overhead loads repeat one request: with the cache on, the gateway would answer them itself
    // and the comparison with bare Envoy would measure the cache, not the processor's overhead.
    // Only the cache-hit scenarios' own processor turns it on.
    CACHE_TTL_SECONDS: o.cache ? String(o.cache.ttlSeconds) : '0',
    ...(o.cache?.redisUrl ? { REDIS_URL: o.cache.redisUrl } : {}),
    // The production default, stated explicitly so a LOG_LEVEL in the caller's shell can't leak in.
    LOG_LEVEL: 'info',
    ...(o.workers !== undefined ? { PROCESSOR_WORKERS: String(o.workers) } : {}),
  };
  const socketDir = o.unixSockets ? mkdtempSync(path.join(os.tmpdir(), 'bench-sock-')) : undefined;
  if (socketDir) env.GRPC_SOCKET_DIR = socketDir;
  const fd = openSync(o.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawnTracked(o.name ?? 'processor', process.execPath, [...(o.nodeFlags ?? []), distFile('ext-proc/src/main.js')], {
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
  const sockets = socketDir ? Array.from({ length: o.workers ?? 1 }, (_, i) => workerSocketPath(socketDir, i)) : undefined;
  // Every worker's socket must be there before an Envoy is pointed at them.
  while (sockets && !sockets.every((s) => existsSync(s))) {
    if (Date.now() > deadline) throw new Error(`processor sockets not there after 20 s\n${err}`);
    await sleep(50);
  }
  return {
    grpcPort,
    metricsPort,
    child,
    sockets,
    stderr: () => err,
    stop: async () => {
      const code = await stopChild(child, 15_000);
      if (socketDir) rmSync(socketDir, { recursive: true, force: true });
      return code;
    },
  };
}

// ---- Envoys -----------------------------------------------------------------------------------

export interface ProxyUnderTest {
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

export async function startBareEnvoy(simPort: number, concurrency: number, runtime: EnvoyRuntime = {}): Promise<ProxyUnderTest> {
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
  /** The processor's Unix sockets (one per worker); absent: its TCP port. */
  sockets?: string[],
): Promise<ProxyUnderTest> {
  const listenPort = await freePort();
  const adminPort = await freePort();
  // Every provider cluster of the catalog points at the simulator (only openai is used).
  const upstreams: UpstreamCluster[] = catalogClusters().map((name) => ({ name, host: '127.0.0.1', port: simPort, tls: false }));
  const config = renderBootstrap({
    listenPort,
    adminPort,
    ...extProcEndpoints(grpcPort, sockets),
    upstreams,
    accessLog: '/dev/null',
  });
  const envoy = await startEnvoy(withRuntime(config, runtime), { adminPort, concurrency });
  track(name, envoy.child);
  return { target: 'gateway', url: `http://127.0.0.1:${listenPort}${CHAT_PATH}`, envoy };
}

/**
 * The provider clusters the processor can route to: one per provider of models/catalog.yaml, named
 * after the provider's id (the catalog's rule). Read from the YAML itself, so that the benchmark
 * does not depend on the processor's catalog loader.
 */
export function catalogClusters(): string[] {
  const doc = parseYaml(readFileSync(path.join(repoRoot(), 'models', 'catalog.yaml'), 'utf8')) as { providers?: Record<string, unknown> } | null;
  const names = Object.keys(doc?.providers ?? {});
  if (names.length === 0) throw new Error('models/catalog.yaml lists no providers');
  return names;
}

/** Envoy's downstream counters for the listener (and the ext_proc filter's, if any). */
export async function envoyCounters(p: ProxyUnderTest): Promise<Record<string, number>> {
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

export async function envoyVersion(p: ProxyUnderTest): Promise<string> {
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
    http
      .get(url, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

function post(url: string, key: string, body: string, extraHeaders: Record<string, string> = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.from(body);
    const req = http.request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: { ...extraHeaders, 'content-type': 'application/json', 'content-length': String(buf.length), authorization: `Bearer ${key}` },
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
  /** Gateway only: `x-gateway-cache` of the first 200 (`bypass` with the cache off, `miss` on a fresh cache). */
  cacheHeader?: string | undefined;
  streamStatus: number;
  streamComplete: boolean;
  /** Gateway only: a wrong key must be refused (proves the processor is really on the path). */
  badKeyStatus?: number;
}

/**
 * One request of each kind before any load: the benchmark refuses to measure a path that does not
 * answer 200 with the simulator's completion (a fast 401/404 would otherwise look like low latency).
 * Retries for a few seconds while Envoy's health check of the processor comes up.
 * On the gateway, the first 200 must carry `x-gateway-cache: <expectCache>`: `bypass` proves the
 * overhead scenarios' processor runs with the cache off (every call goes to the simulator).
 */
export async function preflight(
  p: ProxyUnderTest,
  key: string,
  body: string,
  streamBody: string,
  expectCache: 'bypass' | 'miss' = 'bypass',
): Promise<PreflightReport> {
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
      throw new Error(
        `pre-flight: gateway answered 200 without x-gateway-model: ${BENCH_MODEL} / x-gateway-provider: openai (got ${report.gatewayModel} / ${report.gatewayProvider})`,
      );
    }
    report.cacheHeader = h('x-gateway-cache');
    if (report.cacheHeader !== expectCache) {
      throw new Error(`pre-flight: gateway answered x-gateway-cache: ${report.cacheHeader}, expected ${expectCache}`);
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

// ---- cache-hit checks -------------------------------------------------------------------------

/**
 * Requests the simulator has received so far, this probe included. The simulator CLI has no
 * counter endpoint, but it numbers every request it receives (models, chat, errors alike) and
 * puts that number in `x-request-id: req_<16 hex instance prefix><16 hex number>`. So one
 * `GET /v1/models` straight to the simulator (not through an Envoy) reads the count; between two
 * probes the simulator received `after - before - 1` other requests. Undefined if the id does not
 * have that shape (then only the processor's metrics are checked).
 */
export async function simulatorRequestCount(sim: Simulator): Promise<number | undefined> {
  const v = await new Promise<string | string[] | undefined>((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${sim.port}/v1/models`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers['x-request-id']));
      })
      .on('error', reject);
  });
  const m = /^req_[0-9a-f]{16}([0-9a-f]{16})$/.exec(Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));
  return m ? Number.parseInt(m[1]!, 16) : undefined;
}

/** Requests the simulator received between two probes of simulatorRequestCount. */
export function simulatorCallsBetween(before: number | undefined, after: number | undefined): number | undefined {
  return before === undefined || after === undefined ? undefined : after - before - 1;
}

export interface CacheCounters {
  /** llm_gateway_cache_lookups_total, summed over tenants and models. */
  hit: number;
  miss: number;
  /** llm_gateway_cache_writes_total{result="stored"}. */
  stored: number;
}

/** The processor's cache counters, from its Prometheus endpoint. */
export async function processorCacheCounters(proc: Processor): Promise<CacheCounters> {
  const res = await fetch(`http://127.0.0.1:${proc.metricsPort}/metrics`);
  if (res.status !== 200) throw new Error(`processor /metrics answered ${res.status}`);
  const text = await res.text();
  const out: CacheCounters = { hit: 0, miss: 0, stored: 0 };
  for (const line of text.split('\n')) {
    const m = /^llm_gateway_cache_(lookups|writes)_total\{([^}]*)\} (\S+)$/.exec(line.trim());
    if (!m) continue;
    const result = /(?:^|,)result="([^"]*)"/.exec(m[2]!)?.[1];
    const n = Number(m[3]);
    if (m[1] === 'lookups' && result === 'hit') out.hit += n;
    else if (m[1] === 'lookups' && result === 'miss') out.miss += n;
    else if (m[1] === 'writes' && result === 'stored') out.stored += n;
  }
  return out;
}

export interface CacheHitPreflight {
  /** Milliseconds from the end of the gateway pre-flight until the request first came back a hit. */
  firstHitAfterMs: number;
  /** The checked repeat: status and x-gateway-cache. */
  hitStatus: number;
  hitHeader: string | undefined;
  /** Requests the simulator received for the checked repeat (must be 0); undefined: count unreadable. */
  simulatorCallsForHit: number | undefined;
  /** Growth of llm_gateway_cache_lookups_total{result="hit"} for the checked repeat (must be 1). */
  hitsCounted: number;
  /** The same request with `cache-control: no-store`: x-gateway-cache and simulator calls (must be bypass / 1). */
  noStoreHeader: string | undefined;
  noStoreSimulatorCalls: number | undefined;
}

/**
 * Before the cache-hit loads: the gateway with the cache on must answer a repeat of the bench
 * request from the cache (200, a chat completion, `x-gateway-cache: hit`) without a simulator call,
 * and count it as a hit in its metrics; and `cache-control: no-store` must still reach the simulator.
 * Call after preflight(), which stored the answer (the store is written asynchronously: poll).
 */
export async function preflightCacheHit(p: ProxyUnderTest, proc: Processor, sim: Simulator, key: string, body: string): Promise<CacheHitPreflight> {
  const t0 = Date.now();
  for (;;) {
    const r = await post(p.url, key, body);
    if (r.status === 200 && r.headers['x-gateway-cache'] === 'hit') break;
    if (Date.now() - t0 > 5_000) {
      throw new Error(
        `pre-flight (cache): the repeated request never came back a hit (last: ${r.status}, x-gateway-cache: ${String(r.headers['x-gateway-cache'])})`,
      );
    }
    await sleep(50);
  }
  const firstHitAfterMs = Date.now() - t0;

  const s0 = await simulatorRequestCount(sim);
  const m0 = await processorCacheCounters(proc);
  const hit = await post(p.url, key, body);
  const s1 = await simulatorRequestCount(sim);
  const m1 = await processorCacheCounters(proc);
  const hitHeader = one(hit.headers['x-gateway-cache']);
  const parsed = JSON.parse(hit.body) as { object?: string; choices?: Array<{ message?: { content?: string } }> };
  if (hit.status !== 200 || hitHeader !== 'hit' || parsed.object !== 'chat.completion' || typeof parsed.choices?.[0]?.message?.content !== 'string') {
    throw new Error(`pre-flight (cache): repeat answered ${hit.status}, x-gateway-cache: ${hitHeader}: ${hit.body.slice(0, 300)}`);
  }
  const simulatorCallsForHit = simulatorCallsBetween(s0, s1);
  if (simulatorCallsForHit !== undefined && simulatorCallsForHit !== 0) {
    throw new Error(`pre-flight (cache): a hit reached the simulator (${simulatorCallsForHit} request(s))`);
  }
  if (m1.hit - m0.hit !== 1 || m1.miss !== m0.miss) {
    throw new Error(`pre-flight (cache): one hit moved the processor's cache lookups by hit +${m1.hit - m0.hit}, miss +${m1.miss - m0.miss}`);
  }

  const s2 = await simulatorRequestCount(sim);
  const noStore = await post(p.url, key, body, { 'cache-control': 'no-store' });
  const s3 = await simulatorRequestCount(sim);
  const noStoreHeader = one(noStore.headers['x-gateway-cache']);
  const noStoreSimulatorCalls = simulatorCallsBetween(s2, s3);
  if (noStore.status !== 200 || noStoreHeader !== 'bypass' || (noStoreSimulatorCalls !== undefined && noStoreSimulatorCalls !== 1)) {
    throw new Error(
      `pre-flight (cache): cache-control: no-store answered ${noStore.status}, x-gateway-cache: ${noStoreHeader}, simulator calls ${noStoreSimulatorCalls}`,
    );
  }
  return { firstHitAfterMs, hitStatus: hit.status, hitHeader, simulatorCallsForHit, hitsCounted: m1.hit - m0.hit, noStoreHeader, noStoreSimulatorCalls };
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function extProcEndpoints(grpcPort: number, sockets: string[] | undefined): { extProc: ExtProcEndpoint; extProcReplicas?: ExtProcEndpoint[] } {
  if (!sockets?.length) return { extProc: { host: '127.0.0.1', port: grpcPort } };
  return { extProc: { pipe: sockets[0]! }, extProcReplicas: sockets.slice(1).map((pipe) => ({ pipe })) };
}
