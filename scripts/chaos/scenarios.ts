/**
 * The chaos scenarios: each starts its own local stack (simulators, the processor as a supervised
 * child process as `npm start` runs it, Envoy with an access log), runs a bounded open-loop load
 * of chat calls through Envoy, injects one fault part-way, and judges what the callers saw.
 *
 *   processor-kill   kill -9 the processor; its supervisor starts it again
 *   redis-down       stop Redis (limits fail closed), start it again on the same port
 *   redis-slow       SIGSTOP Redis for 1.5 s (connections open, no answers), then SIGCONT
 *   chain-<kind>     the chain's OpenAI-format members (OpenRouter, Groq) answer 429 / 500 / 503,
 *                    hang or reset for a while; Gemini, the chain's last member, is healthy
 *   chain-mixed      the same, each call meeting one of 429, 500, 503, reset in turn
 *   drain            the stack's graceful close (what `npm start` does on SIGTERM) mid-load
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { startLocalStack, type LocalStack, type SimulatorOptions } from '../lib/local-stack.js';
import { startRedis, type RedisServerHandle } from '../lib/redis-server.js';
import { CALLER_APIS, type CallerApi, type CallSpec } from './calls.js';
import { runLoad, type CallRecord } from './load.js';
import {
  accessLogLines,
  envoyErrorView,
  perSecond,
  readAccessLog,
  summarize,
  usageOf,
  type Expectations,
  type FaultTimeline,
  type ScenarioReport,
  type UsageLine,
} from './report.js';

export const CHAIN_MODEL = 'openrouter/meta-llama/llama-3.3-70b-instruct';
export const CHAIN_FAULTS = ['429', '500', '503', 'hang', 'reset'] as const;
export const SCENARIOS = [
  'processor-kill',
  'redis-down',
  'redis-slow',
  'chain-429',
  'chain-500',
  'chain-503',
  'chain-hang',
  'chain-reset',
  'chain-mixed',
  'drain',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** What `npm run chaos` runs when no --scenarios is given. */
export const DEFAULT_SCENARIOS: ScenarioName[] = SCENARIOS.filter((s) => s !== 'chain-mixed');

export interface ScenarioOptions {
  /** Load length (the fault lands about a third of the way in). */
  seconds: number;
  rps: number;
  /** Processor workers (PROCESSOR_WORKERS), as `npm start` would run them. */
  workers: number;
  /** A call not answered this long after it was sent is a timeout. */
  timeoutMs?: number;
  /** N in "recovery: the first of N consecutive successes". */
  consecutive?: number;
  /** Recovery must come within this many seconds. */
  recoveryBoundS?: number;
  /** The load runs on past `seconds` for up to this long while recovery has not come. */
  extendS?: number;
  /** The processor's LOG_LEVEL (its log goes to this process's stdout). */
  processorLogLevel?: string;
  /** Keep the scenario's directory (Envoy's access log) instead of removing it; its path goes in the notes. */
  keepLogs?: boolean;
  /** Progress lines. */
  progress?: (line: string) => void;
}

export interface ScenarioRun {
  report: ScenarioReport;
  /** Every call, for tests that look closer. */
  records: CallRecord[];
}

/** A Bearer-style gateway key for the scenario's tenant. */
const TENANT = 'chaos';
/**
 * chain-hang only: attempts silent this long move on to the next member (the default, 30 s, would
 * hold every call a minute). The other scenarios keep the default: a short idle timeout also
 * fails attempts that are merely slow on a busy machine.
 */
const ATTEMPT_IDLE_MS = 2000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/** The mixed load: every caller API, native and cross-API models, about 40 % streamed. */
const MIX: Array<{ api: CallerApi; model: string }> = [
  { api: 'openai', model: 'gpt-4o-mini' },
  { api: 'anthropic', model: 'claude-haiku-4-5' },
  { api: 'gemini', model: 'gemini-2.5-flash-lite' },
  { api: 'ollama', model: 'llama3.2' },
  { api: 'openai', model: 'llama-3.3-70b-versatile' },
  { api: 'anthropic', model: 'gpt-4o-mini' },
  { api: 'gemini', model: 'claude-haiku-4-5' },
  { api: 'ollama', model: 'gemini-2.5-flash-lite' },
];

function mixedCall(i: number): CallSpec {
  const m = MIX[i % MIX.length]!;
  return { ...m, stream: i % 5 < 2, tokens: 8 + ((i * 13) % 25) };
}

function chainCall(i: number, fault: string | undefined): CallSpec & { fault?: string } {
  const headers = fault ? { 'x-sim-fail': fault, 'x-sim-only': 'openai' } : undefined;
  return { api: CALLER_APIS[i % CALLER_APIS.length]!, model: CHAIN_MODEL, stream: i % 5 < 2, tokens: 8 + ((i * 13) % 25), headers, fault };
}

interface Pacing {
  latencyMs: number;
  tokensPerSecond: number;
}

interface Ctx {
  stack: LocalStack;
  redis?: RedisServerHandle;
  opts: Required<Omit<ScenarioOptions, 'progress'>> & Pick<ScenarioOptions, 'progress'>;
  tl: FaultTimeline;
  /** Seconds on the scenario's clock. */
  now(): number;
  event(what: string): void;
  /** Marks the point recovery is counted from (the load may be extended past it). */
  reference(): void;
  /** Chain scenarios: the fault the next calls carry. */
  chainFault: ((i: number) => string | undefined) | undefined;
  /** Drain: no new calls once this is set (seconds on the clock). */
  stopSendingAtS?: number;
  closed: boolean;
  supervisorLog: string[];
  notes: string[];
  /** The access log's usage lines, by request id (read once the load is over). */
  usage: Map<string, UsageLine>;
}

interface Def {
  title: string;
  fault(o: ScenarioOptions): string;
  pacing: Pacing;
  load: 'mixed' | 'chain';
  redis?: boolean;
  recoveryFrom: FaultTimeline['recoveryFrom'];
  hangBoundS: number;
  expectedError(r: CallRecord, tl: FaultTimeline): boolean;
  inject(ctx: Ctx): Promise<void>;
  /** Notes from the records once the load is over. */
  after?(ctx: Ctx, records: CallRecord[]): void;
}

const FAST: Pacing = { latencyMs: 20, tokensPerSecond: 100 };

function faultAt(o: ScenarioOptions): number {
  return round(Math.max(1, o.seconds * 0.3), 1);
}
const redisDownS = (o: ScenarioOptions) => round(clamp(o.seconds * 0.2, 1, 4), 1);
const REDIS_PAUSE_S = 1.5;
const chainWindowS = (o: ScenarioOptions) => round(clamp(o.seconds * 0.35, 1.5, 8), 1);
const DRAIN_GRACE_MS = 10_000;

async function poll<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 50): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  return undefined;
}

const healthz = (ctx: Ctx) =>
  fetch(`${ctx.stack.gatewayUrl}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.status,
    () => 0,
  );

/** The child processes of a process (Linux /proc), e.g. a processor primary's workers. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a process still runs (a zombie waiting to be reaped does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Calls a kill caught in flight: sent before the processor was gone, ended after the kill. */
export const caughtByKill = (records: CallRecord[], tl: FaultTimeline) => records.filter((r) => r.sentS < (tl.goneS ?? tl.injectS) && r.endS > tl.injectS);

/** Calls in flight at `atS`: sent before, finished after. */
const inFlightAt = (records: CallRecord[], atS: number) => records.filter((r) => r.sentS < atS && r.endS > atS);

function chainDef(kind: string): Def {
  const describe = (k: string) =>
    k === 'hang' ? 'hang (no bytes)' : k === 'reset' ? 'reset the connection' : k === 'mixed' ? 'answer 429, 500, 503 or reset, call by call' : `answer ${k}`;
  return {
    title: `chain members ${describe(kind)}; the fallback chain absorbs it`,
    fault: (o) =>
      `for ${chainWindowS(o)} s every call to ${CHAIN_MODEL} makes OpenRouter and Groq (the chain's OpenAI-format members) ${describe(kind)} (x-sim-fail: ${kind === 'mixed' ? '429|500|503|reset' : kind}, x-sim-only: openai); Gemini, the last member, answers`,
    pacing: FAST,
    load: 'chain',
    recoveryFrom: 'end',
    // Two silent members cost two attempt idle timeouts before Gemini answers; else a slow call is
    // only a symptom of a busy machine here (the verdict is about errors).
    hangBoundS: kind === 'hang' ? (3 * ATTEMPT_IDLE_MS) / 1000 + 2 : 10,
    expectedError: () => false,
    async inject(ctx) {
      const kinds = kind === 'mixed' ? ['429', '500', '503', 'reset'] : [kind];
      ctx.chainFault = (i) => kinds[i % kinds.length];
      ctx.event(`OpenRouter and Groq start to ${describe(kind)}`);
      await sleep(chainWindowS(ctx.opts) * 1000);
      ctx.chainFault = undefined;
      ctx.tl.endS = ctx.now();
      ctx.reference();
      ctx.event('fault over: calls carry no fault header');
    },
    after(ctx, records) {
      const inWindow = records.filter((r) => r.fault !== undefined);
      const by = new Map<string, number>();
      for (const r of inWindow) if (r.ok) by.set(r.provider ?? '?', (by.get(r.provider ?? '?') ?? 0) + 1);
      ctx.notes.push(
        `Calls that carried the fault: ${inWindow.length}, answered by ${[...by].map(([p, n]) => `${p} ${n}`).join(', ') || 'nobody'}; attempts per answered call: ${attemptsSummary(inWindow)}.`,
      );
      const end = ctx.tl.endS ?? ctx.tl.injectS;
      const head = records.filter((r) => r.sentS >= end && r.ok && r.provider === 'openrouter').sort((a, b) => a.sentS - b.sentS)[0];
      ctx.notes.push(
        head
          ? `The chain's head (OpenRouter) answered again ${round(head.sentS - end)} s after the fault's end (its cooldown: retry-after for a 429, COOLDOWN_SECONDS = 5 s after a 5xx).`
          : "The chain's head (OpenRouter) did not answer again before the load ended (still cooling down).",
      );
      if (kind === 'hang') ctx.notes.push(`Attempt idle timeout set to ${ATTEMPT_IDLE_MS / 1000} s for this run (the default is 30 s).`);
    },
  };
}

function attemptsSummary(records: CallRecord[]): string {
  const by = new Map<string, number>();
  for (const r of records) if (r.ok) by.set(r.attempts ?? '?', (by.get(r.attempts ?? '?') ?? 0) + 1);
  return (
    [...by]
      .sort()
      .map(([a, n]) => `${a}×${n}`)
      .join(', ') || '-'
  );
}

const failClosed = (r: CallRecord) => r.status === 503 && r.shapeOk === true;

const DEFS: Record<ScenarioName, Def> = {
  'processor-kill': {
    title: 'kill -9 the processor under supervision',
    fault: () => 'SIGKILL to the supervised processor (its workers go with it); the supervisor starts it again',
    pacing: FAST,
    load: 'mixed',
    recoveryFrom: 'injection',
    hangBoundS: 10,
    // A 503 in the caller's API while no processor is there; a stream whose answer had begun
    // when its processor died can only be cut (Envoy cannot finish it without the processor).
    expectedError: (r, tl) => failClosed(r) || (r.cls === 'conn reset mid-body' && r.sentS < (tl.goneS ?? tl.injectS)),
    async inject(ctx) {
      const pid = ctx.stack.processor?.pid();
      if (pid === undefined) throw new Error('no processor process to kill');
      const family = [pid, ...childPids(pid)];
      process.kill(pid, 'SIGKILL');
      ctx.event(`SIGKILL to processor pid ${pid}`);
      ctx.reference();
      // Envoy's readiness view, watched from the kill until one health-check interval (2 s) after
      // the new processor is up: does /healthz see the outage?
      let watchUntil = Date.now() + 20_000;
      const health = (async () => {
        let sawDown = false;
        while (Date.now() < watchUntil) {
          const s = await healthz(ctx);
          if (s !== 200 && !sawDown) {
            sawDown = true;
            ctx.event(`/healthz ${s}`);
          }
          if (s === 200 && sawDown) {
            ctx.event('/healthz 200 again');
            return;
          }
          await sleep(100);
        }
        if (!sawDown) ctx.event('/healthz answered 200 throughout (Envoy health-checks the processor every 2 s)');
      })();
      await poll(() => (family.some(alive) ? undefined : true), 5000, 5);
      ctx.tl.goneS = ctx.now();
      ctx.event(`the processor${family.length > 1 ? ` and its ${family.length - 1} workers` : ''} gone`);
      const newPid = await poll(() => {
        const p = ctx.stack.processor?.pid();
        return p !== undefined && p !== pid ? p : undefined;
      }, 15_000);
      ctx.event(newPid ? `supervisor started a new processor, pid ${newPid}` : 'no new processor within 15 s');
      // The processor's metrics answer once it has started (the supervisor's own readiness test).
      const up = await poll(
        () =>
          fetch(ctx.stack.metricsUrl, { signal: AbortSignal.timeout(500) }).then(
            (r) => (r.ok ? true : undefined),
            () => undefined,
          ),
        15_000,
      );
      if (up) ctx.event("the new processor's metrics answer");
      watchUntil = Math.min(watchUntil, Date.now() + 2500);
      await health;
    },
    after(ctx, records) {
      const flying = caughtByKill(records, ctx.tl);
      const failed = flying.filter((r) => !r.ok);
      ctx.notes.push(
        `Calls caught in flight by the kill (sent before the processor was gone, ended after the kill): ${flying.length} (${flying.filter((r) => r.stream).length} streams); failed: ${failed.length}${
          failed.length ? ` (${[...new Set(failed.map((r) => r.cls))].join(', ')})` : ''
        }.`,
      );
      const restarts = ctx.supervisorLog.filter((l) => l.includes('starting it again'));
      if (restarts.length) {
        const delay = /"restartInMs":(\d+)/.exec(restarts[0]!)?.[1];
        ctx.notes.push(`Supervisor: ${restarts.length} restart(s), first after ${delay ?? '?'} ms back-off.`);
      }
    },
  },
  'redis-down': {
    title: 'Redis stopped, then started again (limits fail closed)',
    fault: (o) => `redis-server stopped (SIGTERM) for ${redisDownS(o)} s, then started again on the same port; the tenant has limits (REDIS_URL set)`,
    pacing: FAST,
    load: 'mixed',
    redis: true,
    recoveryFrom: 'end',
    hangBoundS: 5,
    expectedError: failClosed,
    async inject(ctx) {
      await ctx.redis!.stop();
      ctx.event('Redis stopped');
      await sleep(redisDownS(ctx.opts) * 1000);
      await ctx.redis!.restart();
      ctx.tl.endS = ctx.now();
      ctx.reference();
      ctx.event('Redis started again');
    },
  },
  'redis-slow': {
    title: 'Redis hangs (SIGSTOP) for 1.5 s with its connections open',
    fault: () => `redis-server paused (SIGSTOP) for ${REDIS_PAUSE_S} s, then resumed (SIGCONT); the tenant has limits (REDIS_URL set)`,
    pacing: FAST,
    load: 'mixed',
    redis: true,
    recoveryFrom: 'end',
    hangBoundS: 5,
    expectedError: failClosed,
    async inject(ctx) {
      ctx.redis!.pause();
      ctx.event('Redis paused');
      await sleep(REDIS_PAUSE_S * 1000);
      ctx.redis!.resume();
      ctx.tl.endS = ctx.now();
      ctx.reference();
      ctx.event('Redis resumed');
    },
  },
  'chain-429': chainDef('429'),
  'chain-500': chainDef('500'),
  'chain-503': chainDef('503'),
  'chain-hang': chainDef('hang'),
  'chain-reset': chainDef('reset'),
  'chain-mixed': chainDef('mixed'),
  drain: {
    title: "the stack's graceful close under load, streams in flight",
    fault: () =>
      "admin /healthcheck/fail, then 0.5 s later the stack's close (what npm start does on SIGTERM): Envoy /drain_listeners, the processor drains its streams (SIGTERM), then Envoy stops",
    // Slow answers, so that calls (streams above all) are in flight when the close begins.
    pacing: { latencyMs: 300, tokensPerSecond: 25 },
    load: 'mixed',
    recoveryFrom: 'none',
    hangBoundS: DRAIN_GRACE_MS / 1000 + 2,
    // Calls sent once the close began may be refused: a refused connection, or a 503 in the caller's API.
    expectedError: (r, tl) => r.sentS >= tl.injectS && (r.cls === 'conn refused' || failClosed(r)),
    async inject(ctx) {
      const r = await fetch(`${ctx.stack.adminUrl}/healthcheck/fail`, { method: 'POST' }).then(
        (x) => x.status,
        () => 0,
      );
      ctx.event(`admin /healthcheck/fail (${r}); /healthz now ${await healthz(ctx)}`);
      await sleep(500);
      ctx.tl.injectS = ctx.now();
      ctx.event(`stack close begins (grace ${DRAIN_GRACE_MS / 1000} s)`);
      ctx.closed = true;
      await ctx.stack.close(DRAIN_GRACE_MS);
      ctx.event('stack closed (Envoy and the processor stopped)');
      ctx.tl.endS = ctx.now();
      // A couple of seconds of calls against the closed gateway, then stop.
      ctx.stopSendingAtS = ctx.now() + 2;
    },
    after(ctx, records) {
      const flying = inFlightAt(records, ctx.tl.injectS);
      const done = flying.filter((r) => r.ok);
      ctx.notes.push(
        `Calls in flight when the close began: ${flying.length} (${flying.filter((r) => r.stream).length} streams); completed whole: ${done.length}${
          flying.length > done.length ? `; failed: ${[...new Set(flying.filter((r) => !r.ok).map((r) => r.cls))].join(', ')}` : ''
        }. Usage recorded for ${done.filter((r) => usageOf(r, ctx.usage).verdict === 'recorded').length} of them.`,
      );
      const later = records.filter((r) => r.sentS >= ctx.tl.injectS);
      const by = new Map<string, number>();
      for (const r of later) by.set(r.cls, (by.get(r.cls) ?? 0) + 1);
      ctx.notes.push(`Calls sent after the close began: ${later.length}: ${[...by].map(([c, n]) => `${c} ${n}`).join(', ')}.`);
      ctx.notes.push(
        'Envoy runs with --disable-hot-restart here, so a hot restart (a new Envoy taking over the listening sockets) is out of scope; this scenario is the graceful stop.',
      );
    },
  },
};

export function scenarioTitle(name: ScenarioName): string {
  return DEFS[name].title;
}

/** Runs one scenario from start to end (its own stack, Redis when it needs one); never leaves processes behind. */
export async function runScenario(name: ScenarioName, options: ScenarioOptions): Promise<ScenarioRun> {
  const def = DEFS[name];
  const opts = {
    timeoutMs: 30_000,
    consecutive: 10,
    recoveryBoundS: 15,
    extendS: 15,
    processorLogLevel: 'fatal',
    keepLogs: false,
    ...options,
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), `gw-chaos-${name}-`));
  const accessLog = path.join(dir, 'access.log');
  const key = `gw-chaos-${randomBytes(12).toString('hex')}`;
  const supervisorLog: string[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void supervisorLog.push(s) });
  let redis: RedisServerHandle | undefined;
  let stack: LocalStack | undefined;
  const started = performance.now();
  try {
    const env: NodeJS.ProcessEnv = { GATEWAY_KEYS: `${TENANT}:${key}`, CACHE_TTL_SECONDS: '0', LOG_LEVEL: opts.processorLogLevel };
    if (def.redis) {
      redis = await startRedis();
      const tenants = path.join(dir, 'tenants.yaml');
      // Limits far above the load: every call takes the limiter's Redis round trip, none is refused by it.
      writeFileSync(tenants, `tenants:\n  ${TENANT}:\n    limits: { rpm: 1000000, tpm: 1000000000, usd_per_day: 100000, usd_per_month: 1000000 }\n`);
      Object.assign(env, { REDIS_URL: redis.url, TENANTS_PATH: tenants });
    }
    const own: SimulatorOptions = { ...def.pacing };
    stack = await startLocalStack({
      env,
      log,
      demo: true,
      simulator: { ...def.pacing },
      ownSimulators: { anthropic: own, gemini: own },
      // One Ollama server answers one chat at a time by default: give the local pool a GPU that
      // keeps up with the load, so that its queue is not what the scenarios measure.
      pools: { ollama: [{ ...own, parallel: 64 }] },
      processorProcess: { workers: opts.workers },
      accessLog,
      attemptIdleTimeoutMs: name === 'chain-hang' ? ATTEMPT_IDLE_MS : undefined,
    });
    opts.progress?.(`${name}: stack up (${round((performance.now() - started) / 1000, 1)} s); ${opts.rps} calls/s for ${opts.seconds} s`);

    const t0 = performance.now();
    const now = () => round((performance.now() - t0) / 1000, 3);
    let referenced = false;
    let runOk = 0;
    const tl: FaultTimeline = { injectS: faultAt(opts), recoveryFrom: def.recoveryFrom, events: [] };
    const ctx: Ctx = {
      stack,
      redis,
      opts,
      tl,
      now,
      event: (what) => {
        tl.events.push({ atS: now(), what });
        opts.progress?.(`${name}: ${now().toFixed(2)} s ${what}`);
      },
      reference: () => {
        referenced = true;
        runOk = 0;
      },
      chainFault: undefined,
      closed: false,
      supervisorLog,
      notes: [],
      usage: new Map(),
    };
    const load = runLoad({
      baseUrl: stack.gatewayUrl,
      key,
      rps: opts.rps,
      seconds: opts.seconds,
      maxSeconds: def.recoveryFrom === 'none' ? opts.seconds : opts.seconds + opts.extendS,
      keepGoing: () => !referenced || runOk < opts.consecutive,
      stopWhen: (s) => ctx.stopSendingAtS !== undefined && s >= ctx.stopSendingAtS,
      timeoutMs: opts.timeoutMs,
      t0,
      tag: `${name}-${randomBytes(4).toString('hex')}`,
      pick: (i) => (def.load === 'chain' ? chainCall(i, ctx.chainFault?.(i)) : mixedCall(i)),
      onRecord: (r) => {
        if (referenced) runOk = r.ok ? runOk + 1 : 0;
      },
    });
    const injected = (async () => {
      await sleep(tl.injectS * 1000 - (performance.now() - t0));
      tl.injectS = now();
      await def.inject(ctx);
    })();
    const loadBefore = os.loadavg()[0]!;
    const [loadResult, injectResult] = await Promise.allSettled([load, injected]);
    const loadAfter = os.loadavg()[0]!;
    if (loadResult.status === 'rejected') throw loadResult.reason;
    if (injectResult.status === 'rejected') throw injectResult.reason;
    const records = loadResult.value;
    const durationS = (performance.now() - t0) / 1000;

    // The access log is flushed every 200 ms (and at Envoy's exit): wait for the successes' lines.
    const wanted = records.filter((r) => r.ok && r.requestId);
    await poll(
      () => {
        ctx.usage = readAccessLog(accessLog);
        return wanted.every((r) => usageOf(r, ctx.usage).verdict === 'recorded') ? true : undefined;
      },
      ctx.closed ? 500 : 3000,
      200,
    );
    ctx.usage = readAccessLog(accessLog);

    const exp: Expectations = {
      expectedError: def.expectedError,
      recoveryBoundS: opts.recoveryBoundS,
      consecutive: opts.consecutive,
      hangBoundS: def.hangBoundS,
    };
    const { summary, classes } = summarize(records, tl, exp, ctx.usage);
    def.after?.(ctx, records);
    const lostExamples = records.filter((r) => r.ok && usageOf(r, ctx.usage).verdict !== 'recorded').slice(0, 3);
    if (lostExamples.length) {
      ctx.notes.push(
        `Lost usage examples: ${lostExamples
          .map(
            (r) => `${r.api}${r.stream ? ' stream' : ''} ${r.model} via ${r.provider ?? '?'} (${usageOf(r, ctx.usage).verdict}, request ${r.requestId ?? '-'})`,
          )
          .join('; ')}.`,
      );
    }
    const cpus = os.availableParallelism();
    ctx.notes.push(
      `Machine: load average (1 min) ${loadBefore.toFixed(1)} at the start, ${loadAfter.toFixed(1)} at the end, on ${cpus} CPUs${
        Math.max(loadBefore, loadAfter) > cpus ? ' (busy: latencies and timeouts are inflated)' : ''
      }.`,
    );
    if (opts.keepLogs) ctx.notes.push(`Envoy's access log kept: ${accessLog}`);
    const report: ScenarioReport = {
      name,
      title: def.title,
      fault: def.fault(opts),
      settings: {
        seconds: opts.seconds,
        rps: opts.rps,
        workers: opts.workers,
        timeoutMs: opts.timeoutMs,
        consecutive: opts.consecutive,
        pacing: def.pacing,
        loadAverage: [loadBefore, loadAfter],
      },
      timeline: tl,
      summary,
      classes,
      perSecond: perSecond(records),
      envoyErrors: envoyErrorView(accessLogLines(accessLog)),
      notes: ctx.notes,
      durationS,
    };
    if (!ctx.closed) {
      const s = stack;
      stack = undefined;
      await s.close(1000);
    } else stack = undefined;
    return { report, records };
  } finally {
    await stack?.close(500).catch(() => undefined);
    await redis?.stop().catch(() => undefined);
    if (!opts.keepLogs) rmSync(dir, { recursive: true, force: true });
  }
}
