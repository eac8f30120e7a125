/**
 * Gateway benchmark: the added cost of the processor, measured as Envoy + processor ("gateway")
 * against Envoy alone ("bare") in front of the same simulator, in one run, interleaved
 * (bare, gateway, bare, gateway, ...). See bench/README.md.
 *
 *   node dist/bench/run.js [--duration <s>] [--quick] [--profile] [--rounds <n>] [--rate <rps>]
 *                          [--scenarios seq,open,c16,c64,stream,hit,hit-c16] [--redis]
 *                          [--envoy-concurrency <n>] [--processor-log <file>]
 *
 * The overhead scenarios (seq, open, c16, c64, stream) use a processor with the response cache
 * off. The cache-hit scenarios (hit, hit-c16) use a second processor with the cache on, behind its
 * own gateway Envoy, started when the first of them runs.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { cpuShare, snapshot, type CpuSnapshot } from './lib/cpu.js';
import { Dist, ms, summaryMs } from './lib/dist.js';
import { killAllSync, liveProcesses, runToEnd, stopAll, stopChild } from './lib/procs.js';
import { formatProfile, summariseProfile, type ProfileSummary } from './lib/profile.js';
import { measureDecisionCost } from './lib/decision-cost.js';
import { anthropicStreamBody, BENCH_MODEL, CHAT_PATH, chatBody, USER_TEXT_CHARS } from './lib/payload.js';
import { checkTargets, HIT_SCENARIOS, resultsTable, targetsTable, type ErrorCounts, type PooledSide, type ScenarioId, type ScenarioSummary } from './lib/report.js';
import { REDIS_BIN, startRedis, type RedisServer } from './lib/redis.js';
import {
  counterDelta,
  envoyCounters,
  envoyVersion,
  preflight,
  preflightCacheHit,
  processorCacheCounters,
  simulatorCallsBetween,
  simulatorRequestCount,
  startBareEnvoy,
  startGatewayEnvoy,
  startProcessor,
  startSimulator,
  type CacheHitPreflight,
  type PreflightReport,
  type EnvoyRuntime,
  type Processor,
  type Proxy,
  type Simulator,
  type Target,
} from './lib/stack.js';
import { runWrk, writeWrkScript, type WrkResult } from './lib/wrk.js';
import type { OpenLoopResult } from './load/open-loop.js';
import type { StreamResult } from './load/stream-ttfb.js';

// ---- options ----------------------------------------------------------------------------------

const ALL_SCENARIOS: ScenarioId[] = ['seq', 'open', 'c16', 'c64', 'stream', 'stream-x', 'hit', 'hit-c16'];
/** What the processor sends upstream as the OpenAI key (the simulator checks none). */
const PROVIDER_KEY = 'sk-bench-provider-key';
/** Cache TTL of the cache-hit processor: far longer than any run, so no entry expires mid-load. */
const HIT_CACHE_TTL_S = 3600;

interface Options {
  durationS: number;
  warmupS: number;
  rounds: number;
  rate: number;
  quick: boolean;
  profile: boolean;
  scenarios: ScenarioId[];
  envoyConcurrency: number;
  envoyRuntime: EnvoyRuntime;
  processorLog: string;
  profileScenario: 'seq' | 'c16' | 'c64';
  /** Cache-hit scenarios: Redis store (a redis-server started for the run) instead of in-process. */
  redis: boolean;
}

const USAGE = `usage: node dist/bench/run.js [options]   (or: npm run bench -- [options])
  --duration <s>            seconds per measured load (default 10; --quick: 3)
  --quick                   smoke run: 3 s per load, 1 round, short warm-ups
  --rounds <n>              bare/gateway pairs per scenario (default 2; --quick: 1)
  --rate <rps>              open-loop offered rate (default 500)
  --scenarios <list>        comma list of ${ALL_SCENARIOS.join(',')} (default all; run in that order)
  --redis                   cache-hit scenarios: store in a redis-server started for the run
                            (${REDIS_BIN}) instead of the processor's in-process store
  --envoy-concurrency <n>   Envoy worker threads, both proxies (default 1)
  --envoy-runtime <k=v>     Envoy runtime override for both proxies (repeatable), e.g.
                            envoy.reloadable_features.ext_proc_graceful_grpc_close=true
  --processor-log <file>    processor stdout (its JSON logs) to this file (default /dev/null)
  --profile                 also profile the processor (node --cpu-prof) during a c16 gateway load
                            and summarise it to bench/results/profile-summary.txt
  --profile-scenario <s>    load to profile: c16 (default), c64 or seq
`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      rate: { type: 'string' },
      scenarios: { type: 'string' },
      'envoy-concurrency': { type: 'string' },
      'processor-log': { type: 'string' },
      'envoy-runtime': { type: 'string', multiple: true },
      'profile-scenario': { type: 'string' },
      redis: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, dflt: number, min: number): number => {
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const quick = values.quick === true;
  const asked = (values.scenarios ?? ALL_SCENARIOS.join(',')).split(',').map((s) => s.trim()) as ScenarioId[];
  for (const s of asked) if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s} (known: ${ALL_SCENARIOS.join(', ')})`);
  // Canonical order: the cache-hit stack starts after the overhead scenarios, so it sits idle during none of them.
  const scenarios = ALL_SCENARIOS.filter((s) => asked.includes(s));
  const redis = values.redis === true;
  if (redis && !scenarios.some((s) => HIT_SCENARIOS.includes(s))) throw new Error(`--redis only applies to the cache-hit scenarios (${HIT_SCENARIOS.join(', ')}), and none is selected`);
  const envoyRuntime: EnvoyRuntime = {};
  for (const kv of values['envoy-runtime'] ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--envoy-runtime expects key=value, got ${JSON.stringify(kv)}`);
    const raw = kv.slice(eq + 1);
    envoyRuntime[kv.slice(0, eq)] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  const profileScenario = values['profile-scenario'] ?? 'c16';
  if (profileScenario !== 'seq' && profileScenario !== 'c16' && profileScenario !== 'c64') throw new Error('--profile-scenario must be seq, c16 or c64');
  return {
    durationS: num('duration', values.duration, quick ? 3 : 10, 1),
    warmupS: quick ? 1 : 3,
    rounds: Math.floor(num('rounds', values.rounds, quick ? 1 : 2, 1)),
    rate: num('rate', values.rate, 500, 1),
    quick,
    profile: values.profile === true,
    scenarios,
    envoyConcurrency: Math.floor(num('envoy-concurrency', values['envoy-concurrency'], 1, 1)),
    envoyRuntime,
    profileScenario,
    processorLog: values['processor-log'] ? path.resolve(values['processor-log']) : '/dev/null',
    redis,
  };
}

// ---- scenarios --------------------------------------------------------------------------------

interface ScenarioDef {
  id: ScenarioId;
  title: (o: Options) => string;
  metric: string;
  tool: string;
}

const SCENARIOS: Record<ScenarioId, ScenarioDef> = {
  seq: {
    id: 'seq',
    title: () => 'sequential (1 conn)',
    metric: 'request latency, one request at a time (wrk -t1 -c1, closed loop)',
    tool: 'wrk -t1 -c1',
  },
  open: {
    id: 'open',
    title: (o) => `open loop ${o.rate} RPS`,
    metric: 'latency from each request\'s scheduled send time (open loop, no coordinated omission)',
    tool: 'bench/load/open-loop.ts (Node, http.Agent keepAlive maxSockets 64)',
  },
  c16: {
    id: 'c16',
    title: () => 'closed loop c16',
    metric: 'request latency at 16 concurrent connections, as fast as possible (wrk -t2 -c16)',
    tool: 'wrk -t2 -c16',
  },
  c64: {
    id: 'c64',
    title: () => 'closed loop c64',
    metric: 'request latency at 64 concurrent connections, as fast as possible (wrk -t2 -c64)',
    tool: 'wrk -t2 -c64',
  },
  stream: {
    id: 'stream',
    title: () => 'stream TTFB (1 conn)',
    metric: 'time to first response body byte of a stream:true call, one at a time',
    tool: 'bench/load/stream-ttfb.ts (Node, 1 keep-alive connection)',
  },
  'stream-x': {
    id: 'stream-x',
    title: () => 'translated stream TTFB (1 conn)',
    metric:
      'time to first response body byte of a stream: bare = an OpenAI stream:true call through Envoy alone, gateway = the same call made with the Anthropic Messages API, translated both ways to the OpenAI-format backend',
    tool: 'bench/load/stream-ttfb.ts (Node, 1 keep-alive connection)',
  },
  hit: {
    id: 'hit',
    title: (o) => `cache hit, 1 conn (${o.redis ? 'redis' : 'memory'})`,
    metric: 'request latency, one request at a time: bare = Envoy -> simulator, gateway = answered from the response cache (wrk -t1 -c1)',
    tool: 'wrk -t1 -c1',
  },
  'hit-c16': {
    id: 'hit-c16',
    title: (o) => `cache hit, c16 (${o.redis ? 'redis' : 'memory'})`,
    metric: 'request latency at 16 connections: bare = Envoy -> simulator, gateway = answered from the response cache (wrk -t2 -c16)',
    tool: 'wrk -t2 -c16',
  },
};

/** wrk threads and connections of the closed-loop scenarios. */
const WRK_SHAPE: Partial<Record<ScenarioId, { threads: number; connections: number }>> = {
  seq: { threads: 1, connections: 1 },
  c16: { threads: 2, connections: 16 },
  c64: { threads: 2, connections: 64 },
  hit: { threads: 1, connections: 1 },
  'hit-c16': { threads: 2, connections: 16 },
};

interface RunRecord {
  scenario: ScenarioId;
  target: Target;
  round: number;
  startedAt: string;
  /** Seconds the measurement covered. */
  durationS: number;
  /** 200 responses measured. */
  ok: number;
  /** 200 responses per second. */
  rps: number;
  latencyMs: ReturnType<typeof summaryMs>;
  errors: ErrorCounts;
  /** CPU used during the run, in cores (1.0 = one core busy all the time), by process. */
  cpuCores: Record<string, number>;
  envoyCounters: Record<string, number>;
  detail: Record<string, unknown>;
}

// ---- helpers ----------------------------------------------------------------------------------

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const here = path.dirname(fileURLToPath(import.meta.url));

function gitInfo(root: string): { commit: string; dirtyFiles: number } | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { commit, dirtyFiles: status.split('\n').filter(Boolean).length };
  } catch {
    return undefined;
  }
}

async function runNodeClient<T>(name: string, script: string, config: unknown, timeoutS: number): Promise<T> {
  const out = await runToEnd(name, process.execPath, [path.join(here, 'load', script), JSON.stringify(config)], timeoutS * 1000);
  const line = out.stdout.trim().split('\n').pop();
  if (out.code !== 0 || !line) throw new Error(`${name} failed (exit ${out.code ?? out.signal}):\n${out.stderr.slice(-3000)}`);
  return JSON.parse(line) as T;
}

function errorCounts(e: Omit<ErrorCounts, 'total' | 'envoyNon2xx'>, envoy: Record<string, number>): ErrorCounts {
  const envoyNon2xx = ['downstream_rq_1xx', 'downstream_rq_3xx', 'downstream_rq_4xx', 'downstream_rq_5xx'].reduce((s, k) => s + (envoy[k] ?? 0), 0);
  // Envoy counts responses the client never saw finish (e.g. the warm-up of the open loop),
  // so only the excess over what the client already reported adds to the total.
  // Cache hits: a 200 that was not a hit, a provider call, or a hit count that does not add up.
  const cache = (e.notHit ?? 0) + (e.providerCalls ?? 0) + (e.uncountedHits ?? 0);
  const total = e.non200 + e.socket + e.timeouts + e.badStreams + Math.max(0, envoyNon2xx - e.non200) + cache;
  return { ...e, envoyNon2xx, total };
}

// ---- the benchmark ----------------------------------------------------------------------------

interface Ctx {
  opts: Options;
  root: string;
  key: string;
  body: string;
  streamBody: string;
  wrkScript: string;
  sim: Simulator;
  processor: Processor;
  proxies: Record<Target, Proxy>;
  /** The cache-hit stack, once the first cache-hit scenario has started it. */
  hit?: HitStack;
}

/** A processor with the cache on, its own gateway Envoy, and Redis with --redis. */
interface HitStack {
  processor: Processor;
  proxy: Proxy;
  redis?: RedisServer;
  /** The bench request, counting every 200 without `x-gateway-cache: hit` (same bytes sent). */
  wrkScript: string;
  preflight: { gateway: PreflightReport; cache: CacheHitPreflight };
}

function pids(c: Ctx): Record<string, number | undefined> {
  return {
    simulator: c.sim.child.pid,
    processor: c.processor.child.pid,
    envoyBare: c.proxies.bare.envoy.child.pid,
    envoyGateway: c.proxies.gateway.envoy.child.pid,
    ...(c.hit
      ? {
          processorCache: c.hit.processor.child.pid,
          envoyGatewayCache: c.hit.proxy.envoy.child.pid,
          ...(c.hit.redis ? { redis: c.hit.redis.child.pid } : {}),
        }
      : {}),
  };
}

function assertAlive(c: Ctx): void {
  const children: Record<string, ChildProcess> = {
    simulator: c.sim.child,
    processor: c.processor.child,
    envoyBare: c.proxies.bare.envoy.child,
    envoyGateway: c.proxies.gateway.envoy.child,
  };
  if (c.hit) {
    children.processorCache = c.hit.processor.child;
    children.envoyGatewayCache = c.hit.proxy.envoy.child;
    if (c.hit.redis) children.redis = c.hit.redis.child;
  }
  const dead = Object.entries(children)
    .filter(([, ch]) => ch.exitCode !== null || ch.signalCode !== null)
    .map(([n, ch]) => `${n} (exit ${ch.exitCode ?? ch.signalCode})`);
  if (dead.length > 0) {
    const stderr = [`processor stderr:\n${c.processor.stderr()}`, c.hit ? `cache processor stderr:\n${c.hit.processor.stderr()}` : ''].filter(Boolean).join('\n');
    throw new Error(`process died during the benchmark: ${dead.join(', ')}\n${stderr}\nenvoy gateway log:\n${c.proxies.gateway.envoy.log().slice(-2000)}`);
  }
}

/**
 * Starts the cache-hit stack (Redis with --redis, a processor with the cache on, its gateway Envoy),
 * checks it (the usual gateway pre-flight, then a repeat must be a hit that reaches neither the
 * simulator nor the processor's miss counter, and no-store must still reach the simulator), and
 * warms it up with the hit load's own script.
 */
async function startHitStack(c: Ctx, tmp: string): Promise<HitStack> {
  const o = c.opts;
  let redis: RedisServer | undefined;
  if (o.redis) {
    redis = await startRedis();
    log(`redis-server on 127.0.0.1:${redis.port} (no persistence)`);
  }
  const processor = await startProcessor({
    gatewayKey: c.key,
    providerKey: PROVIDER_KEY,
    logFile: o.processorLog,
    cache: { ttlSeconds: HIT_CACHE_TTL_S, redisUrl: redis?.url },
    name: 'processor-cache',
  });
  const proxy = await startGatewayEnvoy(c.sim.port, processor.grpcPort, o.envoyConcurrency, o.envoyRuntime, 'envoy-gateway-cache');
  log(`cache-hit stack: processor gRPC 127.0.0.1:${processor.grpcPort} (cache on, ${redis ? `REDIS_URL ${redis.url}` : 'in-process store'}, TTL ${HIT_CACHE_TTL_S}s), envoy ${proxy.url}`);
  const gateway = await preflight(proxy, c.key, c.body, c.streamBody, 'miss');
  const cache = await preflightCacheHit(proxy, processor, c.sim, c.key, c.body);
  log(
    `pre-flight (cache): first call x-gateway-cache: ${gateway.cacheHeader}; repeat -> ${cache.hitStatus} x-gateway-cache: ${cache.hitHeader} ` +
      `(hit after ${cache.firstHitAfterMs} ms), simulator calls ${cache.simulatorCallsForHit ?? 'unreadable'}, processor hits +${cache.hitsCounted}; ` +
      `cache-control: no-store -> x-gateway-cache: ${cache.noStoreHeader}, simulator calls ${cache.noStoreSimulatorCalls ?? 'unreadable'}`,
  );
  const wrkScript = writeWrkScript(tmp, 'chat-hit', c.body, c.key, { name: 'x-gateway-cache', value: 'hit' });
  log(`warm-up cache hits: wrk -t2 -c16 ${o.warmupS}s`);
  const w = await runWrk({ url: proxy.url, script: wrkScript, threads: 2, connections: 16, durationS: o.warmupS });
  if (w.requests - w.non200 - w.missingHeader === 0) {
    throw new Error(`warm-up of the cache-hit gateway: no hit among ${w.requests} responses (${w.non200} non-200, first status ${w.firstBadStatus}; ${w.missingHeader} 200s without x-gateway-cache: hit)`);
  }
  return { processor, proxy, redis, wrkScript, preflight: { gateway, cache } };
}

async function runOne(c: Ctx, id: ScenarioId, target: Target, round: number): Promise<{ record: RunRecord; dist: Dist }> {
  const hit = HIT_SCENARIOS.includes(id) && target === 'gateway' ? c.hit : undefined;
  if (HIT_SCENARIOS.includes(id) && !c.hit) throw new Error(`${id}: the cache-hit stack is not running`);
  const proxy = hit ? hit.proxy : c.proxies[target];
  const o = c.opts;
  const before = await envoyCounters(proxy);
  const cpuBefore: CpuSnapshot = snapshot(pids(c));
  const wallStart = process.hrtime.bigint();
  const startedAt = new Date().toISOString();
  const dist = new Dist();
  let durationS: number;
  let ok: number;
  let base: Omit<ErrorCounts, 'total' | 'envoyNon2xx'>;
  let detail: Record<string, unknown>;

  const shape = WRK_SHAPE[id];
  if (shape) {
    const { threads, connections } = shape;
    // Cache hits, gateway side: read the simulator's request count and the processor's cache
    // counters around the load (outside the measured window). A hit must reach neither.
    const simBefore = hit ? await simulatorRequestCount(c.sim) : undefined;
    const cacheBefore = hit ? await processorCacheCounters(hit.processor) : undefined;
    const r: WrkResult = await runWrk({ url: proxy.url, script: hit ? hit.wrkScript : c.wrkScript, threads, connections, durationS: o.durationS });
    dist.addQuantiles(r.quantilesUs, r.requests, r.latencyUs.max);
    durationS = r.durationS;
    ok = r.requests - r.non200 - r.missingHeader;
    base = {
      non200: r.non200,
      socket: r.errors.connect + r.errors.read + r.errors.write,
      timeouts: r.errors.timeout,
      badStreams: 0,
      first: r.firstBadStatus ? `status ${r.firstBadStatus}` : r.missingHeader ? `${r.missingHeader} x 200 without x-gateway-cache: hit` : undefined,
    };
    detail = { tool: `wrk -t${threads} -c${connections} -d${o.durationS}s`, requests: r.requests, wrkLatencyUs: r.latencyUs, wrkErrors: r.errors };
    if (hit && cacheBefore) {
      const simulatorCalls = simulatorCallsBetween(simBefore, await simulatorRequestCount(c.sim));
      const cacheAfter = await processorCacheCounters(hit.processor);
      const hitsCounted = cacheAfter.hit - cacheBefore.hit;
      const misses = cacheAfter.miss - cacheBefore.miss;
      // Every response wrk saw was counted before it was sent; requests still in flight when wrk
      // stopped (at most one per connection) may have been counted too, without a response.
      const uncounted = Math.max(0, ok - hitsCounted) + Math.max(0, hitsCounted - r.requests - connections);
      // Without the simulator's count, a provider call shows as a miss in the processor's metrics.
      const providerCalls = simulatorCalls ?? misses;
      base.notHit = r.missingHeader;
      base.providerCalls = providerCalls;
      base.uncountedHits = uncounted;
      if (!base.first && providerCalls > 0) base.first = `${providerCalls} request(s) reached the simulator`;
      if (!base.first && uncounted > 0) base.first = `processor counted ${hitsCounted} hits for ${r.requests} responses`;
      detail.cacheCheck = {
        responses: r.requests,
        notHit: r.missingHeader,
        simulatorCalls: simulatorCalls ?? 'unreadable',
        processorHits: hitsCounted,
        processorMisses: misses,
        store: hit.redis ? 'redis' : 'memory',
      };
    }
  } else if (id === 'open') {
    const r = await runNodeClient<OpenLoopResult>(
      'open-loop',
      'open-loop.js',
      { url: proxy.url, key: c.key, body: c.body, rate: o.rate, durationS: o.durationS, warmupS: 1, maxSockets: 64, timeoutMs: 10_000 },
      o.durationS + 40,
    );
    dist.addSamples(r.latencyUs);
    durationS = r.elapsedS;
    ok = r.ok;
    const firstStatus = Object.keys(r.statusCounts)[0];
    base = { non200: r.non200, socket: r.socketErrors, timeouts: r.timeouts, badStreams: 0, first: r.firstError ?? (firstStatus && `status ${firstStatus}`) };
    detail = {
      tool: `open-loop rate=${o.rate} duration=${o.durationS}s warmup=1s maxSockets=64`,
      scheduled: r.scheduled,
      achievedRps: r.achievedRps,
      statusCounts: r.statusCounts,
      serviceTimeMs: { p50: ms(r.serviceUs.p50), p90: ms(r.serviceUs.p90), p99: ms(r.serviceUs.p99) },
      sendLagMs: { p50: ms(r.sendLagUs.p50), p90: ms(r.sendLagUs.p90), p99: ms(r.sendLagUs.p99), max: ms(r.sendLagUs.max) },
      maxInFlight: r.maxInFlight,
    };
  } else {
    const r = await runNodeClient<StreamResult>(
      'stream-ttfb',
      'stream-ttfb.js',
      id === 'stream-x' && target === 'gateway'
        ? { url: `${proxy.url.replace(/\/v1\/chat\/completions$/, '')}/v1/messages`, api: 'anthropic', key: c.key, body: anthropicStreamBody(), durationS: o.durationS, warmupS: 0.5, timeoutMs: 10_000 }
        : { url: proxy.url, key: c.key, body: c.streamBody, durationS: o.durationS, warmupS: 0.5, timeoutMs: 10_000 },
      o.durationS + 40,
    );
    dist.addSamples(r.ttfbUs);
    durationS = r.elapsedS;
    ok = r.ok;
    const firstStatus = Object.keys(r.statusCounts)[0];
    base = { non200: r.non200, socket: r.socketErrors, timeouts: r.timeouts, badStreams: r.badStreams, first: r.firstError ?? (firstStatus && `status ${firstStatus}`) };
    detail = {
      tool: `stream-ttfb duration=${o.durationS}s warmup=0.5s`,
      statusCounts: r.statusCounts,
      streamTotalMs: summaryMs(new Dist().addSamples(r.totalUs).summary()),
      meanSseEvents: Math.round(r.meanEvents * 10) / 10,
    };
  }

  const wallS = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const cpuCores = cpuShare(cpuBefore, snapshot(pids(c)), wallS);
  const envoy = counterDelta(before, await envoyCounters(proxy));
  assertAlive(c);
  const record: RunRecord = {
    scenario: id,
    target,
    round,
    startedAt,
    durationS: Math.round(durationS * 1000) / 1000,
    ok,
    rps: Math.round((10 * ok) / durationS) / 10,
    latencyMs: summaryMs(dist.summary()),
    errors: errorCounts(base, envoy),
    cpuCores,
    envoyCounters: envoy,
    detail,
  };
  const cpu = Object.entries(cpuCores)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');
  log(
    `${SCENARIOS[id].title(o)} | round ${round} | ${target.padEnd(7)} | ${record.rps.toFixed(0)} rps | p50 ${record.latencyMs.p50.toFixed(3)} p90 ${record.latencyMs.p90.toFixed(3)} p99 ${record.latencyMs.p99.toFixed(3)} ms | errors ${record.errors.total}${record.errors.first ? ` (${record.errors.first})` : ''} | cpu cores: ${cpu}`,
  );
  return { record, dist };
}

function pool(runs: Array<{ record: RunRecord; dist: Dist }>): PooledSide | undefined {
  if (runs.length === 0) return undefined;
  const d = new Dist();
  let ok = 0;
  let seconds = 0;
  let errors = 0;
  for (const r of runs) {
    d.addDist(r.dist);
    ok += r.record.ok;
    seconds += r.record.durationS;
    errors += r.record.errors.total;
  }
  return { runs: runs.length, rps: Math.round((10 * ok) / seconds) / 10, ok, latencyMs: summaryMs(d.summary()), errors };
}

interface ProfileOutcome {
  summary: ProfileSummary;
  text: string;
  profiledRun: { rps: number; latencyMs: { p50: number; p90: number; p99: number }; errors: number };
  processorExitCode: number | null;
}

async function profilePhase(c: Ctx, stamp: string): Promise<ProfileOutcome> {
  const o = c.opts;
  const sc = o.profileScenario;
  const threads = sc === 'seq' ? 1 : 2;
  const connections = sc === 'seq' ? 1 : sc === 'c16' ? 16 : 64;
  const dir = path.join(c.root, 'bench', 'results', 'profile');
  mkdirSync(dir, { recursive: true });
  const name = `processor-${sc}-${stamp}.cpuprofile`;
  log(`profile: starting a processor with --cpu-prof (${path.relative(c.root, dir)}/${name}) and its own gateway Envoy`);
  const proc = await startProcessor({
    gatewayKey: c.key,
    providerKey: PROVIDER_KEY,
    logFile: o.processorLog,
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`],
  });
  const gw = await startGatewayEnvoy(c.sim.port, proc.grpcPort, o.envoyConcurrency, o.envoyRuntime, 'envoy-gateway-profile');
  await preflight(gw, c.key, c.body, c.streamBody);
  log(`profile: warm-up ${o.warmupS}s, then wrk -t${threads} -c${connections} for ${o.durationS}s (only this window is summarised)`);
  await runWrk({ url: gw.url, script: c.wrkScript, threads: 2, connections: 16, durationS: o.warmupS });
  await sleep(300);
  const before = await envoyCounters(gw);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const r = await runWrk({ url: gw.url, script: c.wrkScript, threads, connections, durationS: o.durationS });
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const envoy = counterDelta(before, await envoyCounters(gw));
  await stopChild(gw.envoy.child);
  const code = await proc.stop();
  if (code !== 0) throw new Error(`profiled processor exited with ${code} on SIGTERM: no profile written\n${proc.stderr()}`);
  const file = path.join(dir, name);
  for (let i = 0; i < 50 && !existsSync(file); i++) await sleep(100);
  if (!existsSync(file)) throw new Error(`profile ${file} was not written`);

  const summary = { ...summariseProfile(file, c.root, { fromUs, toUs }, 25), file: path.relative(c.root, file) };
  const errors = errorCounts(
    { non200: r.non200, socket: r.errors.connect + r.errors.read + r.errors.write, timeouts: r.errors.timeout, badStreams: 0 },
    envoy,
  ).total;
  const rps = (r.requests - r.non200) / r.durationS;
  const header =
    `Processor CPU profile: gateway ${SCENARIOS[sc].title(o)} (wrk -t${threads} -c${connections} -d${o.durationS}s). Profiled run: ` +
    `${rps.toFixed(0)} rps, p50 ${ms(r.latencyUs.p50).toFixed(3)} / p99 ${ms(r.latencyUs.p99).toFixed(3)} ms, errors ${errors} ` +
    `(the profiler slows the processor: these are not the benchmark's numbers)`;
  const text = formatProfile(summary, header);
  writeFileSync(path.join(c.root, 'bench', 'results', 'profile-summary.txt'), text);
  return {
    summary,
    text,
    profiledRun: { rps: Math.round(rps), latencyMs: { p50: ms(r.latencyUs.p50), p90: ms(r.latencyUs.p90), p99: ms(r.latencyUs.p99) }, errors },
    processorExitCode: code,
  };
}

/** Scratch directory (the wrk Lua script); removed on every way out. */
let scratch: string | undefined;
function removeScratch(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const root = repoRoot();
  const resultsDir = path.join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const started = new Date();
  const stamp = started.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  scratch = tmp;
  const key = `gwb-${randomBytes(12).toString('hex')}`;
  const body = chatBody(false);
  const streamBody = chatBody(true);
  const loadavgStart = os.loadavg();

  log(
    `duration ${opts.durationS}s x ${opts.rounds} round(s) per side, warm-up ${opts.warmupS}s, scenarios ${opts.scenarios.join(',')}, ` +
      `envoy concurrency ${opts.envoyConcurrency}, processor stdout -> ${opts.processorLog}${opts.profile ? `, --profile (${opts.profileScenario})` : ''}` +
      (Object.keys(opts.envoyRuntime).length > 0 ? `, envoy runtime ${JSON.stringify(opts.envoyRuntime)}` : ''),
  );
  try {
    const sim = await startSimulator();
    log(`simulator on 127.0.0.1:${sim.port}`);
    const processor = await startProcessor({ gatewayKey: key, providerKey: PROVIDER_KEY, logFile: opts.processorLog });
    log(`processor gRPC 127.0.0.1:${processor.grpcPort}, metrics ${processor.metricsPort}`);
    const bare = await startBareEnvoy(sim.port, opts.envoyConcurrency, opts.envoyRuntime);
    const gateway = await startGatewayEnvoy(sim.port, processor.grpcPort, opts.envoyConcurrency, opts.envoyRuntime);
    log(`envoy bare ${bare.url}, gateway ${gateway.url}`);
    const c: Ctx = {
      opts,
      root,
      key,
      body,
      streamBody,
      wrkScript: writeWrkScript(tmp, 'chat', body, key),
      sim,
      processor,
      proxies: { bare, gateway },
    };

    const pre: PreflightReport[] = [await preflight(bare, key, body, streamBody), await preflight(gateway, key, body, streamBody)];
    log(
      `pre-flight: bare 200 (stream ok); gateway 200 with x-gateway-model: ${pre[1]!.gatewayModel}, x-gateway-provider: ${pre[1]!.gatewayProvider}, ` +
        `x-gateway-cost-usd: ${pre[1]!.costHeader}, x-gateway-cache: ${pre[1]!.cacheHeader} (cache off); wrong key -> ${pre[1]!.badKeyStatus}; stream ok`,
    );

    for (const t of ['bare', 'gateway'] as const) {
      log(`warm-up ${t}: wrk -t2 -c16 ${opts.warmupS}s`);
      const w = await runWrk({ url: c.proxies[t].url, script: c.wrkScript, threads: 2, connections: 16, durationS: opts.warmupS });
      // Pre-flight already proved the path answers 200; here only a path that stopped working aborts.
      // Sporadic errors are reported by the measured loads, where they count.
      if (w.requests - w.non200 === 0) throw new Error(`warm-up against ${t}: no 200 among ${w.requests} responses (first status ${w.firstBadStatus})`);
      if (w.non200 > 0) log(`warm-up ${t}: ${w.non200} non-200 of ${w.requests} (first status ${w.firstBadStatus})`);
    }

    const scenarioResults: Array<ScenarioSummary & { tool: string; runs: RunRecord[] }> = [];
    const byId = new Map<ScenarioId, ScenarioSummary>();
    for (const id of opts.scenarios) {
      if (HIT_SCENARIOS.includes(id) && !c.hit) c.hit = await startHitStack(c, tmp);
      const runs: Record<Target, Array<{ record: RunRecord; dist: Dist }>> = { bare: [], gateway: [] };
      for (let round = 1; round <= opts.rounds; round++) {
        for (const target of ['bare', 'gateway'] as const) {
          await sleep(500);
          runs[target].push(await runOne(c, id, target, round));
        }
      }
      const b = pool(runs.bare);
      const g = pool(runs.gateway);
      const def = SCENARIOS[id];
      const s: ScenarioSummary & { tool: string; runs: RunRecord[] } = {
        id,
        title: def.title(opts),
        metric: def.metric,
        tool: def.tool,
        bare: b,
        gateway: g,
        addedMs:
          b && g
            ? {
                p50: Math.round((g.latencyMs.p50 - b.latencyMs.p50) * 1000) / 1000,
                p90: Math.round((g.latencyMs.p90 - b.latencyMs.p90) * 1000) / 1000,
                p99: Math.round((g.latencyMs.p99 - b.latencyMs.p99) * 1000) / 1000,
              }
            : undefined,
        rpsRatio: b && g && b.rps > 0 ? Math.round((1000 * g.rps) / b.rps) / 1000 : undefined,
        runs: [...runs.bare, ...runs.gateway].map((r) => r.record).sort((x, y) => x.startedAt.localeCompare(y.startedAt)),
      };
      scenarioResults.push(s);
      byId.set(id, s);
    }

    const envoyVer = await envoyVersion(bare);
    // Stop the measured stack now (the profile phase brings its own processor and Envoy).
    await stopChild(bare.envoy.child);
    await stopChild(gateway.envoy.child);
    const processorExit = await processor.stop();
    let cacheProcessorExit: number | null | undefined;
    if (c.hit) {
      await stopChild(c.hit.proxy.envoy.child);
      cacheProcessorExit = await c.hit.processor.stop();
      if (c.hit.redis) await c.hit.redis.stop();
    }

    let profile: ProfileOutcome | undefined;
    if (opts.profile) profile = await profilePhase(c, stamp);
    await sim.stop();

    // In process, after the load runs so it does not compete with them.
    const decision = measureDecisionCost();
    const targets = checkTargets(byId, opts.rate);
    targets.push({
      name: `routing decision (${decision.promptChars}-char prompt): p99`,
      measured: `${(decision.decisionUs.p99 / 1000).toFixed(3)} ms`,
      target: '<= 0.2 ms',
      verdict: decision.decisionUs.p99 <= 200 ? 'PASS' : 'MISS',
    });
    const table = resultsTable(scenarioResults);
    const targetsText = targetsTable(targets);
    const openRuns = scenarioResults.find((s) => s.id === 'open')?.runs ?? [];
    const lag = openRuns.map((r) => (r.detail.sendLagMs as { p50: number; p99: number } | undefined)).filter(Boolean) as Array<{ p50: number; p99: number }>;

    const notes = [
      'Latency in ms; "added" = gateway percentile minus bare percentile (pooled over rounds).',
      'RPS = 200 responses per second (open loop: achieved; stream: streams per second, one at a time).',
      'errors = non-200 + socket errors + timeouts (+ incomplete streams), bare / gateway, summed over rounds.',
      scenarioResults.some((s) => HIT_SCENARIOS.includes(s.id))
        ? `cache hit rows: bare = Envoy -> simulator (provider path), gateway = a second processor with the cache on (${opts.redis ? 'Redis' : 'in-process store'}) answering every request from the cache; "added" = hit minus provider path. ` +
          'Errors there include 200s without x-gateway-cache: hit, requests that reached the simulator, and hits the processor did not count.'
        : '',
      lag.length > 0
        ? `Open-loop generator send lag (scheduled -> sent), included in its latencies: p50 ${Math.max(...lag.map((l) => l.p50)).toFixed(3)} ms, p99 up to ${Math.max(...lag.map((l) => l.p99)).toFixed(3)} ms.`
        : '',
    ].filter(Boolean);

    const out: string[] = [];
    out.push('');
    out.push(
      `Gateway benchmark ${started.toISOString()}: ${opts.rounds} round(s) x ${opts.durationS}s per side, Envoy ${envoyVer.split('/')[1] ?? envoyVer} concurrency ${opts.envoyConcurrency}, ${os.cpus().length} CPUs, node ${process.version}`,
    );
    if (Object.keys(opts.envoyRuntime).length > 0) out.push(`Envoy runtime overrides (both proxies): ${JSON.stringify(opts.envoyRuntime)}`);
    out.push('');
    out.push(table);
    out.push('');
    for (const n of notes) out.push(n);
    out.push('');
    out.push(
      `Routing decision for model "auto" (in process, ${decision.iterations} runs, ${decision.promptChars}-char prompt -> tier ${decision.tier}, ${decision.model}): ` +
        `classify p50 ${decision.classifyUs.p50} µs / p99 ${decision.classifyUs.p99} µs; classify + route p50 ${decision.decisionUs.p50} µs / p99 ${decision.decisionUs.p99} µs.`,
    );
    out.push('');
    out.push('Targets (DESIGN.md §7 / project goals):');
    out.push(targetsText);
    out.push('');
    process.stdout.write(out.join('\n') + '\n');
    if (profile) process.stdout.write('\n' + profile.text + '\n');

    const result = {
      version: 1,
      timestamp: started.toISOString(),
      finishedAt: new Date().toISOString(),
      routingDecision: decision,
      options: opts,
      environment: {
        node: process.version,
        envoy: envoyVer,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        kernel: os.release(),
        loadavgStart,
        loadavgEnd: os.loadavg(),
        git: gitInfo(root),
      },
      setup: {
        request: { method: 'POST', path: CHAT_PATH, model: BENCH_MODEL, bodyBytes: Buffer.byteLength(body), userMessageChars: USER_TEXT_CHARS },
        simulator: 'node dist/simulators/openai/main.js (no API key check, zero latency)',
        processor: `node dist/ext-proc/src/main.js, LOG_LEVEL=info, stdout -> ${opts.processorLog}`,
        envoy: { concurrency: opts.envoyConcurrency, runtimeOverrides: opts.envoyRuntime, accessLog: '/dev/null', bare: 'renderBootstrap without extProc, fixedCluster openai', gateway: 'renderBootstrap with extProc' },
        processorExitCode: processorExit,
        cacheHitStack: c.hit
          ? {
              processor: `node dist/ext-proc/src/main.js, CACHE_TTL_SECONDS=${HIT_CACHE_TTL_S}, ${c.hit.redis ? 'REDIS_URL (redis-server started for the run, no persistence)' : 'in-process store (no REDIS_URL)'}`,
              store: c.hit.redis ? 'redis' : 'memory',
              gateway: 'its own renderBootstrap with extProc, same options as the gateway',
              processorExitCode: cacheProcessorExit,
            }
          : undefined,
        overheadProcessorCache: 'off (CACHE_TTL_SECONDS=0): every overhead request goes to the simulator',
      },
      preflight: pre,
      preflightCacheHit: c.hit?.preflight,
      scenarios: scenarioResults,
      targets,
      notes,
      table,
      profile: profile ? { summary: profile.summary, profiledRun: profile.profiledRun, processorExitCode: profile.processorExitCode } : undefined,
    };
    const json = JSON.stringify(result, null, 2) + '\n';
    const file = path.join(resultsDir, `${stamp}.json`);
    writeFileSync(file, json);
    writeFileSync(path.join(resultsDir, 'latest.json'), json);
    log(`results: ${path.relative(root, file)} and bench/results/latest.json${profile ? ', bench/results/profile-summary.txt' : ''}`);
  } finally {
    await stopAll();
    removeScratch();
    const left = liveProcesses();
    if (left.length > 0) log(`still running after teardown: ${left.join(', ')}`);
  }
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping everything`);
    void stopAll().finally(() => {
      removeScratch();
      process.exit(130);
    });
  });
}
process.on('exit', () => {
  killAllSync();
  removeScratch();
});

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(1);
  },
);
