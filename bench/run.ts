/**
 * Gateway benchmark: what the processor costs, measured as Envoy + processor ("gateway") against
 * Envoy alone ("bare") in front of the same simulator, in one run, interleaved, with the proxy
 * under test pinned to its own CPUs (--gateway-cpus) and the load generators and the simulator on
 * the others (--load-cpus). Optionally a third side, "baseline": the processor and gateway Envoy
 * config of another git ref (--baseline-ref), built in a temporary worktree. See bench/README.md.
 *
 *   node dist/bench/run.js [--quick] [--scenarios <list>] [--baseline-ref <ref>] [--soak] ...
 *   node dist/bench/run.js --help
 *
 * Outputs: a table on stdout and bench/results/<timestamp>.{json,md,svg} (+ latest.{json,md,svg}).
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { measureDecisions } from './lib/decisions.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { prepareBaseline, type Baseline } from './lib/baseline.js';
import { cpuShare, type CpuSnapshot } from './lib/cpu.js';
import { Dist, ms, summaryMs } from './lib/dist.js';
import { envoyBinary } from '../scripts/lib/envoy-process.js';
import { benchRoot } from './lib/paths.js';
import { allowedCpus, defaultCpuSets, formatCpuList, parseCpuList, pinProcess, pinTree, threadAffinities, type PinReport } from './lib/pin.js';
import { killAllSync, liveProcesses, runToEnd, stopAll, track } from './lib/procs.js';
import { clockTicks, treeCpuSeconds, treeRssBytes } from './lib/proctree.js';
import { formatProfile, summariseProfile, type ProfileSummary } from './lib/profile.js';
import {
  anthropicStreamBody,
  BENCH_MODEL,
  BIG_BODY_BYTES,
  CHAT_PATH,
  chatBody,
  UNIQUE_MARKER,
  uniqueChatBodyTemplate,
  USER_TEXT_CHARS,
} from './lib/payload.js';
import {
  bigPromptTable,
  checkTargets,
  cpuTable,
  latencyTable,
  MB,
  openLoopTable,
  renderTable,
  rssTable,
  SIDES,
  soakTable,
  targetsTable,
  throughputTable,
  type ErrorCounts,
  type PooledSide,
  type ProcessorSide,
  type RssReport,
  type ScenarioKind,
  type ScenarioSummary,
  type Side,
  type SoakReport,
  type Table,
} from './lib/report.js';
import { REDIS_BIN, startRedis, type RedisServer } from './lib/redis.js';
import {
  counterDelta,
  envoyCounters,
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
  type EnvoyRuntime,
  type PreflightReport,
  type Processor,
  type ProcessorOptions,
  type ProxyUnderTest,
  type Simulator,
} from './lib/stack.js';
import { latencyChartSvg, type LoadPoint } from './lib/svg.js';
import { runWrk, writeWrkScript, type WrkResult } from './lib/wrk.js';
import type { BigPromptResult } from './load/big-prompt.js';
import type { OpenLoopResult } from './load/open-loop.js';
import type { StreamResult } from './load/stream-ttfb.js';

// ---- constants --------------------------------------------------------------------------------

/** What the processor sends upstream as the OpenAI key (the simulator checks none). */
const PROVIDER_KEY = 'sk-bench-provider-key';
/** Cache TTL of the cache-hit processors (and of the soak with the cache on): longer than any run. */
const HIT_CACHE_TTL_S = 3600;
/** Open loop: a request not answered this long after its scheduled time is a timeout. */
const OPEN_TIMEOUT_MS = 5_000;
const OPEN_MAX_SOCKETS = 64;
const OPEN_WARMUP_S = 1;
const DEFAULT_RATES = [200, 500, 1000, 2000];
const SOAK_INTERVAL_S = 10;
const SOAK_FLAT = 0.05;

// ---- options ----------------------------------------------------------------------------------

interface Options {
  durationS: number;
  warmupS: number;
  rounds: number;
  rates: number[];
  quick: boolean;
  scenarios: string[];
  gatewayCpus: number[];
  loadCpus: number[];
  /** PROCESSOR_WORKERS of every processor (the baseline's ignores it if it predates workers). */
  workers: number;
  /** How this tree's Envoy reaches its processor: one Unix socket per worker, or one TCP port. */
  transport: 'unix' | 'tcp';
  baselineRef?: string;
  bigCalls: number;
  bigBytes: number;
  soak: boolean;
  soakMinutes: number;
  soakWarmupS: number;
  soakRate: number;
  soakCache: 'on' | 'off';
  envoyConcurrency: number;
  envoyRuntime: EnvoyRuntime;
  processorLog: string;
  profile: boolean;
  profileScenario: 'seq' | 'c16' | 'c64';
  /** Cache-hit scenarios: Redis store (a redis-server started for the run) instead of in-process. */
  redis: boolean;
}

const FIXED_IDS_BEFORE_OPEN = ['seq'];
const FIXED_IDS_AFTER_OPEN = ['c16', 'c64', 'stream', 'stream-c16', 'stream-x', 'big', 'hit', 'hit-c16'];

function usage(): string {
  const d = defaultCpuSets();
  return `usage: node dist/bench/run.js [options]   (or: npm run bench -- [options])
  --quick                   smoke run: 3 s loads, 1 round, 1 s warm-ups, 5 large-prompt calls (~2.5 min)
  --duration <s>            seconds per measured load (default 10; --quick: 3)
  --rounds <n>              rounds per scenario; each round runs every side once (default 2; --quick: 1)
  --scenarios <list>        comma list of seq, open (= every rate of --rates) or open-<rate>, c16, c64,
                            stream, stream-c16, stream-x, big, hit, hit-c16; or none (default: all)
  --rates <list>            open-loop offered rates in RPS (default ${DEFAULT_RATES.join(',')})
  --gateway-cpus <list>     CPUs of the proxy under test: bare Envoy, gateway Envoy + processor,
                            baseline Envoy + processor (default ${formatCpuList(d.gateway)})
  --load-cpus <list>        CPUs of the load generators, the simulator, Redis and this orchestrator
                            (default ${formatCpuList(d.load)})
  --workers <n>             PROCESSOR_WORKERS of every processor (default: the number of gateway CPUs)
  --transport unix|tcp      this tree's Envoy -> processor: one Unix socket per worker (default), or
                            one TCP port shared by the workers
  --baseline-ref <ref>      also run the processor and gateway config of this git ref as a third
                            side, "baseline" (built in a temporary git worktree)
  --big-calls <n>           calls per round and side of the large-prompt scenario (default 20; --quick: 5)
  --big-mib <n>             size of the large-prompt body in MiB (default ${BIG_BODY_BYTES / 1024 / 1024})
  --soak                    after the scenarios: a soak at --soak-rate against the gateway, RSS every ${SOAK_INTERVAL_S} s
  --soak-minutes <n>        soak length (default 10)
  --soak-rate <rps>         soak rate (default 500)
  --soak-warmup <s>         load at the soak rate before the "before" RSS reading (default 60)
  --soak-cache on|off       soak with the processor's response cache on (default) or off (CACHE_TTL_SECONDS=0)
  --redis                   cache-hit scenarios: store in a redis-server started for the run
                            (${REDIS_BIN}) instead of the processor's in-process store
  --envoy-concurrency <n>   Envoy worker threads, every proxy (default: the number of gateway CPUs)
  --envoy-runtime <k=v>     Envoy runtime override for every proxy (repeatable), e.g.
                            envoy.reloadable_features.ext_proc_graceful_grpc_close=true
  --processor-log <file>    processor stdout (its JSON logs) to this file (default /dev/null)
  --profile                 also profile the gateway processor (node --cpu-prof) during an extra load
  --profile-scenario <s>    load to profile: c16 (default), c64 or seq
`;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      rates: { type: 'string' },
      scenarios: { type: 'string' },
      'gateway-cpus': { type: 'string' },
      'load-cpus': { type: 'string' },
      workers: { type: 'string' },
      transport: { type: 'string' },
      'baseline-ref': { type: 'string' },
      'big-calls': { type: 'string' },
      'big-mib': { type: 'string' },
      soak: { type: 'boolean', default: false },
      'soak-minutes': { type: 'string' },
      'soak-rate': { type: 'string' },
      'soak-warmup': { type: 'string' },
      'soak-cache': { type: 'string' },
      redis: { type: 'boolean', default: false },
      'envoy-concurrency': { type: 'string' },
      'envoy-runtime': { type: 'string', multiple: true },
      'processor-log': { type: 'string' },
      profile: { type: 'boolean', default: false },
      'profile-scenario': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(usage());
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, dflt: number, min: number): number => {
    if (raw === undefined) return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const quick = values.quick === true;

  const rates = values.rates ? values.rates.split(',').map((r) => num('rates', r.trim(), 0, 1)) : [...DEFAULT_RATES];
  const asked = (values.scenarios ?? 'all')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const wanted = new Set<string>();
  for (const a of asked) {
    if (a === 'all') {
      for (const id of [...FIXED_IDS_BEFORE_OPEN, ...rates.map((r) => `open-${r}`), ...FIXED_IDS_AFTER_OPEN]) wanted.add(id);
    } else if (a === 'none') {
      // nothing
    } else if (a === 'open') {
      for (const r of rates) wanted.add(`open-${r}`);
    } else if (/^open-\d+$/.test(a)) {
      const r = Number(a.slice(5));
      if (!(r >= 1)) throw new Error(`bad open-loop rate in ${a}`);
      if (!rates.includes(r)) rates.push(r);
      wanted.add(a);
    } else if ([...FIXED_IDS_BEFORE_OPEN, ...FIXED_IDS_AFTER_OPEN].includes(a)) {
      wanted.add(a);
    } else {
      throw new Error(`unknown scenario ${a} (known: seq, open, open-<rate>, ${FIXED_IDS_AFTER_OPEN.join(', ')}, all, none)`);
    }
  }
  rates.sort((a, b) => a - b);
  // Canonical order: the cache-hit stacks start after the overhead scenarios, so they sit idle during none of them.
  const scenarios = [...FIXED_IDS_BEFORE_OPEN, ...rates.map((r) => `open-${r}`), ...FIXED_IDS_AFTER_OPEN].filter((id) => wanted.has(id));

  const redis = values.redis === true;
  if (redis && !scenarios.some((s) => s === 'hit' || s === 'hit-c16'))
    throw new Error('--redis only applies to the cache-hit scenarios (hit, hit-c16), and none is selected');
  const envoyRuntime: EnvoyRuntime = {};
  for (const kv of values['envoy-runtime'] ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new Error(`--envoy-runtime expects key=value, got ${JSON.stringify(kv)}`);
    const raw = kv.slice(eq + 1);
    envoyRuntime[kv.slice(0, eq)] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  const profileScenario = values['profile-scenario'] ?? 'c16';
  if (profileScenario !== 'seq' && profileScenario !== 'c16' && profileScenario !== 'c64') throw new Error('--profile-scenario must be seq, c16 or c64');
  const soakCache = values['soak-cache'] ?? 'on';
  if (soakCache !== 'on' && soakCache !== 'off') throw new Error('--soak-cache must be on or off');

  const d = defaultCpuSets();
  const allowed = new Set(allowedCpus());
  const gatewayCpus = values['gateway-cpus'] ? parseCpuList(values['gateway-cpus']) : d.gateway;
  const loadCpus = values['load-cpus'] ? parseCpuList(values['load-cpus']) : d.load;
  for (const cpu of [...gatewayCpus, ...loadCpus])
    if (!allowed.has(cpu)) throw new Error(`CPU ${cpu} is not one this process may use (${formatCpuList([...allowed])})`);
  const workers = Math.floor(num('workers', values.workers, gatewayCpus.length, 1));
  const transport = values.transport ?? 'unix';
  if (transport !== 'unix' && transport !== 'tcp') throw new Error('--transport must be unix or tcp');
  if (scenarios.length === 0 && values.soak !== true && values.profile !== true)
    throw new Error('nothing to run: no scenario selected, and neither --soak nor --profile');

  return {
    durationS: num('duration', values.duration, quick ? 3 : 10, 1),
    warmupS: quick ? 1 : 3,
    rounds: Math.floor(num('rounds', values.rounds, quick ? 1 : 2, 1)),
    rates,
    quick,
    scenarios,
    gatewayCpus,
    loadCpus,
    workers,
    transport,
    baselineRef: values['baseline-ref'],
    bigCalls: Math.floor(num('big-calls', values['big-calls'], quick ? 5 : 20, 1)),
    bigBytes: Math.round(num('big-mib', values['big-mib'], BIG_BODY_BYTES / 1024 / 1024, 0.01) * 1024 * 1024),
    soak: values.soak === true,
    soakMinutes: num('soak-minutes', values['soak-minutes'], 10, 0.1),
    soakRate: num('soak-rate', values['soak-rate'], 500, 1),
    soakWarmupS: num('soak-warmup', values['soak-warmup'], 60, 0),
    soakCache,
    envoyConcurrency: Math.floor(num('envoy-concurrency', values['envoy-concurrency'], gatewayCpus.length, 1)),
    envoyRuntime,
    processorLog: values['processor-log'] ? path.resolve(values['processor-log']) : '/dev/null',
    profile: values.profile === true,
    profileScenario,
    redis,
  };
}

// ---- scenarios --------------------------------------------------------------------------------

interface ScenarioDef {
  id: string;
  kind: ScenarioKind;
  group: 'overhead' | 'hit';
  title: string;
  metric: string;
  tool: string;
  connections: number;
  rate?: number;
  translated?: boolean;
}

function scenarioDef(id: string, o: Options): ScenarioDef {
  const threads = wrkThreads(o);
  const store = o.redis ? 'redis' : 'memory';
  if (id.startsWith('open-')) {
    const rate = Number(id.slice(5));
    return {
      id,
      kind: 'open',
      group: 'overhead',
      title: `open loop ${rate} RPS`,
      metric: "latency from each request's scheduled send time to the end of the response (open loop, no coordinated omission)",
      tool: `bench/load/open-loop.ts (Node, raw keep-alive HTTP/1.1, up to ${OPEN_MAX_SOCKETS} connections, timeout ${OPEN_TIMEOUT_MS / 1000} s from the scheduled time)`,
      connections: OPEN_MAX_SOCKETS,
      rate,
    };
  }
  switch (id) {
    case 'seq':
      return {
        id,
        kind: 'wrk',
        group: 'overhead',
        title: 'sequential (1 conn)',
        metric: 'request latency, one request at a time (closed loop)',
        tool: 'wrk -t1 -c1',
        connections: 1,
      };
    case 'c16':
    case 'c64': {
      const n = Number(id.slice(1));
      return {
        id,
        kind: 'wrk',
        group: 'overhead',
        title: `closed loop c${n}`,
        metric: `request latency at ${n} connections, as fast as possible`,
        tool: `wrk -t${threads} -c${n}`,
        connections: n,
      };
    }
    case 'stream':
    case 'stream-c16': {
      const n = id === 'stream' ? 1 : 16;
      return {
        id,
        kind: 'stream',
        group: 'overhead',
        title: `stream TTFB (${n} conn)`,
        metric: `time to the first response body byte of a stream: true call, ${n === 1 ? 'one at a time' : `${n} at a time`}`,
        tool: `bench/load/stream-ttfb.ts (Node, ${n} keep-alive connection${n === 1 ? '' : 's'})`,
        connections: n,
      };
    }
    case 'stream-x':
      return {
        id,
        kind: 'stream',
        group: 'overhead',
        title: 'translated stream TTFB (1 conn)',
        metric:
          'time to first body byte: bare = an OpenAI stream: true call; processor sides = the same call made with the Anthropic Messages API, translated both ways to the OpenAI-format backend',
        tool: 'bench/load/stream-ttfb.ts (Node, 1 keep-alive connection)',
        connections: 1,
        translated: true,
      };
    case 'big':
      return {
        id,
        kind: 'big',
        group: 'overhead',
        title: `large prompt ${(o.bigBytes / 1024 / 1024).toFixed(o.bigBytes % (1024 * 1024) === 0 ? 0 : 2)} MiB`,
        metric: `whole-call latency of an OpenAI chat call whose body is ${o.bigBytes.toLocaleString('en-US')} bytes, ${o.bigCalls} sequential calls per round after 1 warm-up call`,
        tool: 'bench/load/big-prompt.ts (Node, 1 keep-alive connection)',
        connections: 1,
      };
    case 'hit':
    case 'hit-c16': {
      const n = id === 'hit' ? 1 : 16;
      return {
        id,
        kind: 'wrk',
        group: 'hit',
        title: `cache hit, ${n === 1 ? '1 conn' : `c${n}`} (${store})`,
        metric: `request latency at ${n} connection(s): bare = Envoy -> simulator, processor sides = answered from the response cache`,
        tool: `wrk -t${n === 1 ? 1 : threads} -c${n}`,
        connections: n,
      };
    }
    default:
      throw new Error(`unknown scenario ${id}`);
  }
}

/** wrk threads for multi-connection loads: one per load CPU, at most 2 (wrk's epoll loop is cheap). */
function wrkThreads(o: Options): number {
  return Math.max(1, Math.min(2, o.loadCpus.length));
}

// ---- records ----------------------------------------------------------------------------------

interface RunCpu {
  envoyS: number;
  processorS?: number;
  /** Calls the CPU is divided by: Envoy's downstream_rq_completed growth (client count if unreadable). */
  calls: number;
  envoyUsPerCall: number;
  processorUsPerCall?: number;
  totalUsPerCall: number;
  /** CPU of the proxy under test over the wall time of the load, in cores. */
  proxyCores: number;
  /** CPU used on the gateway / load CPU sets by processes that are not this benchmark's, in cores. */
  foreignGatewayCores: number;
  foreignLoadCores: number;
  /** Interrupt and softirq time on the gateway CPUs (mostly loopback networking), in cores; charged to no process. */
  gatewayIrqCores: number;
  /** The load generator of this run plus this orchestrator, in cores (the simulator not included). */
  generatorCores: number;
  /** The simulator, in cores. */
  simulatorCores: number;
}

interface RunRecord {
  scenario: string;
  side: Side;
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
  cpu: RunCpu;
  /** CPU used during the run by every process of the benchmark, in cores. */
  cpuCores: Record<string, number>;
  envoyCounters: Record<string, number>;
  detail: Record<string, unknown>;
}

// ---- helpers ----------------------------------------------------------------------------------

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
/** CPUs available to the benchmark, read before it pins itself (availableParallelism follows the affinity). */
const MACHINE_CPUS = os.availableParallelism();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const here = path.dirname(fileURLToPath(import.meta.url));
const round3 = (n: number) => Math.round(n * 1000) / 1000;

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
  // Envoy counts responses the client did not record (warm-up requests of the Node clients), so
  // only the excess over what the client already reported adds to the total.
  // Cache hits: a 200 that was not a hit, a provider call, or a hit count that does not add up.
  const cache = (e.notHit ?? 0) + (e.providerCalls ?? 0) + (e.uncountedHits ?? 0);
  const total = e.non200 + e.socket + e.timeouts + e.badStreams + Math.max(0, envoyNon2xx - e.non200) + cache;
  return { ...e, envoyNon2xx, total };
}

/**
 * CPU seconds per CPU from /proc/stat: `busy` = user + nice + system + steal (time some process, or
 * the hypervisor, held the CPU), `irq` = irq + softirq (interrupt work, mostly this benchmark's own
 * loopback traffic, which no process is charged for).
 */
function busyPerCpu(): Map<number, { busy: number; irq: number }> {
  const out = new Map<number, { busy: number; irq: number }>();
  try {
    for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
      const m = /^cpu(\d+) (.*)$/.exec(line);
      if (!m) continue;
      const f = m[2]!.trim().split(/\s+/).map(Number);
      out.set(Number(m[1]), { busy: ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[7] ?? 0)) / clockTicks(), irq: ((f[5] ?? 0) + (f[6] ?? 0)) / clockTicks() });
    }
  } catch {
    // not Linux
  }
  return out;
}

function busyOf(m: Map<number, { busy: number; irq: number }>, cpus: readonly number[], k: 'busy' | 'irq' = 'busy'): number {
  return cpus.reduce((s, c) => s + (m.get(c)?.[k] ?? 0), 0);
}

/** "<hash>/1.40.0/Clean/RELEASE/BoringSSL" from `envoy --version` (the binary every proxy runs). */
function envoyVersionOf(): string {
  try {
    const out = execFileSync(envoyBinary(), ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return /version: (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---- the stacks -------------------------------------------------------------------------------

/** A processor with the cache on and its own gateway Envoy, for the cache-hit scenarios. */
interface HitStack {
  processor: Processor;
  proxy: ProxyUnderTest;
  redis?: RedisServer;
  /** The bench request, counting every 200 without `x-gateway-cache: hit` (same bytes sent). */
  wrkScript: string;
  preflight: { gateway: PreflightReport; cache: CacheHitPreflight };
}

interface SideStack {
  side: Side;
  proxy: ProxyUnderTest;
  processor?: Processor;
  hit?: HitStack;
  preflight?: PreflightReport;
}

interface RssTracker {
  start: number;
  afterRuns: number;
  peak: number;
  processes: number;
  samples: Array<{ after: string; bytes: number }>;
}

interface Ctx {
  opts: Options;
  root: string;
  tmp: string;
  key: string;
  body: string;
  streamBody: string;
  wrkScript: string;
  sim: Simulator;
  stacks: Partial<Record<Side, SideStack>>;
  baseline?: Baseline;
  rss: Record<string, RssTracker>;
  pins: Record<string, PinReport>;
}

/** Every process of the proxy-under-test CPU set, by name (for pinning and the foreign-CPU estimate). */
function gatewayProcesses(c: Ctx): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const s of SIDES) {
    const st = c.stacks[s];
    if (!st) continue;
    out[`envoy-${s}`] = st.proxy.envoy.child.pid;
    if (st.processor) out[`processor-${s}`] = st.processor.child.pid;
    if (st.hit) {
      out[`envoy-${s}-cache`] = st.hit.proxy.envoy.child.pid;
      out[`processor-${s}-cache`] = st.hit.processor.child.pid;
    }
  }
  return out;
}

function allProcesses(c: Ctx): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = { simulator: c.sim.child.pid, ...gatewayProcesses(c) };
  for (const s of SIDES) {
    const r = c.stacks[s]?.hit?.redis;
    if (r) out[`redis-${s}`] = r.child.pid;
  }
  return out;
}

function cpuSnapshot(pids: Record<string, number | undefined>): CpuSnapshot {
  const out: CpuSnapshot = {};
  for (const [name, pid] of Object.entries(pids)) out[name] = treeCpuSeconds(pid);
  return out;
}

function pinGatewaySide(c: Ctx, name: string, pid: number | undefined): void {
  const r = pinTree(pid, c.opts.gatewayCpus);
  // Keep a count of every taskset made for this process over the run (0 after the first: nothing drifted).
  if (r) c.pins[name] = { ...r, pinned: r.pinned + (c.pins[name]?.pid === r.pid ? c.pins[name]!.pinned : 0) };
}

function trackRss(c: Ctx, name: string, pid: number | undefined, when: string, phase: 'start' | 'sample' | 'after'): void {
  const r = treeRssBytes(pid);
  let t = c.rss[name];
  if (!t) t = c.rss[name] = { start: r.bytes, afterRuns: NaN, peak: r.bytes, processes: r.processes, samples: [] };
  if (phase === 'after') t.afterRuns = r.bytes;
  t.peak = Math.max(t.peak, r.bytes);
  t.processes = r.processes;
  t.samples.push({ after: when, bytes: r.bytes });
}

function assertAlive(c: Ctx): void {
  const children: Record<string, ChildProcess> = { simulator: c.sim.child };
  for (const s of SIDES) {
    const st = c.stacks[s];
    if (!st) continue;
    children[`envoy-${s}`] = st.proxy.envoy.child;
    if (st.processor) children[`processor-${s}`] = st.processor.child;
    if (st.hit) {
      children[`envoy-${s}-cache`] = st.hit.proxy.envoy.child;
      children[`processor-${s}-cache`] = st.hit.processor.child;
    }
  }
  const dead = Object.entries(children)
    .filter(([, ch]) => ch.exitCode !== null || ch.signalCode !== null)
    .map(([n, ch]) => `${n} (exit ${ch.exitCode ?? ch.signalCode})`);
  if (dead.length > 0) {
    const stderr = SIDES.flatMap((s) => {
      const st = c.stacks[s];
      return [
        st?.processor ? `processor-${s} stderr:\n${st.processor.stderr()}` : '',
        st?.hit ? `processor-${s}-cache stderr:\n${st.hit.processor.stderr()}` : '',
      ];
    })
      .filter(Boolean)
      .join('\n');
    throw new Error(`process died during the benchmark: ${dead.join(', ')}\n${stderr}`);
  }
}

/** Starts a processor of `side` (this tree's, or the baseline's), registers it for teardown and pins it. */
async function startSideProcessor(c: Ctx, side: ProcessorSide, o: Omit<ProcessorOptions, 'gatewayKey' | 'providerKey' | 'logFile'>): Promise<Processor> {
  const opts: ProcessorOptions = { gatewayKey: c.key, providerKey: PROVIDER_KEY, logFile: c.opts.processorLog, ...o };
  // One worker per gateway CPU (the processor's own default would count the machine's), each on
  // its own Unix socket unless --transport tcp; the baseline tree runs as it knows how.
  opts.workers = c.opts.workers;
  if (side !== 'baseline') opts.unixSockets = c.opts.transport === 'unix';
  const p = side === 'baseline' ? await c.baseline!.stack.startProcessor(opts) : await startProcessor(opts);
  track(o.name ?? `processor-${side}`, p.child);
  pinGatewaySide(c, o.name ?? `processor-${side}`, p.child.pid);
  return p;
}

/** Every Envoy started, so that each one's temporary config directory is removed on every way out. */
const startedEnvoys: Array<{ stop(): Promise<void> }> = [];

async function startSideGatewayEnvoy(c: Ctx, side: ProcessorSide, processor: Processor, name: string): Promise<ProxyUnderTest> {
  const o = c.opts;
  const px =
    side === 'baseline'
      ? await c.baseline!.stack.startGatewayEnvoy(c.sim.port, processor.grpcPort, o.envoyConcurrency, o.envoyRuntime, name)
      : await startGatewayEnvoy(c.sim.port, processor.grpcPort, o.envoyConcurrency, o.envoyRuntime, name, processor.sockets);
  track(name, px.envoy.child);
  startedEnvoys.push(px.envoy);
  pinGatewaySide(c, name, px.envoy.child.pid);
  return px;
}

/**
 * Starts the cache-hit stack of a processor side (Redis with --redis, a processor with the cache
 * on, its gateway Envoy), checks it (the gateway pre-flight, then a repeat must be a hit that
 * reaches neither the simulator nor the processor's miss counter, and no-store must still reach
 * the simulator), and warms it up with the hit load's own script.
 */
async function startHitStack(c: Ctx, side: ProcessorSide): Promise<HitStack> {
  const o = c.opts;
  let redis: RedisServer | undefined;
  if (o.redis) {
    redis = await startRedis();
    log(`redis-server for ${side} on 127.0.0.1:${redis.port} (no persistence, load CPUs)`);
  }
  const processor = await startSideProcessor(c, side, { cache: { ttlSeconds: HIT_CACHE_TTL_S, redisUrl: redis?.url }, name: `processor-${side}-cache` });
  const proxy = await startSideGatewayEnvoy(c, side, processor, `envoy-${side}-cache`);
  log(
    `cache-hit stack (${side}): processor gRPC 127.0.0.1:${processor.grpcPort} (cache on, ${redis ? `REDIS_URL ${redis.url}` : 'in-process store'}, TTL ${HIT_CACHE_TTL_S}s), envoy ${proxy.url}`,
  );
  const gateway = await preflight(proxy, c.key, c.body, c.streamBody, 'miss');
  const cache = await preflightCacheHit(proxy, processor, c.sim, c.key, c.body);
  log(
    `pre-flight (cache, ${side}): first call x-gateway-cache: ${gateway.cacheHeader}; repeat -> ${cache.hitStatus} x-gateway-cache: ${cache.hitHeader} ` +
      `(hit after ${cache.firstHitAfterMs} ms), simulator calls ${cache.simulatorCallsForHit ?? 'unreadable'}, processor hits +${cache.hitsCounted}; ` +
      `cache-control: no-store -> x-gateway-cache: ${cache.noStoreHeader}, simulator calls ${cache.noStoreSimulatorCalls ?? 'unreadable'}`,
  );
  trackRss(c, `${side} (cache on)`, processor.child.pid, 'start', 'start');
  const wrkScript = writeWrkScript(c.tmp, `chat-hit-${side}`, c.body, c.key, { name: 'x-gateway-cache', value: 'hit' });
  log(`warm-up cache hits (${side}): wrk -t${wrkThreads(o)} -c16 ${o.warmupS}s`);
  const w = await runWrk({ url: proxy.url, script: wrkScript, threads: wrkThreads(o), connections: 16, durationS: o.warmupS });
  if (w.requests - w.non200 - w.missingHeader === 0) {
    throw new Error(
      `warm-up of the ${side} cache-hit gateway: no hit among ${w.requests} responses (${w.non200} non-200, first status ${w.firstBadStatus}; ${w.missingHeader} 200s without x-gateway-cache: hit)`,
    );
  }
  return { processor, proxy, redis, wrkScript, preflight: { gateway, cache } };
}

// ---- one measured load ------------------------------------------------------------------------

interface LoadOutcome {
  dist: Dist;
  durationS: number;
  ok: number;
  /** Responses the client saw complete (fallback denominator for CPU per call). */
  clientCalls: number;
  base: Omit<ErrorCounts, 'total' | 'envoyNon2xx'>;
  detail: Record<string, unknown>;
}

async function runLoad(c: Ctx, def: ScenarioDef, side: Side, proxy: ProxyUnderTest, hit: HitStack | undefined): Promise<LoadOutcome> {
  const o = c.opts;
  const dist = new Dist();
  if (def.kind === 'wrk') {
    const connections = def.connections;
    const threads = connections === 1 ? 1 : wrkThreads(o);
    // Cache hits, processor sides: read the simulator's request count and the processor's cache
    // counters around the load (outside the measured window). A hit must reach neither.
    const simBefore = hit ? await simulatorRequestCount(c.sim) : undefined;
    const cacheBefore = hit ? await processorCacheCounters(hit.processor) : undefined;
    const r: WrkResult = await runWrk({ url: proxy.url, script: hit ? hit.wrkScript : c.wrkScript, threads, connections, durationS: o.durationS });
    dist.addQuantiles(r.quantilesUs, r.requests, r.latencyUs.max);
    const ok = r.requests - r.non200 - r.missingHeader;
    const base: LoadOutcome['base'] = {
      non200: r.non200,
      socket: r.errors.connect + r.errors.read + r.errors.write,
      timeouts: r.errors.timeout,
      badStreams: 0,
      first: r.firstBadStatus ? `status ${r.firstBadStatus}` : r.missingHeader ? `${r.missingHeader} x 200 without x-gateway-cache: hit` : undefined,
    };
    const detail: Record<string, unknown> = {
      tool: `wrk -t${threads} -c${connections} -d${o.durationS}s`,
      requests: r.requests,
      wrkLatencyUs: r.latencyUs,
      wrkErrors: r.errors,
    };
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
    return { dist, durationS: r.durationS, ok, clientCalls: r.requests, base, detail };
  }

  if (def.kind === 'open') {
    const rate = def.rate!;
    const r = await runNodeClient<OpenLoopResult>(
      'open-loop',
      'open-loop.js',
      {
        url: proxy.url,
        key: c.key,
        body: c.body,
        rate,
        durationS: o.durationS,
        warmupS: OPEN_WARMUP_S,
        maxSockets: OPEN_MAX_SOCKETS,
        timeoutMs: OPEN_TIMEOUT_MS,
      },
      o.durationS + OPEN_WARMUP_S + OPEN_TIMEOUT_MS / 1000 + 30,
    );
    dist.addSamples(r.latencyUs);
    const firstStatus = Object.keys(r.statusCounts)[0];
    return {
      dist,
      durationS: r.elapsedS,
      ok: r.ok,
      clientCalls: r.ok + r.non200,
      base: {
        non200: r.non200,
        socket: r.socketErrors,
        timeouts: r.timeouts,
        badStreams: 0,
        first: r.firstError ?? (firstStatus && `status ${firstStatus}`) ?? (r.timeouts ? `${r.timeouts} timeouts` : undefined),
      },
      detail: {
        tool: `open-loop rate=${rate} duration=${o.durationS}s warmup=${OPEN_WARMUP_S}s maxSockets=${OPEN_MAX_SOCKETS} timeout=${OPEN_TIMEOUT_MS}ms`,
        scheduled: r.scheduled,
        achievedRps: r.achievedRps,
        achievedShare: r.achievedRps / rate,
        offeredRps: r.offeredRps,
        offeredShare: r.offeredRps / rate,
        statusCounts: r.statusCounts,
        serviceTimeMs: { p50: ms(r.serviceUs.p50), p90: ms(r.serviceUs.p90), p99: ms(r.serviceUs.p99) },
        sendLagMs: { p50: ms(r.sendLagUs.p50), p90: ms(r.sendLagUs.p90), p99: ms(r.sendLagUs.p99), max: ms(r.sendLagUs.max) },
        queueMs: { p50: ms(r.queueUs.p50), p99: ms(r.queueUs.p99), max: ms(r.queueUs.max) },
        maxInFlight: r.maxInFlight,
        connectionsOpened: r.connectionsOpened,
        timeline: r.timeline.map((b) => ({ t: b.t, ok: b.ok, errors: b.errors, p50Ms: ms(b.p50Us), p99Ms: ms(b.p99Us), maxMs: ms(b.maxUs) })),
      },
    };
  }

  if (def.kind === 'stream') {
    const translated = def.translated === true && side !== 'bare';
    const cfg = translated
      ? {
          url: `${proxy.url.replace(/\/v1\/chat\/completions$/, '')}/v1/messages`,
          api: 'anthropic',
          key: c.key,
          body: anthropicStreamBody(),
          connections: def.connections,
          durationS: o.durationS,
          warmupS: 0.5,
          timeoutMs: 10_000,
        }
      : { url: proxy.url, key: c.key, body: c.streamBody, connections: def.connections, durationS: o.durationS, warmupS: 0.5, timeoutMs: 10_000 };
    const r = await runNodeClient<StreamResult>('stream-ttfb', 'stream-ttfb.js', cfg, o.durationS + 40);
    dist.addSamples(r.ttfbUs);
    const firstStatus = Object.keys(r.statusCounts)[0];
    return {
      dist,
      durationS: r.elapsedS,
      ok: r.ok,
      clientCalls: r.ok + r.non200 + r.badStreams,
      base: {
        non200: r.non200,
        socket: r.socketErrors,
        timeouts: r.timeouts,
        badStreams: r.badStreams,
        first: r.firstError ?? (firstStatus && `status ${firstStatus}`),
      },
      detail: {
        tool: `stream-ttfb connections=${def.connections} duration=${o.durationS}s warmup=0.5s${translated ? ' api=anthropic' : ''}`,
        statusCounts: r.statusCounts,
        streamTotalMs: summaryMs(new Dist().addSamples(r.totalUs).summary()),
        meanSseEvents: Math.round(r.meanEvents * 10) / 10,
      },
    };
  }

  const r = await runNodeClient<BigPromptResult>(
    'big-prompt',
    'big-prompt.js',
    { url: proxy.url, key: c.key, bodyBytes: o.bigBytes, calls: o.bigCalls, warmupCalls: 0, timeoutMs: 30_000 },
    o.bigCalls * 31 + 30,
  );
  dist.addSamples(r.latencyUs);
  const firstStatus = Object.keys(r.statusCounts)[0];
  return {
    dist,
    durationS: r.elapsedS,
    ok: r.ok,
    clientCalls: r.calls,
    base: {
      non200: r.non200,
      socket: r.socketErrors,
      timeouts: r.timeouts,
      badStreams: r.badBodies,
      first: r.firstError ?? (firstStatus && `status ${firstStatus}`),
    },
    detail: {
      tool: `big-prompt calls=${o.bigCalls} bodyBytes=${r.bodyBytes} (after 1 unmeasured warm-up call)`,
      bodyBytes: r.bodyBytes,
      statusCounts: r.statusCounts,
      callsMs: r.latencyUs.map(ms),
    },
  };
}

async function runOne(c: Ctx, def: ScenarioDef, side: Side, round: number): Promise<{ record: RunRecord; dist: Dist }> {
  const st = c.stacks[side]!;
  const hit = def.group === 'hit' && side !== 'bare' ? st.hit : undefined;
  if (def.group === 'hit' && side !== 'bare' && !hit) throw new Error(`${def.id}: the ${side} cache-hit stack is not running`);
  const proxy = hit ? hit.proxy : st.proxy;
  const processor = hit ? hit.processor : st.processor;
  const envoyPid = proxy.envoy.child.pid;
  const procPid = processor?.child.pid;
  // Processes a processor forked since the last load inherit its affinity; check anyway.
  pinGatewaySide(c, hit ? `envoy-${side}-cache` : `envoy-${side}`, envoyPid);
  if (procPid) pinGatewaySide(c, hit ? `processor-${side}-cache` : `processor-${side}`, procPid);

  if (def.kind === 'big') {
    // One call before the measured window (its CPU and latency are not counted): the first large
    // body after start-up pays one-time costs (code paths never run before, heap growth).
    const w = await runNodeClient<BigPromptResult>(
      'big-prompt',
      'big-prompt.js',
      { url: proxy.url, key: c.key, bodyBytes: c.opts.bigBytes, calls: 1, warmupCalls: 0, timeoutMs: 30_000 },
      60,
    );
    if (w.ok !== 1) log(`large prompt warm-up call against ${side}: not OK (${w.firstError ?? JSON.stringify(w.statusCounts)})`);
  }
  const counters0 = await envoyCounters(proxy);
  const gwProcs = gatewayProcesses(c);
  const named0 = cpuSnapshot(allProcesses(c));
  const gw0 = Object.values(cpuSnapshot(gwProcs)).reduce((s, v) => s + (Number.isNaN(v) ? 0 : v), 0);
  const self0 = treeCpuSeconds(process.pid);
  const busy0 = busyPerCpu();
  const envoy0 = treeCpuSeconds(envoyPid);
  const proc0 = procPid ? treeCpuSeconds(procPid) : undefined;
  const wallStart = process.hrtime.bigint();
  const startedAt = new Date().toISOString();

  const out = await runLoad(c, def, side, proxy, hit);

  const wallS = Number(process.hrtime.bigint() - wallStart) / 1e9;
  const envoyS = treeCpuSeconds(envoyPid) - envoy0;
  const processorS = procPid && proc0 !== undefined ? treeCpuSeconds(procPid) - proc0 : undefined;
  const busy1 = busyPerCpu();
  const self1 = treeCpuSeconds(process.pid);
  const gw1 = Object.values(cpuSnapshot(gwProcs)).reduce((s, v) => s + (Number.isNaN(v) ? 0 : v), 0);
  const cpuCores = cpuShare(named0, cpuSnapshot(allProcesses(c)), wallS);
  const envoy = counterDelta(counters0, await envoyCounters(proxy));
  assertAlive(c);

  const calls = envoy.downstream_rq_completed ?? out.clientCalls;
  const gwBusy = busyOf(busy1, c.opts.gatewayCpus) - busyOf(busy0, c.opts.gatewayCpus);
  const loadBusy = busyOf(busy1, c.opts.loadCpus) - busyOf(busy0, c.opts.loadCpus);
  const gwOurs = gw1 - gw0;
  const loadOurs = self1 - self0 - gwOurs;
  const overlap = c.opts.gatewayCpus.some((x) => c.opts.loadCpus.includes(x));
  const cpu: RunCpu = {
    envoyS: round3(envoyS),
    processorS: processorS === undefined ? undefined : round3(processorS),
    calls,
    envoyUsPerCall: calls > 0 ? Math.round((10 * envoyS * 1e6) / calls) / 10 : NaN,
    processorUsPerCall: processorS === undefined ? undefined : calls > 0 ? Math.round((10 * processorS * 1e6) / calls) / 10 : NaN,
    totalUsPerCall: calls > 0 ? Math.round((10 * (envoyS + (processorS ?? 0)) * 1e6) / calls) / 10 : NaN,
    proxyCores: Math.round((100 * (envoyS + (processorS ?? 0))) / wallS) / 100,
    foreignGatewayCores: overlap ? NaN : Math.max(0, Math.round((100 * (gwBusy - gwOurs)) / wallS) / 100),
    foreignLoadCores: overlap ? NaN : Math.max(0, Math.round((100 * (loadBusy - loadOurs)) / wallS) / 100),
    generatorCores: Math.round((100 * (loadOurs - (cpuCores.simulator ?? 0) * wallS)) / wallS) / 100,
    simulatorCores: cpuCores.simulator ?? NaN,
    gatewayIrqCores: Math.round((100 * (busyOf(busy1, c.opts.gatewayCpus, 'irq') - busyOf(busy0, c.opts.gatewayCpus, 'irq'))) / wallS) / 100,
  };
  const record: RunRecord = {
    scenario: def.id,
    side,
    round,
    startedAt,
    durationS: round3(out.durationS),
    ok: out.ok,
    rps: out.durationS > 0 ? Math.round((10 * out.ok) / out.durationS) / 10 : 0,
    latencyMs: summaryMs(out.dist.summary()),
    errors: errorCounts(out.base, envoy),
    cpu,
    cpuCores,
    envoyCounters: envoy,
    detail: out.detail,
  };
  if (processor) trackRss(c, hit ? `${side} (cache on)` : side, procPid, `${def.id} r${round}`, 'sample');
  const cpuText = `cpu/call: envoy ${cpu.envoyUsPerCall} µs${cpu.processorUsPerCall !== undefined ? `, processor ${cpu.processorUsPerCall} µs` : ''} (proxy ${cpu.proxyCores} cores; other load on gw/load CPUs ${cpu.foreignGatewayCores}/${cpu.foreignLoadCores})`;
  log(
    `${def.title} | round ${round} | ${side.padEnd(8)} | ${record.rps.toFixed(0)} ok/s | p50 ${record.latencyMs.p50.toFixed(3)} p99 ${record.latencyMs.p99.toFixed(3)} max ${record.latencyMs.max.toFixed(3)} ms | ` +
      `errors ${record.errors.total}${record.errors.first ? ` (${record.errors.first})` : ''} | ${cpuText}`,
  );
  return { record, dist: out.dist };
}

function pool(runs: Array<{ record: RunRecord; dist: Dist }>): PooledSide | undefined {
  if (runs.length === 0) return undefined;
  const d = new Dist();
  let ok = 0;
  let seconds = 0;
  let errors = 0;
  let timeouts = 0;
  let envoyS = 0;
  let processorS: number | undefined;
  let calls = 0;
  let coreSeconds = 0;
  let wall = 0;
  let achievedShare: number | undefined;
  let offeredShare: number | undefined;
  let sendLagP99Ms: number | undefined;
  let foreign = NaN;
  for (const r of runs) {
    if (Number.isFinite(r.record.cpu.foreignGatewayCores)) foreign = Math.max(Number.isNaN(foreign) ? 0 : foreign, r.record.cpu.foreignGatewayCores);
    d.addDist(r.dist);
    ok += r.record.ok;
    seconds += r.record.durationS;
    errors += r.record.errors.total;
    timeouts += r.record.errors.timeouts;
    envoyS += r.record.cpu.envoyS;
    if (r.record.cpu.processorS !== undefined) processorS = (processorS ?? 0) + r.record.cpu.processorS;
    calls += r.record.cpu.calls;
    coreSeconds += r.record.cpu.proxyCores * r.record.durationS;
    wall += r.record.durationS;
    const share = r.record.detail.achievedShare as number | undefined;
    if (share !== undefined) achievedShare = Math.min(achievedShare ?? Infinity, share);
    const offered = r.record.detail.offeredShare as number | undefined;
    if (offered !== undefined) offeredShare = Math.min(offeredShare ?? Infinity, offered);
    const lag = (r.record.detail.sendLagMs as { p99: number } | undefined)?.p99;
    if (lag !== undefined) sendLagP99Ms = Math.max(sendLagP99Ms ?? 0, lag);
  }
  const perCall = (s: number) => (calls > 0 ? Math.round((10 * s * 1e6) / calls) / 10 : NaN);
  return {
    runs: runs.length,
    rps: seconds > 0 ? Math.round((10 * ok) / seconds) / 10 : 0,
    ok,
    latencyMs: summaryMs(d.summary()),
    errors,
    timeouts,
    cpu: {
      envoy: perCall(envoyS),
      processor: processorS === undefined ? undefined : perCall(processorS),
      total: perCall(envoyS + (processorS ?? 0)),
      calls,
      cores: wall > 0 ? Math.round((100 * coreSeconds) / wall) / 100 : NaN,
    },
    achievedShare: achievedShare === undefined ? undefined : Math.round(1000 * achievedShare) / 1000,
    offeredShare: offeredShare === undefined ? undefined : Math.round(1000 * offeredShare) / 1000,
    sendLagP99Ms,
    foreignGatewayCores: foreign,
  };
}

// ---- profile ----------------------------------------------------------------------------------

interface ProfileOutcome {
  summary: ProfileSummary;
  text: string;
  profiledRun: { rps: number; latencyMs: { p50: number; p90: number; p99: number }; errors: number };
  processorExitCode: number | null;
}

async function profilePhase(c: Ctx, stamp: string): Promise<ProfileOutcome> {
  const o = c.opts;
  const sc = o.profileScenario;
  const threads = sc === 'seq' ? 1 : wrkThreads(o);
  const connections = sc === 'seq' ? 1 : sc === 'c16' ? 16 : 64;
  const dir = path.join(c.root, 'bench', 'results', 'profile');
  mkdirSync(dir, { recursive: true });
  const name = `processor-${sc}-${stamp}.cpuprofile`;
  log(`profile: starting a processor with --cpu-prof (${path.relative(c.root, dir)}/${name}) and its own gateway Envoy, pinned like the gateway`);
  const proc = await startSideProcessor(c, 'gateway', {
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`],
    name: 'processor-profile',
  });
  const gw = await startSideGatewayEnvoy(c, 'gateway', proc, 'envoy-gateway-profile');
  await preflight(gw, c.key, c.body, c.streamBody);
  log(`profile: warm-up ${o.warmupS}s, then wrk -t${threads} -c${connections} for ${o.durationS}s (only this window is summarised)`);
  await runWrk({ url: gw.url, script: c.wrkScript, threads: wrkThreads(o), connections: 16, durationS: o.warmupS });
  await sleep(300);
  const before = await envoyCounters(gw);
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  const r = await runWrk({ url: gw.url, script: c.wrkScript, threads, connections, durationS: o.durationS });
  const toUs = Number(process.hrtime.bigint() / 1000n);
  const envoy = counterDelta(before, await envoyCounters(gw));
  await gw.envoy.stop();
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
    `Processor CPU profile: gateway ${scenarioDef(sc, o).title} (wrk -t${threads} -c${connections} -d${o.durationS}s). Profiled run: ` +
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

// ---- soak -------------------------------------------------------------------------------------

async function soakPhase(c: Ctx): Promise<{ report: SoakReport; detail: Record<string, unknown> }> {
  const o = c.opts;
  const cache = o.soakCache;
  log(
    `soak: a fresh processor (cache ${cache}${cache === 'on' ? `, TTL ${HIT_CACHE_TTL_S}s, in-process store` : ', CACHE_TTL_SECONDS=0'}) and gateway Envoy, pinned like the gateway`,
  );
  const proc = await startSideProcessor(c, 'gateway', { name: 'processor-soak', ...(cache === 'on' ? { cache: { ttlSeconds: HIT_CACHE_TTL_S } } : {}) });
  const gw = await startSideGatewayEnvoy(c, 'gateway', proc, 'envoy-gateway-soak');
  const pre = await preflight(gw, c.key, c.body, c.streamBody, cache === 'on' ? 'miss' : 'bypass');
  const template = uniqueChatBodyTemplate();
  const runId = randomBytes(4).toString('hex');
  const openCfg = (durationS: number, prefix: string) => ({
    url: gw.url,
    key: c.key,
    body: template,
    unique: { marker: UNIQUE_MARKER, prefix: `${runId}-${prefix}-` },
    rate: o.soakRate,
    durationS,
    warmupS: 0,
    maxSockets: OPEN_MAX_SOCKETS,
    timeoutMs: OPEN_TIMEOUT_MS,
    bucketS: SOAK_INTERVAL_S,
  });
  let warm: OpenLoopResult | undefined;
  if (o.soakWarmupS > 0) {
    log(`soak: warm-up ${o.soakWarmupS}s at ${o.soakRate} RPS (every request distinct)`);
    warm = await runNodeClient<OpenLoopResult>('open-loop', 'open-loop.js', openCfg(o.soakWarmupS, 'w'), o.soakWarmupS + 60);
    if (warm.ok === 0) throw new Error(`soak warm-up: no 200 (${JSON.stringify(warm.statusCounts)}, ${warm.firstError ?? ''})`);
  }
  pinGatewaySide(c, 'processor-soak', proc.child.pid);
  const seconds = o.soakMinutes * 60;
  const samples: SoakReport['samples'] = [];
  const sample = (t: number) => {
    const r = treeRssBytes(proc.child.pid);
    samples.push({ t: Math.round(t * 10) / 10, rssBytes: r.bytes, processes: r.processes });
  };
  const t0 = Date.now();
  sample(0);
  log(`soak: ${o.soakMinutes} min at ${o.soakRate} RPS, RSS every ${SOAK_INTERVAL_S}s; before ${(samples[0]!.rssBytes / MB).toFixed(1)} MB`);
  const timer = setInterval(() => {
    sample((Date.now() - t0) / 1000);
    const last = samples[samples.length - 1]!;
    if (samples.length % 6 === 1) log(`soak: t=${last.t.toFixed(0)}s RSS ${(last.rssBytes / MB).toFixed(1)} MB`);
  }, SOAK_INTERVAL_S * 1000);
  let r: OpenLoopResult;
  try {
    r = await runNodeClient<OpenLoopResult>('open-loop', 'open-loop.js', openCfg(seconds, 's'), seconds + OPEN_TIMEOUT_MS / 1000 + 120);
  } finally {
    clearInterval(timer);
  }
  sample((Date.now() - t0) / 1000);
  await gw.envoy.stop();
  const exit = await proc.stop();

  const before = samples[0]!.rssBytes;
  const after = samples[samples.length - 1]!.rssBytes;
  const values = samples.map((s) => s.rssBytes);
  const maxDeviation = Math.max(...values.map((v) => Math.abs(v - before) / before));
  const all = leastSquares(samples.map((x) => [x.t, x.rssBytes]));
  // A garbage-collected heap makes RSS a sawtooth (tens of % between collections), so single
  // readings say little about a trend. The lowest reading of each minute (close to the heap
  // right after a collection) is the steadier signal: "flat" means the least-squares line
  // through those minima moves by at most 5 % of its start over the soak. Soaks shorter than
  // 3 minutes use every reading.
  const floors: Array<[number, number]> = [];
  if (seconds >= 180) {
    for (let m = 0; m * 60 < seconds; m++) {
      const w = samples.filter((x) => x.t >= m * 60 && x.t < (m + 1) * 60).map((x) => x.rssBytes);
      if (w.length > 0) floors.push([m * 60 + 30, Math.min(...w)]);
    }
  }
  const trendPoints = floors.length >= 3 ? floors : samples.map((x): [number, number] => [x.t, x.rssBytes]);
  const trend = leastSquares(trendPoints);
  const first = trendPoints[0]![0];
  const last = trendPoints[trendPoints.length - 1]![0];
  const trendStart = trend.at(first);
  const trendChange = trendStart > 0 ? (trend.at(last) - trendStart) / trendStart : NaN;
  const lat = new Dist().addSamples(r.latencyUs).summary();
  const errors = r.non200 + r.socketErrors + r.timeouts;
  const report: SoakReport = {
    side: 'gateway',
    cache,
    rate: o.soakRate,
    minutes: o.soakMinutes,
    warmupS: o.soakWarmupS,
    intervalS: SOAK_INTERVAL_S,
    samples,
    beforeBytes: before,
    afterBytes: after,
    maxBytes: Math.max(...values),
    minBytes: Math.min(...values),
    change: (after - before) / before,
    maxDeviation,
    slopeMbPerMin: Math.round(((all.slope * 60) / MB) * 100) / 100,
    floorsBytes: floors.map(([, v]) => v),
    trendBasis: floors.length >= 3 ? 'per-minute minima' : 'every reading',
    trendChange,
    flat: Math.abs(trendChange) <= SOAK_FLAT,
    latencyMs: { p50: ms(lat.p50), p99: ms(lat.p99), max: ms(lat.max) },
    ok: r.ok,
    errors,
    achievedRps: Math.round(r.achievedRps),
  };
  log(
    `soak: RSS before ${(before / MB).toFixed(1)} MB, after ${(after / MB).toFixed(1)} MB, max ${(report.maxBytes / MB).toFixed(1)} MB, ` +
      `trend of ${report.trendBasis} ${(100 * trendChange).toFixed(1)} % -> ${report.flat ? 'flat' : 'NOT flat'} within 5 % (largest single deviation ${(100 * maxDeviation).toFixed(1)} %); p50 ${report.latencyMs.p50} p99 ${report.latencyMs.p99} ms, errors ${errors}`,
  );
  return {
    report,
    detail: {
      preflight: pre,
      processorExitCode: exit,
      warmup: warm ? { ok: warm.ok, errors: warm.non200 + warm.socketErrors + warm.timeouts } : undefined,
      statusCounts: r.statusCounts,
      firstError: r.firstError,
      timeline: r.timeline.map((b) => ({ t: b.t, ok: b.ok, errors: b.errors, p50Ms: ms(b.p50Us), p99Ms: ms(b.p99Us), maxMs: ms(b.maxUs) })),
    },
  };
}

/** Least-squares line through (x, y) points. */
function leastSquares(points: Array<[number, number]>): { slope: number; at: (x: number) => number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p[0], 0) / n;
  const my = points.reduce((s, p) => s + p[1], 0) / n;
  const cov = points.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
  const vx = points.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const slope = vx > 0 ? cov / vx : 0;
  return { slope, at: (x) => my + slope * (x - mx) };
}

// ---- main -------------------------------------------------------------------------------------

/** Scratch directory (wrk Lua scripts); removed on every way out. */
let scratch: string | undefined;
let baselineToClean: Baseline | undefined;
function cleanupFiles(): void {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
  if (baselineToClean) {
    baselineToClean.cleanup();
    baselineToClean = undefined;
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const root = benchRoot();
  const resultsDir = path.join(root, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const started = new Date();
  const stamp = started
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  scratch = tmp;
  const key = `gwb-${randomBytes(12).toString('hex')}`;
  const body = chatBody(false);
  const streamBody = chatBody(true);
  const loadavgStart = os.loadavg();
  const defs = opts.scenarios.map((id) => scenarioDef(id, opts));

  // This process and everything it starts run on the load CPUs; the proxies are moved to the gateway CPUs.
  pinProcess(process.pid, opts.loadCpus);
  const overlap = opts.gatewayCpus.some((x) => opts.loadCpus.includes(x));
  log(
    `gateway CPUs ${formatCpuList(opts.gatewayCpus)} (every proxy under test), load CPUs ${formatCpuList(opts.loadCpus)} (generators, simulator, orchestrator)` +
      (overlap ? ' -- the sets overlap: the proxies share CPUs with the load' : ''),
  );
  log(
    `scenarios ${opts.scenarios.join(',') || '(none)'}; ${opts.durationS}s x ${opts.rounds} round(s) per side, warm-up ${opts.warmupS}s; ` +
      `envoy concurrency ${opts.envoyConcurrency}; PROCESSOR_WORKERS ${opts.workers}; transport ${opts.transport}; processor stdout -> ${opts.processorLog}` +
      (opts.baselineRef ? `; baseline ${opts.baselineRef}` : '') +
      (opts.soak ? `; soak ${opts.soakMinutes} min at ${opts.soakRate} RPS, cache ${opts.soakCache}` : '') +
      (Object.keys(opts.envoyRuntime).length > 0 ? `; envoy runtime ${JSON.stringify(opts.envoyRuntime)}` : ''),
  );

  // Before any stack starts, so nothing else of the run competes for the CPU.
  const decisions = measureDecisions();
  log(
    `in-process decisions (median): classifier ${decisions.classifier4kMicros} µs for 4,000 characters (budget 200), ${decisions.classifier30kMicros} µs for 30,000 (budget 1,000); guard ${decisions.guard4kMicros} µs for 4,000 (budget 300)`,
  );

  try {
    let baseline: Baseline | undefined;
    if (opts.baselineRef) {
      baseline = await prepareBaseline(root, opts.baselineRef, log);
      baselineToClean = baseline;
    }
    const sim = await startSimulator();
    log(`simulator on 127.0.0.1:${sim.port} (load CPUs)`);
    const c: Ctx = { opts, root, tmp, key, body, streamBody, wrkScript: writeWrkScript(tmp, 'chat', body, key), sim, stacks: {}, baseline, rss: {}, pins: {} };

    const procSides: ProcessorSide[] = baseline ? ['gateway', 'baseline'] : ['gateway'];
    // The measured stacks run only when there are scenarios (a soak or profile alone brings its own).
    const sides: Side[] = defs.length > 0 ? ['bare', ...procSides] : [];
    if (defs.length > 0) {
      const bare = await startBareEnvoy(sim.port, opts.envoyConcurrency, opts.envoyRuntime);
      startedEnvoys.push(bare.envoy);
      pinGatewaySide(c, 'envoy-bare', bare.envoy.child.pid);
      c.stacks.bare = { side: 'bare', proxy: bare };
      log(`envoy bare ${bare.url}`);
      for (const side of procSides) {
        const processor = await startSideProcessor(c, side, { name: `processor-${side}` });
        const proxy = await startSideGatewayEnvoy(c, side, processor, `envoy-${side}`);
        c.stacks[side] = { side, proxy, processor };
        log(
          `${side}: processor gRPC 127.0.0.1:${processor.grpcPort} (metrics ${processor.metricsPort}), envoy ${proxy.url}${side === 'baseline' ? ` (${baseline!.commit.slice(0, 12)})` : ''}`,
        );
      }
    }

    const preflights: Record<string, unknown> = {};
    for (const side of sides) {
      const st = c.stacks[side]!;
      st.preflight = await preflight(st.proxy, key, body, streamBody);
      preflights[side] = st.preflight;
      const p = st.preflight;
      log(
        side === 'bare'
          ? 'pre-flight bare: 200 chat.completion, no x-gateway-* headers, stream ok'
          : `pre-flight ${side}: 200 with x-gateway-model: ${p.gatewayModel}, x-gateway-provider: ${p.gatewayProvider}, x-gateway-cost-usd: ${p.costHeader}, x-gateway-cache: ${p.cacheHeader} (cache off); wrong key -> ${p.badKeyStatus}; stream ok`,
      );
      if (st.processor) trackRss(c, side, st.processor.child.pid, 'start', 'start');
    }

    for (const side of sides) {
      const st = c.stacks[side]!;
      log(`warm-up ${side}: wrk -t${wrkThreads(opts)} -c16 ${opts.warmupS}s`);
      const w = await runWrk({ url: st.proxy.url, script: c.wrkScript, threads: wrkThreads(opts), connections: 16, durationS: opts.warmupS });
      // Pre-flight already proved the path answers 200; here only a path that stopped working aborts.
      if (w.requests - w.non200 === 0) throw new Error(`warm-up against ${side}: no 200 among ${w.requests} responses (first status ${w.firstBadStatus})`);
      if (w.non200 > 0) log(`warm-up ${side}: ${w.non200} non-200 of ${w.requests} (first status ${w.firstBadStatus})`);
    }

    const summaries: Array<ScenarioSummary & { runs: RunRecord[] }> = [];
    const byId = new Map<string, ScenarioSummary>();
    for (const def of defs) {
      if (def.group === 'hit') {
        for (const side of procSides) {
          const st = c.stacks[side]!;
          if (st.hit) continue;
          st.hit = await startHitStack(c, side);
          preflights[`${side} (cache on)`] = st.hit.preflight;
        }
      }
      const runs: Partial<Record<Side, Array<{ record: RunRecord; dist: Dist }>>> = {};
      for (let round = 1; round <= opts.rounds; round++) {
        // Odd rounds bare first, even rounds bare last: a drift over the run hits every side alike.
        const order = round % 2 === 1 ? sides : [...sides].reverse();
        for (const side of order) {
          await sleep(500);
          const r = await runOne(c, def, side, round);
          (runs[side] ??= []).push(r);
          // An overloaded open loop leaves work queued in the proxy: let it drain before the next load.
          if (def.kind === 'open' && r.record.errors.timeouts > 0) await sleep(3000);
        }
      }
      const s: ScenarioSummary & { runs: RunRecord[] } = {
        id: def.id,
        kind: def.kind,
        group: def.group,
        title: def.title,
        metric: def.metric,
        tool: def.tool,
        rate: def.rate,
        sides: Object.fromEntries(sides.map((side) => [side, pool(runs[side] ?? [])]).filter(([, v]) => v !== undefined)) as ScenarioSummary['sides'],
        runs: sides.flatMap((side) => (runs[side] ?? []).map((r) => r.record)).sort((x, y) => x.startedAt.localeCompare(y.startedAt)),
      };
      summaries.push(s);
      byId.set(def.id, s);
    }

    for (const side of sides) {
      const st = c.stacks[side]!;
      if (!st.processor) continue;
      trackRss(c, side, st.processor.child.pid, 'after the runs', 'after');
      if (st.hit) trackRss(c, `${side} (cache on)`, st.hit.processor.child.pid, 'after the runs', 'after');
    }
    const affinity: Record<string, string[]> = {};
    for (const [name, pid] of Object.entries(allProcesses(c))) if (pid) affinity[name] = threadAffinities(pid);
    affinity.orchestrator = threadAffinities(process.pid);

    const envoyVer = envoyVersionOf();
    // Stop the measured stacks (the profile and the soak bring their own processor and Envoy).
    const exitCodes: Record<string, number | null> = {};
    for (const side of [...sides].reverse()) {
      const st = c.stacks[side]!;
      if (st.hit) {
        await st.hit.proxy.envoy.stop();
        exitCodes[`processor-${side}-cache`] = await st.hit.processor.stop();
        if (st.hit.redis) await st.hit.redis.stop();
      }
      await st.proxy.envoy.stop();
      if (st.processor) exitCodes[`processor-${side}`] = await st.processor.stop();
    }
    c.stacks = {};

    let profile: ProfileOutcome | undefined;
    if (opts.profile) profile = await profilePhase(c, stamp);
    let soak: { report: SoakReport; detail: Record<string, unknown> } | undefined;
    if (opts.soak) soak = await soakPhase(c);
    await sim.stop();

    // ---- report ----
    const rssReports: Partial<Record<string, RssReport>> = {};
    for (const [name, t] of Object.entries(c.rss)) {
      rssReports[name] = { startBytes: t.start, afterRunsBytes: t.afterRuns, peakBytes: t.peak, processes: t.processes };
    }
    const targets = checkTargets({
      byId,
      sides: procSides,
      rss: Object.fromEntries(procSides.map((s) => [s, rssReports[s]])) as Partial<Record<ProcessorSide, RssReport>>,
      soak: soak?.report,
    });

    const tables: Table[] = [];
    if (summaries.length > 0) {
      tables.push(latencyTable(summaries));
      const open = openLoopTable(summaries);
      if (open) tables.push(open);
      tables.push(throughputTable(summaries));
      tables.push(cpuTable(summaries));
      const big = bigPromptTable(summaries);
      if (big) tables.push(big);
    }
    const rssT = rssTable(rssReports);
    if (rssT) tables.push(rssT);
    if (soak) tables.push(soakTable(soak.report));
    const targetsT = targetsTable(targets, procSides);

    const allRuns = summaries.flatMap((s) => s.runs);
    const foreign = (k: 'foreignGatewayCores' | 'foreignLoadCores') => {
      const v = allRuns.map((r) => r.cpu[k]).filter((x) => Number.isFinite(x));
      return v.length ? { mean: Math.round((100 * v.reduce((a, b) => a + b, 0)) / v.length) / 100, max: Math.max(...v) } : undefined;
    };
    const foreignGw = foreign('foreignGatewayCores');
    const foreignLoad = foreign('foreignLoadCores');

    const titleLine =
      `Gateway benchmark ${started.toISOString()}: ${opts.rounds} round(s) x ${opts.durationS}s per side; gateway CPUs ${formatCpuList(opts.gatewayCpus)}, load CPUs ${formatCpuList(opts.loadCpus)}; ` +
      `Envoy ${envoyVer.split('/')[1] ?? envoyVer} concurrency ${opts.envoyConcurrency}; node ${process.version}; ${MACHINE_CPUS} CPUs`;
    const git = gitInfo(root);
    const setupLines = [
      `- **this tree** (gateway): ${git ? `${git.commit}${git.dirtyFiles ? ` + ${git.dirtyFiles} uncommitted file(s)` : ''}` : 'unknown commit'}; PROCESSOR_WORKERS ${opts.workers}, Envoy -> processor over ${opts.transport === 'unix' ? 'one Unix socket per worker' : 'TCP'}.`,
      baseline
        ? `- **baseline**: \`${baseline.ref}\` = ${baseline.commit.slice(0, 12)} "${baseline.subject}" (built in a temporary worktree, node_modules: ${baseline.nodeModules}).`
        : '',
      `- **pinning**: bare Envoy, each gateway Envoy and its processor on CPU(s) ${formatCpuList(opts.gatewayCpus)}; load generators, simulator and orchestrator on ${formatCpuList(opts.loadCpus)} (taskset).`,
      `- **request**: POST ${CHAT_PATH}, model ${BENCH_MODEL}, ${Buffer.byteLength(body)} bytes; simulator answers at once (no added latency).`,
      foreignGw || foreignLoad
        ? `- **other load on the machine** during the loads (CPU time of processes that are not this benchmark's, from /proc/stat): gateway CPUs mean ${foreignGw?.mean ?? '-'} / max ${foreignGw?.max ?? '-'} cores, load CPUs mean ${foreignLoad?.mean ?? '-'} / max ${foreignLoad?.max ?? '-'} cores.`
        : '',
    ].filter(Boolean);

    if (foreignGw && foreignGw.mean >= 0.1) {
      setupLines.push(
        `- **WARNING**: other processes used on average ${foreignGw.mean} cores (at most ${foreignGw.max}) of the gateway CPUs while loads ran. The proxies shared their CPUs: latencies and calls/s are disturbed; compare sides within this run only, and re-run on a quiet machine for numbers worth quoting.`,
      );
    }
    const textOut = [titleLine, '', ...setupLines, '', ...tables.map(renderTable).flatMap((t) => [t, '']), renderTable(targetsT), ''].join('\n');
    process.stdout.write(`\n${textOut}\n`);
    if (profile) process.stdout.write(`\n${profile.text}\n`);

    const points: LoadPoint[] = [];
    for (const s of summaries.filter((x) => x.kind === 'open')) {
      for (const side of sides) {
        const p = s.sides[side];
        if (p) points.push({ side, rate: s.rate!, p50: p.latencyMs.p50, p99: p.latencyMs.p99, errors: p.errors });
      }
    }
    const svg = latencyChartSvg(
      points,
      'Open-loop latency against offered load',
      `p50 and p99 from the scheduled send time; proxy on CPU ${formatCpuList(opts.gatewayCpus)}, load on ${formatCpuList(opts.loadCpus)}; ${opts.rounds} x ${opts.durationS}s per point; ${started.toISOString().slice(0, 16)}Z`,
    );
    const md = (svgName: string) =>
      [
        `# Gateway benchmark, ${started.toISOString()}`,
        '',
        titleLine,
        '',
        ...setupLines,
        '',
        `In-process decisions (median per request): classifier ${decisions.classifier4kMicros} µs for a 4,000-character prompt (budget 200 µs), ${decisions.classifier30kMicros} µs for 30,000 (budget 1,000 µs); prompt-injection guard ${decisions.guard4kMicros} µs for 4,000 (budget 300 µs).`,
        '',
        points.length > 0 ? `![open-loop latency against offered load](${svgName})\n` : '',
        ...tables.map(renderTable).flatMap((t) => [t, '']),
        renderTable(targetsT),
        '',
        "Scenario definitions, columns and caveats: bench/README.md. Every run's raw numbers: the JSON file of the same name.",
        '',
      ].join('\n');

    const result = {
      version: 2,
      timestamp: started.toISOString(),
      finishedAt: new Date().toISOString(),
      options: opts,
      environment: {
        node: process.version,
        envoy: envoyVer,
        cpus: MACHINE_CPUS,
        cpuModel: os.cpus()[0]?.model,
        kernel: os.release(),
        loadavgStart,
        loadavgEnd: os.loadavg(),
        git,
        otherLoadCores: { gatewayCpus: foreignGw, loadCpus: foreignLoad },
      },
      pinning: { gatewayCpus: formatCpuList(opts.gatewayCpus), loadCpus: formatCpuList(opts.loadCpus), pinned: c.pins, threadAffinityAtEnd: affinity },
      baseline: baseline
        ? { ref: baseline.ref, commit: baseline.commit, subject: baseline.subject, nodeModules: baseline.nodeModules, buildSeconds: baseline.buildSeconds }
        : undefined,
      setup: {
        request: { method: 'POST', path: CHAT_PATH, model: BENCH_MODEL, bodyBytes: Buffer.byteLength(body), userMessageChars: USER_TEXT_CHARS },
        bigPrompt: { bodyBytes: opts.bigBytes, callsPerRound: opts.bigCalls, warmupCalls: 1 },
        simulator: 'node dist/simulators/openai/main.js (no API key check, zero latency), load CPUs',
        processor: `node dist/ext-proc/src/main.js, LOG_LEVEL=info, CACHE_TTL_SECONDS=0, PROCESSOR_WORKERS ${opts.workers}, transport ${opts.transport}, stdout -> ${opts.processorLog}`,
        envoy: {
          concurrency: opts.envoyConcurrency,
          runtimeOverrides: opts.envoyRuntime,
          accessLog: '/dev/null',
          bare: 'renderBootstrap without extProc, fixedCluster openai',
          gateway: 'renderBootstrap with extProc',
        },
        openLoop: { timeoutMs: OPEN_TIMEOUT_MS, maxSockets: OPEN_MAX_SOCKETS, warmupS: OPEN_WARMUP_S },
        exitCodes,
      },
      preflight: preflights,
      decisions,
      rss: rssReports,
      rssSamples: c.rss,
      scenarios: summaries,
      targets,
      soak: soak ? { ...soak.report, detail: soak.detail } : undefined,
      profile: profile ? { summary: profile.summary, profiledRun: profile.profiledRun, processorExitCode: profile.processorExitCode } : undefined,
      text: textOut,
    };
    const json = `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
    const file = (ext: string) => path.join(resultsDir, `${stamp}.${ext}`);
    writeFileSync(file('json'), json);
    writeFileSync(path.join(resultsDir, 'latest.json'), json);
    writeFileSync(file('md'), md(`${stamp}.svg`));
    writeFileSync(path.join(resultsDir, 'latest.md'), md('latest.svg'));
    writeFileSync(file('svg'), svg);
    writeFileSync(path.join(resultsDir, 'latest.svg'), svg);
    log(`results: bench/results/${stamp}.{json,md,svg} and bench/results/latest.{json,md,svg}${profile ? ', bench/results/profile-summary.txt' : ''}`);
    log(`took ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min`);
  } finally {
    for (const e of startedEnvoys.splice(0)) await e.stop().catch(() => undefined);
    await stopAll();
    cleanupFiles();
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
    void (async () => {
      for (const e of startedEnvoys.splice(0)) await e.stop().catch(() => undefined);
      await stopAll();
    })().finally(() => {
      cleanupFiles();
      process.exit(130);
    });
  });
}
process.on('exit', () => {
  killAllSync();
  cleanupFiles();
});

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll();
    process.exit(1);
  },
);
