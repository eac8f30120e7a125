/**
 * GPU pool picker benchmark: the same open-loop streaming load sent to a pool of three unlike
 * vLLM simulators, once routed by the pool picker (ext-proc/src/route/pools) and once by plain
 * round-robin, at rising rates. No Envoy: the client sends each request straight to the endpoint
 * the policy names, so what differs between the runs is the policy alone.
 *
 *   npm run build && node dist/bench/pools.js [--loads 2,4,8,16] [--duration <s>] [--quick]
 *                                             [--policies picker,round-robin] [--poll-ms <ms>]
 *                                             [--seed <n>] [--tokens <n>]
 *
 * Prints p50/p90 end-to-end latency and TTFT per load and policy, and writes the run to
 * bench/results/pools-<timestamp>.json. See bench/pools/README.md.
 */
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { EndpointPool } from '../ext-proc/src/upstream/pools/index.js';
import type { VllmSimulatorOptions } from '../simulators/vllm/server.js';
import { killAllSync, spawnTracked, stopAll } from './lib/procs.js';
import { poissonArrivals } from './pools/arrivals.js';
import { measurePickCost, type PickCost } from './pools/pick-cost.js';
import { streamCall, type CallResult } from './pools/stream-call.js';

const MODEL = 'bench-base';
const CHAT_PATH = '/v1/chat/completions';
/** About 4,000 characters (~1,000 prompt tokens): long enough for prefill speed to show in TTFT. */
const PROMPT = Array.from(
  { length: 15 },
  (_, i) =>
    `Part ${i + 1}. A regional distributor of agricultural spare parts takes orders by phone, email and a web form, ` +
    'keeps stock in a spreadsheet updated nightly, and corrects about one order in twenty after shipping. ' +
    'Explain what goes wrong and what to change first.',
).join(' ');

/**
 * Two fast endpoints and one small, slow one (an older GPU): the case where the choice matters.
 * With a ~1,000-token prompt and 32-token answers a request is served in about
 * 20 + 200 + 31 x 20 = 840 ms on a fast endpoint (7 at once: 8.3 req/s each) and
 * 40 + 670 + 31 x 50 = 2,260 ms on the slow one (3 at once: 1.3 req/s); 18 req/s in all.
 * Round-robin gives the slow endpoint a third of the load, more than it can serve from 4 req/s
 * on; 16 req/s is 96% of what the fast pair can serve, so queues form there now and then.
 */
const SIMS: Array<{ label: string } & VllmSimulatorOptions> = [
  { label: 'fast-a', model: MODEL, maxNumSeqs: 7, tokensPerSecond: 50, prefillTokensPerSecond: 5000, latencyMs: 20 },
  { label: 'fast-b', model: MODEL, maxNumSeqs: 7, tokensPerSecond: 50, prefillTokensPerSecond: 5000, latencyMs: 20 },
  { label: 'slow', model: MODEL, maxNumSeqs: 3, tokensPerSecond: 20, prefillTokensPerSecond: 1500, latencyMs: 40 },
];

/** `picker:queues` is the picker without its service-time weighing: queues, batch and KV cache only. */
type Policy = 'picker' | 'picker:queues' | 'round-robin';
const POLICIES: readonly Policy[] = ['picker', 'picker:queues', 'round-robin'];

interface Options {
  loads: number[];
  durationS: number;
  policies: Policy[];
  pollMs: number;
  seed: number;
  tokens: number;
  timeoutMs: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      loads: { type: 'string', default: '2,4,8,16' },
      duration: { type: 'string' },
      quick: { type: 'boolean', default: false },
      policies: { type: 'string', default: POLICIES.join(',') },
      'poll-ms': { type: 'string', default: '1000' },
      seed: { type: 'string', default: '7' },
      tokens: { type: 'string', default: '32' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      [
        'node dist/bench/pools.js [options]',
        '  --loads <list>      offered rates, requests/s (default 2,4,8,16)',
        '  --duration <s>      seconds of arrivals per load and policy (default 8; --quick: 4)',
        '  --quick             4 s per load',
        '  --policies <list>   picker,picker:queues,round-robin (default all three)',
        "  --poll-ms <ms>      the picker's /metrics period (default 1000)",
        '  --seed <n>          arrival sequence seed (default 7)',
        '  --tokens <n>        answer length in tokens (default 32)',
        '',
      ].join('\n'),
    );
    process.exit(0);
  }
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name}: expected a number >= ${min}, got '${v}'`);
    return n;
  };
  const policies = values.policies.split(',').map((p) => p.trim()) as Policy[];
  for (const p of policies) if (!POLICIES.includes(p)) throw new Error(`--policies: unknown policy '${p}' (known: ${POLICIES.join(', ')})`);
  return {
    loads: values.loads.split(',').map((l) => num('loads', l.trim(), 0.1)),
    durationS: num('duration', values.duration ?? (values.quick ? '4' : '8'), 1),
    policies,
    pollMs: num('poll-ms', values['poll-ms'], 50),
    seed: num('seed', values.seed, 0),
    tokens: num('tokens', values.tokens, 1),
    timeoutMs: 180_000,
  };
}

// ---- simulators -------------------------------------------------------------------------------

async function startSims(root: string): Promise<string[]> {
  const script = path.join(root, 'dist', 'bench', 'pools', 'sims.js');
  const child = spawnTracked('vllm simulators', process.execPath, [script, JSON.stringify({ sims: SIMS.map(({ label: _, ...o }) => o) })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve((JSON.parse(out.slice(0, nl)) as { urls: string[] }).urls);
    });
    child.once('exit', (code) => reject(new Error(`the simulators exited (${code}) before listening`)));
  });
}

// ---- one load ---------------------------------------------------------------------------------

interface Sample extends CallResult {
  endpoint: string;
}

interface Route {
  choose(): { endpoint: string; end: (o: { status: number }) => void };
}

function pickerRoute(pool: EndpointPool): Route {
  return {
    choose() {
      const endpoint = pool.pick({ model: MODEL }).endpoints[0]!;
      return { endpoint, end: pool.begin(endpoint) };
    },
  };
}

function roundRobin(endpoints: string[]): Route {
  let i = 0;
  return {
    choose() {
      const endpoint = endpoints[i++ % endpoints.length]!;
      return { endpoint, end: () => undefined };
    },
  };
}

async function runLoad(route: Route, agent: http.Agent, body: Buffer, arrivals: number[], timeoutMs: number): Promise<Sample[]> {
  const t0 = performance.now() + 50;
  const calls: Array<Promise<Sample>> = [];
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = (): void => {
      const now = performance.now();
      while (next < arrivals.length && t0 + arrivals[next]! <= now) {
        const due = t0 + arrivals[next++]!;
        const { endpoint, end } = route.choose();
        calls.push(
          streamCall(agent, endpoint, CHAT_PATH, body, due, timeoutMs).then((r) => {
            end({ status: r.status });
            return { ...r, endpoint };
          }),
        );
      }
      if (next >= arrivals.length) return resolve();
      setTimeout(tick, Math.max(0, t0 + arrivals[next]! - performance.now()));
    };
    tick();
  });
  return Promise.all(calls);
}

/** Waits until the simulators have nothing running or queued, so loads do not overlap. */
async function idle(pool: EndpointPool): Promise<void> {
  for (let i = 0; i < 600; i++) {
    await pool.refresh();
    if (pool.snapshot().every((s) => (s.running ?? 0) === 0 && (s.waiting ?? 0) === 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- summary ----------------------------------------------------------------------------------

interface Summary {
  load: number;
  policy: Policy;
  sent: number;
  ok: number;
  errors: number;
  firstError?: string;
  e2eMs: { p50: number; p90: number; p99: number; max: number };
  ttftMs: { p50: number; p90: number; p99: number; max: number };
  /** Share of the requests each endpoint got, by simulator label. */
  share: Record<string, number>;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function stats(values: number[]): Summary['e2eMs'] {
  const s = [...values].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v);
  return { p50: r(pct(s, 50)), p90: r(pct(s, 90)), p99: r(pct(s, 99)), max: r(s[s.length - 1] ?? NaN) };
}

function summarise(load: number, policy: Policy, samples: Sample[], labels: Map<string, string>): Summary {
  const ok = samples.filter((s) => s.ok);
  const share: Record<string, number> = {};
  for (const s of samples) {
    const l = labels.get(s.endpoint) ?? s.endpoint;
    share[l] = (share[l] ?? 0) + 1;
  }
  for (const k of Object.keys(share)) share[k] = Math.round((share[k]! / samples.length) * 1000) / 1000;
  const bad = samples.find((s) => !s.ok);
  const out: Summary = {
    load,
    policy,
    sent: samples.length,
    ok: ok.length,
    errors: samples.length - ok.length,
    e2eMs: stats(ok.map((s) => s.e2eMs)),
    ttftMs: stats(ok.filter((s) => s.ttftMs !== undefined).map((s) => s.ttftMs!)),
    share,
  };
  if (bad) out.firstError = bad.error ?? `status ${bad.status}`;
  return out;
}

function table(rows: Summary[]): string {
  const head = ['load/s', 'policy', 'ok/sent', 'e2e p50', 'e2e p90', 'ttft p50', 'ttft p90', `share ${SIMS.map((s) => s.label).join('/')}`];
  const lines = rows.map((r) => [
    String(r.load),
    r.policy,
    `${r.ok}/${r.sent}`,
    String(r.e2eMs.p50),
    String(r.e2eMs.p90),
    String(r.ttftMs.p50),
    String(r.ttftMs.p90),
    SIMS.map((s) => `${Math.round((r.share[s.label] ?? 0) * 100)}%`).join(' / '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 2 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

// ---- main -------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = options();
  const root = repoRoot();
  const started = new Date();
  const log = (s: string) => process.stderr.write(`${s}\n`);

  const pickCost: PickCost[] = [];
  for (const n of [3, 16]) for (const affinity of [false, true]) pickCost.push(await measurePickCost(n, affinity));
  log(`pick + begin + end: ${pickCost.map((c) => `${c.us} µs (${c.endpoints} endpoints${c.affinity ? ', affinity + adapter' : ''})`).join(', ')}`);

  const urls = await startSims(root);
  const endpoints = urls.map((url) => ({ url }));
  // Each picker keeps its own view, as a processor would; both poll the whole run.
  const pool = new EndpointPool({ name: 'bench', kind: 'vllm', endpoints, pollIntervalMs: o.pollMs });
  const queuesOnly = new EndpointPool({ name: 'bench-queues', kind: 'vllm', endpoints, pollIntervalMs: o.pollMs, weighServiceTime: false });
  const labels = new Map(pool.endpoints.map((e, i) => [e, SIMS[i]!.label]));
  pool.start();
  queuesOnly.start();
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const body = Buffer.from(
    JSON.stringify({
      model: MODEL,
      stream: true,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: `${PROMPT} [sim:tokens=${o.tokens}]` },
      ],
    }),
  );

  log(`pool benchmark: ${SIMS.map((s, i) => `${s.label} ${urls[i]} (${s.maxNumSeqs} seqs, ${s.tokensPerSecond} tok/s)`).join(', ')}`);
  // Warm sockets, JIT and the picker's first scrapes; not measured.
  await runLoad(roundRobin(pool.endpoints), agent, body, poissonArrivals(4, 2, o.seed + 1000), o.timeoutMs);
  await idle(pool);

  const rows: Summary[] = [];
  for (const load of o.loads) {
    const arrivals = poissonArrivals(load, o.durationS, o.seed + load * 1000);
    for (const policy of o.policies) {
      const route = policy === 'picker' ? pickerRoute(pool) : policy === 'picker:queues' ? pickerRoute(queuesOnly) : roundRobin(pool.endpoints);
      const t = performance.now();
      const samples = await runLoad(route, agent, body, arrivals, o.timeoutMs);
      const s = summarise(load, policy, samples, labels);
      rows.push(s);
      log(
        `  ${load}/s ${policy}: ${s.ok}/${s.sent} ok, e2e p50 ${s.e2eMs.p50} p90 ${s.e2eMs.p90} ms, ttft p50 ${s.ttftMs.p50} p90 ${s.ttftMs.p90} ms (${((performance.now() - t) / 1000).toFixed(1)} s)`,
      );
      await idle(pool);
    }
  }
  agent.destroy();
  await Promise.all([pool.stop(), queuesOnly.stop()]);

  const text = table(rows);
  process.stdout.write(
    `\nGPU pool policies, ${o.durationS} s of Poisson arrivals per load, ${o.tokens}-token streamed answers (ms from scheduled arrival)\n\n${text}\n`,
  );
  process.stdout.write(
    `\npick + begin + end, per request: ${pickCost.map((c) => `${c.us} µs with ${c.endpoints} endpoints${c.affinity ? ' (affinity key, adapter model)' : ''}`).join('; ')}\n`,
  );
  const dir = path.join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = started
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  const file = path.join(dir, `pools-${stamp}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ benchmark: 'pools', timestamp: started.toISOString(), finishedAt: new Date().toISOString(), node: process.version, options: o, simulators: SIMS.map((s, i) => ({ ...s, url: urls[i] })), pickCost, results: rows }, null, 2)}\n`,
  );
  log(`results: ${path.relative(root, file)}`);
}

process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void stopAll().finally(() => process.exit(130));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main()
    .then(() => stopAll())
    .catch(async (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      await stopAll();
      process.exit(1);
    });
}
