/**
 * The benchmark's results as tables (printed, and written as markdown) and the project's
 * performance targets. Every table is a markdown table with padded columns, so the same text
 * reads well in a terminal and renders in a markdown viewer.
 */
import type { Percentiles } from './dist.js';

/** bare = Envoy alone; gateway = Envoy + this tree's processor; baseline = Envoy + the processor of --baseline-ref. */
export type Side = 'bare' | 'gateway' | 'baseline';
/** The sides that have a processor. */
export type ProcessorSide = Exclude<Side, 'bare'>;

export type ScenarioKind = 'wrk' | 'open' | 'stream' | 'big';

export interface ErrorCounts {
  /** Responses whose status was not exactly 200. */
  non200: number;
  /** Connect/read/write errors. */
  socket: number;
  timeouts: number;
  /** Stream scenarios: 200s that were not a complete event stream; large prompt: 200s that were not a completion. */
  badStreams: number;
  /** Envoy's own count of non-2xx responses on the listener during the run (cross-check). */
  envoyNon2xx: number;
  /**
   * Cache-hit scenarios, processor sides: 200s without `x-gateway-cache: hit`, requests that
   * reached the simulator during the load, and responses the processor's hit counter does not account for.
   */
  notHit?: number;
  providerCalls?: number;
  uncountedHits?: number;
  total: number;
  first?: string;
}

/** CPU per completed call, in microseconds, pooled over the rounds. */
export interface CpuPerCall {
  envoy: number;
  /** The processor's whole process tree (undefined for bare). */
  processor?: number;
  total: number;
  /** Calls the CPU was divided by (Envoy's downstream_rq_completed growth). */
  calls: number;
  /** CPU of the proxy under test (Envoy + processor) over the load's wall time, in cores. */
  cores: number;
}

export interface PooledSide {
  runs: number;
  /** OK (200) responses per second, pooled over the rounds. */
  rps: number;
  ok: number;
  latencyMs: Percentiles;
  errors: number;
  timeouts: number;
  cpu: CpuPerCall;
  /** Open loop: the lowest achieved rate (OK responses / s) over the rounds, as a share of the offered rate. */
  achievedShare?: number;
  /** Open loop: the lowest rate the generator really sent at over the rounds, as a share of the intended rate. */
  offeredShare?: number;
  /** Open loop: the generator's worst send lag p99 over the rounds (ms). */
  sendLagP99Ms?: number;
  /** The most CPU (cores) that processes outside the benchmark used on the gateway CPUs during one of the rounds (NaN: not computed, the CPU sets overlap). */
  foreignGatewayCores: number;
}

export interface ScenarioSummary {
  id: string;
  kind: ScenarioKind;
  group: 'overhead' | 'hit';
  title: string;
  /** What the latency columns measure. */
  metric: string;
  tool: string;
  /** Open loop: offered rate. */
  rate?: number;
  sides: Partial<Record<Side, PooledSide>>;
}

export interface RssReport {
  /** Processor tree RSS in bytes: after start-up and the pre-flight, before any load. */
  startBytes: number;
  /** After the last scenario. */
  afterRunsBytes: number;
  /** Highest reading, sampled after every load and at the two points above. */
  peakBytes: number;
  /** Processes in the tree at the last reading. */
  processes: number;
}

export interface SoakReport {
  side: 'gateway';
  cache: 'on' | 'off';
  rate: number;
  minutes: number;
  warmupS: number;
  intervalS: number;
  samples: Array<{ t: number; rssBytes: number; processes: number }>;
  beforeBytes: number;
  afterBytes: number;
  maxBytes: number;
  minBytes: number;
  /** (after - before) / before. */
  change: number;
  /** Largest distance of any single reading from `before`, relative to `before`. */
  maxDeviation: number;
  /** Least-squares slope of every reading over the soak, MB per minute. */
  slopeMbPerMin: number;
  /** The lowest reading of each minute (soaks of 3 minutes or more). */
  floorsBytes: number[];
  /** What the trend is fitted to: 'per-minute minima', or 'every reading' for short soaks. */
  trendBasis: string;
  /** Change of the least-squares line through the trend points over the soak, relative to its start. */
  trendChange: number;
  /** |trendChange| <= 5 %. */
  flat: boolean;
  latencyMs: { p50: number; p99: number; max: number };
  ok: number;
  errors: number;
  achievedRps: number;
}

export interface Table {
  title: string;
  header: string[];
  rows: string[][];
  /** Column alignment; default: first column left, the others right. */
  align?: Array<'l' | 'r'>;
  notes?: string[];
}

export const SIDES: readonly Side[] = ['bare', 'gateway', 'baseline'];
export const MB = 1_000_000;

export const f3 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(3));
export const f2 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(2));
export const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(1));
export const f0 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(0));
export const signed = (n: number | undefined, digits = 3) => (n === undefined || Number.isNaN(n) ? '-' : `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`);
const mb = (bytes: number | undefined) => (bytes === undefined || Number.isNaN(bytes) ? '-' : (bytes / MB).toFixed(1));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !(b > 0) ? undefined : a / b);

/** A markdown table with padded columns (readable as plain text too). */
export function renderTable(t: Table): string {
  const align = t.header.map((_, i) => t.align?.[i] ?? (i === 0 ? 'l' : 'r'));
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const rows = t.rows.map((r) => t.header.map((_, i) => esc(r[i] ?? '')));
  const header = t.header.map(esc);
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const cell = (s: string, i: number) => (align[i] === 'l' ? s.padEnd(widths[i]!) : s.padStart(widths[i]!));
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (align[i] === 'l' ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  const out = [`### ${t.title}`, '', line(header), sep, ...rows.map(line)];
  if (t.notes && t.notes.length > 0) out.push('', ...t.notes.map((n) => `- ${n}`));
  return out.join('\n');
}

function presentSides(scenarios: ScenarioSummary[]): Side[] {
  return SIDES.filter((s) => scenarios.some((x) => x.sides[s]));
}

function added(s: ScenarioSummary, side: ProcessorSide, p: 'p50' | 'p90' | 'p99' | 'max'): number | undefined {
  const a = s.sides[side];
  const b = s.sides.bare;
  return a && b ? a.latencyMs[p] - b.latencyMs[p] : undefined;
}

/** Latency per scenario: each side's p50 / p99, what the processor adds, and the ratio to bare. */
export function latencyTable(scenarios: ScenarioSummary[]): Table {
  const sides = presentSides(scenarios);
  const procSides = sides.filter((s): s is ProcessorSide => s !== 'bare');
  const header = ['scenario'];
  for (const s of sides) header.push(`${s} p50 / p99`);
  for (const s of procSides) header.push(`${s} added p50 / p99`, `${s}/bare p50 / p99`);
  header.push(`errors ${sides.join(' / ')}`);
  const pair = (a: string, b: string) => (a === '-' && b === '-' ? '-' : `${a} / ${b}`);
  const rows = scenarios.map((sc) => {
    const r = [sc.title];
    for (const s of sides) r.push(pair(f3(sc.sides[s]?.latencyMs.p50), f3(sc.sides[s]?.latencyMs.p99)));
    for (const s of procSides) {
      r.push(pair(signed(added(sc, s, 'p50')), signed(added(sc, s, 'p99'))));
      r.push(pair(f2(ratio(sc.sides[s]?.latencyMs.p50, sc.sides.bare?.latencyMs.p50)), f2(ratio(sc.sides[s]?.latencyMs.p99, sc.sides.bare?.latencyMs.p99))));
    }
    r.push(sides.map((s) => String(sc.sides[s]?.errors ?? '-')).join(' / '));
    return r;
  });
  return {
    title: 'Latency (ms)',
    header,
    rows,
    notes: [
      'Percentiles pooled over the rounds. "added" = side percentile minus bare percentile (not a percentile of differences); "x/bare" = the ratio of the two.',
      "Open loop: from each request's scheduled send time. Stream rows: time to the first body byte. Large prompt: whole call. Cache-hit rows: bare = Envoy -> simulator, the other sides = answered from the processor's cache.",
      'errors = non-200 + socket errors + timeouts + broken streams (+ cache-hit check failures), summed over rounds, per side.',
    ],
  };
}

/** Open loop: every percentile, the achieved rate and the errors at each offered rate. */
export function openLoopTable(scenarios: ScenarioSummary[]): Table | undefined {
  const open = scenarios.filter((s) => s.kind === 'open');
  if (open.length === 0) return undefined;
  const sides = presentSides(open);
  const rows: string[][] = [];
  for (const sc of open) {
    for (const s of sides) {
      const p = sc.sides[s];
      if (!p) continue;
      rows.push([
        `${sc.rate} RPS`,
        s,
        f0(p.rps),
        f3(p.latencyMs.p50),
        f3(p.latencyMs.p90),
        f3(p.latencyMs.p99),
        f3(p.latencyMs.max),
        s === 'bare' ? '' : signed(added(sc, s, 'p99')),
        String(p.errors - p.timeouts),
        String(p.timeouts),
        f3(p.sendLagP99Ms),
      ]);
    }
  }
  return {
    title: 'Open loop (ms, from the scheduled send time)',
    header: ['offered', 'side', 'achieved/s', 'p50', 'p90', 'p99', 'max', 'added p99', 'errors', 'timeouts', 'gen lag p99'],
    rows,
    align: ['l', 'l'],
    notes: [
      'A request not answered 5 s after its scheduled time is a timeout (and its connection is closed); latencies are of OK calls only, so a row with timeouts understates its tail.',
      '"gen lag p99" is the load generator\'s own lateness in sending (scheduled -> handed on); it is included in every latency of the row.',
    ],
  };
}

/** Calls per second: closed-loop rows and the best of c16/c64 ("max calls/s"). */
export function throughputTable(scenarios: ScenarioSummary[]): Table {
  const rowsFor = scenarios.filter((s) => s.kind === 'wrk' || s.kind === 'stream');
  const sides = presentSides(rowsFor);
  const procSides = sides.filter((s): s is ProcessorSide => s !== 'bare');
  const header = ['scenario', ...sides.map((s) => `${s} calls/s`), ...procSides.map((s) => `${s}/bare`), ...sides.map((s) => `${s} cores`)];
  const rows = rowsFor.map((sc) => [
    sc.title,
    ...sides.map((s) => f0(sc.sides[s]?.rps)),
    ...procSides.map((s) => f2(ratio(sc.sides[s]?.rps, sc.sides.bare?.rps))),
    ...sides.map((s) => f2(sc.sides[s]?.cpu.cores)),
  ]);
  const best = maxCalls(scenarios);
  if (best) {
    rows.push([
      `**max calls/s** (best of ${best.from.join(', ')})`,
      ...sides.map((s) => f0(best.bySide[s])),
      ...procSides.map((s) => f2(ratio(best.bySide[s], best.bySide.bare))),
      ...sides.map(() => ''),
    ]);
  }
  return {
    title: 'Throughput (calls/s)',
    header,
    rows,
    notes: [
      'calls/s = 200 responses per second, pooled over the rounds. "cores" = CPU of the proxy under test (Envoy, plus the processor tree) over the load\'s wall time: near the number of gateway CPUs means that side was saturated; well below it means the load side (generator + simulator) was the limit.',
    ],
  };
}

/** The best closed-loop throughput of each side (c16 / c64). */
export function maxCalls(scenarios: ScenarioSummary[]): { from: string[]; bySide: Partial<Record<Side, number>>; errors: boolean } | undefined {
  const closed = scenarios.filter((s) => s.id === 'c16' || s.id === 'c64');
  if (closed.length === 0) return undefined;
  const bySide: Partial<Record<Side, number>> = {};
  let errors = false;
  for (const s of SIDES) {
    const v = closed.map((c) => c.sides[s]?.rps).filter((x): x is number => x !== undefined);
    if (v.length > 0) bySide[s] = Math.max(...v);
    if (closed.some((c) => (c.sides[s]?.errors ?? 0) > 0)) errors = true;
  }
  return { from: closed.map((c) => c.id), bySide, errors };
}

/** CPU microseconds per completed call: Envoy, processor, and their total against bare Envoy. */
export function cpuTable(scenarios: ScenarioSummary[]): Table {
  const sides = presentSides(scenarios);
  const procSides = sides.filter((s): s is ProcessorSide => s !== 'bare');
  const header = ['scenario', 'bare Envoy'];
  for (const s of procSides) header.push(`${s} Envoy`, `${s} processor`, `${s} total`, `${s} total/bare`);
  header.push('other load (cores)');
  const rows = scenarios.map((sc) => {
    const r = [sc.title, f1(sc.sides.bare?.cpu.envoy)];
    for (const s of procSides) {
      const c = sc.sides[s]?.cpu;
      r.push(f1(c?.envoy), f1(c?.processor), f1(c?.total), f2(ratio(c?.total, sc.sides.bare?.cpu.total)));
    }
    const other = sides.map((s) => sc.sides[s]?.foreignGatewayCores).filter((v): v is number => v !== undefined && Number.isFinite(v));
    r.push(other.length > 0 ? f2(Math.max(...other)) : '-');
    return r;
  });
  return {
    title: 'CPU per call (µs)',
    header,
    rows,
    notes: [
      'utime + stime from /proc/<pid>/stat before and after each load (the processor: summed over its process tree, reaped children included), divided by the calls Envoy completed in that window (downstream_rq_completed), pooled over the rounds. Resolution: one clock tick (10 ms) per process per load.',
      '"other load" = the most CPU that processes outside this benchmark used on the gateway CPUs during any one load of the row (user + system + steal time from /proc/stat minus this benchmark\'s processes; interrupt time is left out). Anything above ~0.05 means the proxy under test shared its core.',
    ],
  };
}

/** The large-prompt scenario: p50 and max of whole calls. */
export function bigPromptTable(scenarios: ScenarioSummary[]): Table | undefined {
  const big = scenarios.find((s) => s.kind === 'big');
  if (!big) return undefined;
  const rows = SIDES.filter((s) => big.sides[s]).map((s) => {
    const p = big.sides[s]!;
    return [
      s,
      String(p.ok),
      f1(p.latencyMs.p50),
      f1(p.latencyMs.max),
      f2(ratio(p.latencyMs.max, p.latencyMs.p50)),
      s === 'bare' ? '' : signed(big.sides[s]!.latencyMs.p50 - (big.sides.bare?.latencyMs.p50 ?? NaN), 1),
      String(p.errors),
    ];
  });
  return { title: `${big.title} (ms per call)`, header: ['side', 'calls', 'p50', 'max', 'max/p50', 'added p50', 'errors'], rows, align: ['l'] };
}

export function rssTable(rss: Partial<Record<string, RssReport>>): Table | undefined {
  const entries = Object.entries(rss).filter((e): e is [string, RssReport] => e[1] !== undefined);
  if (entries.length === 0) return undefined;
  return {
    title: 'Processor memory (RSS, MB)',
    header: ['processor', 'start', 'after the runs', 'peak (sampled)', 'processes'],
    rows: entries.map(([name, r]) => [name, mb(r.startBytes), mb(r.afterRunsBytes), mb(r.peakBytes), String(r.processes)]),
    notes: [
      'VmRSS from /proc/<pid>/status summed over the process tree (1 MB = 10^6 bytes). "start" = after start-up and the pre-flight, before any load; "peak" = the highest of the readings taken after each load.',
    ],
  };
}

export function soakTable(s: SoakReport): Table {
  return {
    title: `Soak: ${s.minutes} min at ${s.rate} RPS open loop against the gateway, cache ${s.cache}`,
    header: [
      'RSS before',
      'after',
      'min',
      'max',
      'after - before',
      'largest deviation',
      'trend',
      'flat within 5 %',
      'p50 ms',
      'p99 ms',
      'achieved/s',
      'errors',
    ],
    rows: [
      [
        mb(s.beforeBytes),
        mb(s.afterBytes),
        mb(s.minBytes),
        mb(s.maxBytes),
        `${signed(100 * s.change, 1)} %`,
        `${f1(100 * s.maxDeviation)} %`,
        `${signed(100 * s.trendChange, 1)} %`,
        s.flat ? 'yes' : 'no',
        f3(s.latencyMs.p50),
        f3(s.latencyMs.p99),
        f0(s.achievedRps),
        String(s.errors),
      ],
    ],
    align: ['r'],
    notes: [
      `"trend" = change, over the soak, of the least-squares line through the ${s.trendBasis} of RSS, relative to its start; "flat" = trend within ±5 %. Single readings swing with garbage collection ("largest deviation" from "before"); the slope through every reading is ${signed(s.slopeMbPerMin, 2)} MB/min.`,
      ...(s.floorsBytes.length > 0 ? [`Lowest RSS of each minute (MB): ${s.floorsBytes.map((b) => mb(b)).join(', ')}.`] : []),
      `A fresh processor and gateway Envoy, warmed up for ${s.warmupS} s at the same rate; "before" is read at the end of the warm-up, then every ${s.intervalS} s. Every request is distinct (numbered), so with the cache on every call is a miss that stores an entry.`,
    ],
  };
}

// ---- targets ----------------------------------------------------------------------------------

export type Verdict = 'PASS' | 'FAIL' | 'INVALID' | 'n/a';

export interface TargetResult {
  measured: string;
  verdict: Verdict;
  note?: string;
}

export interface TargetRow {
  name: string;
  goal: string;
  /** Per processor side. */
  results: Partial<Record<ProcessorSide, TargetResult>>;
}

export interface TargetInputs {
  byId: Map<string, ScenarioSummary>;
  sides: ProcessorSide[];
  rss: Partial<Record<ProcessorSide, RssReport>>;
  soak?: SoakReport;
}

/** The share of the offered rate below which an open-loop row does not count as having held the rate. */
const ACHIEVED_MIN_SHARE = 0.97;

export const TARGET_GOALS = {
  seqAddedP50Ms: 0.5,
  open500AddedP99Ms: 3,
  open1000P99Ms: 20,
  maxCallsShare: 0.4,
  streamAddedMs: 0.7,
  bigAddedP50Ms: 100,
  bigMaxOverP50: 2,
  rssAfterMb: 150,
  soakFlat: 0.05,
} as const;

/**
 * The project's targets (ratios to bare Envoy measured in the same run, on the same pinned CPUs),
 * judged for each processor side. A scenario with errors on either side it compares is INVALID.
 */
export function checkTargets(t: TargetInputs): TargetRow[] {
  const G = TARGET_GOALS;
  const rows: TargetRow[] = [];
  const invalidNote = (s: ScenarioSummary | undefined, side: ProcessorSide, needBare = true): string | undefined => {
    if (!s?.sides[side] || (needBare && !s.sides.bare)) return 'not run';
    const errs = (s.sides[side]?.errors ?? 0) + (needBare ? (s.sides.bare?.errors ?? 0) : 0);
    if (errs > 0) return `errors during the run (${needBare ? `bare ${s.sides.bare?.errors ?? 0}, ` : ''}${side} ${s.sides[side]?.errors ?? 0})`;
    // The generator not sending at the intended rate (on any side it compares), or bare Envoy
    // not answering at it, means the load side could not produce the rate: nothing to compare.
    // A processor side not answering at the rate is that side's result (its latency shows it),
    // so it is judged, with a note.
    if (s.kind === 'open') {
      for (const x of needBare ? (['bare', side] as const) : ([side] as const)) {
        const offered = s.sides[x]?.offeredShare;
        if (offered !== undefined && offered < ACHIEVED_MIN_SHARE) return `the generator sent only ${(100 * offered).toFixed(0)} % of ${s.rate} RPS (${x} run)`;
      }
      const bareShare = s.sides.bare?.achievedShare;
      if (needBare && bareShare !== undefined && bareShare < ACHIEVED_MIN_SHARE) {
        return `bare Envoy answered only ${(100 * bareShare).toFixed(0)} % of ${s.rate} RPS: the load side could not drive the rate`;
      }
    }
    return undefined;
  };
  const heldNote = (s: ScenarioSummary | undefined, side: ProcessorSide): string | undefined => {
    const share = s?.kind === 'open' ? s.sides[side]?.achievedShare : undefined;
    return share !== undefined && share < ACHIEVED_MIN_SHARE ? `${side} held only ${(100 * share).toFixed(0)} % of ${s!.rate} RPS` : undefined;
  };
  const judge = (value: number | undefined, ok: (v: number) => boolean, note: string | undefined, measured: string, info?: string): TargetResult => {
    if (note === 'not run') return { measured: '-', verdict: 'n/a', note };
    if (note) return { measured, verdict: 'INVALID', note };
    if (value === undefined || Number.isNaN(value)) return { measured, verdict: 'n/a', note: 'no measurement' };
    return { measured, verdict: ok(value) ? 'PASS' : 'FAIL', note: info };
  };
  const row = (name: string, goal: string, f: (side: ProcessorSide) => TargetResult) => {
    const results: Partial<Record<ProcessorSide, TargetResult>> = {};
    for (const s of t.sides) results[s] = f(s);
    rows.push({ name, goal, results });
  };
  const addedOf = (s: ScenarioSummary | undefined, side: ProcessorSide, p: 'p50' | 'p99') =>
    s?.sides[side] && s.sides.bare ? s.sides[side]!.latencyMs[p] - s.sides.bare.latencyMs[p] : undefined;

  const seq = t.byId.get('seq');
  row('sequential (1 conn): added p50', `<= ${G.seqAddedP50Ms} ms`, (side) => {
    const v = addedOf(seq, side, 'p50');
    return judge(v, (x) => x <= G.seqAddedP50Ms, invalidNote(seq, side), `${signed(v)} ms`);
  });

  const o500 = t.byId.get('open-500');
  row('open loop 500 RPS: added p99', `<= ${G.open500AddedP99Ms} ms`, (side) => {
    const v = addedOf(o500, side, 'p99');
    return judge(v, (x) => x <= G.open500AddedP99Ms, invalidNote(o500, side), `${signed(v)} ms`, heldNote(o500, side));
  });

  const o1000 = t.byId.get('open-1000');
  row('open loop 1,000 RPS: p99', `<= ${G.open1000P99Ms} ms`, (side) => {
    const v = o1000?.sides[side]?.latencyMs.p99;
    return judge(v, (x) => x <= G.open1000P99Ms, invalidNote(o1000, side), `${f3(v)} ms`, heldNote(o1000, side));
  });

  const best = maxCalls([...t.byId.values()]);
  row(`max calls/s vs bare (best of c16, c64)`, `>= ${(100 * G.maxCallsShare).toFixed(0)} %`, (side) => {
    if (!best || best.bySide[side] === undefined || best.bySide.bare === undefined) return { measured: '-', verdict: 'n/a', note: 'not run' };
    const r = best.bySide[side]! / best.bySide.bare;
    const closed = ['c16', 'c64'].map((id) => t.byId.get(id)).filter((s): s is ScenarioSummary => !!s);
    const errs = closed.reduce((n, s) => n + (s.sides[side]?.errors ?? 0) + (s.sides.bare?.errors ?? 0), 0);
    return judge(
      r,
      (x) => x >= G.maxCallsShare,
      errs > 0 ? `errors during the run (${errs})` : undefined,
      `${(100 * r).toFixed(1)} % (${f0(best.bySide[side])} / ${f0(best.bySide.bare)})`,
    );
  });

  const stream = t.byId.get('stream');
  row('stream TTFB (1 conn): added p50', `<= ${G.streamAddedMs} ms`, (side) => {
    const v = addedOf(stream, side, 'p50');
    return judge(v, (x) => x <= G.streamAddedMs, invalidNote(stream, side), `${signed(v)} ms`);
  });

  const big = t.byId.get('big');
  row('large prompt: p50 vs bare p50', `<= bare + ${G.bigAddedP50Ms} ms`, (side) => {
    const v = addedOf(big, side, 'p50');
    return judge(
      v,
      (x) => x <= G.bigAddedP50Ms,
      invalidNote(big, side),
      `${signed(v, 1)} ms (${f1(big?.sides[side]?.latencyMs.p50)} vs ${f1(big?.sides.bare?.latencyMs.p50)})`,
    );
  });
  row('large prompt: max vs own p50', `<= ${G.bigMaxOverP50} x p50`, (side) => {
    const p = big?.sides[side];
    const v = p ? p.latencyMs.max / p.latencyMs.p50 : undefined;
    return judge(v, (x) => x <= G.bigMaxOverP50, invalidNote(big, side, false), `${f2(v)} x (${f1(p?.latencyMs.max)} / ${f1(p?.latencyMs.p50)} ms)`);
  });

  row('processor RSS after the runs', `<= ${G.rssAfterMb} MB`, (side) => {
    const r = t.rss[side];
    if (!r) return { measured: '-', verdict: 'n/a', note: 'not measured' };
    const v = r.afterRunsBytes / MB;
    return judge(v, (x) => x <= G.rssAfterMb, undefined, `${f1(v)} MB`);
  });

  row('soak: RSS flat', `within ${(100 * G.soakFlat).toFixed(0)} %`, (side) => {
    const s = t.soak;
    if (side !== 'gateway') return { measured: '-', verdict: 'n/a', note: 'the soak runs against the gateway only' };
    if (!s) return { measured: '-', verdict: 'n/a', note: 'not run (--soak)' };
    const measured = `trend ${signed(100 * s.trendChange, 1)} % (${s.trendBasis}; cache ${s.cache})`;
    if (s.errors > 0) return { measured, verdict: 'INVALID', note: `errors during the soak (${s.errors})` };
    return { measured, verdict: s.flat ? 'PASS' : 'FAIL' };
  });
  return rows;
}

export function targetsTable(rows: TargetRow[], sides: ProcessorSide[]): Table {
  const header = ['target', 'goal'];
  for (const s of sides) header.push(`${s} measured`, `${s} result`);
  return {
    title: 'Targets',
    header,
    rows: rows.map((r) => {
      const cells = [r.name, r.goal];
      for (const s of sides) {
        const x = r.results[s];
        cells.push(x?.measured ?? '-', x ? (x.note ? `${x.verdict} (${x.note})` : x.verdict) : '-');
      }
      return cells;
    }),
    align: ['l', 'l', ...sides.flatMap(() => ['r', 'l'] as Array<'l' | 'r'>)],
    notes: [
      'Ratios and "added" are against bare Envoy measured in the same run, on the same pinned CPUs. INVALID: the scenario had errors on a side it compares, or (open loop) the generator could not send at the rate or bare Envoy could not answer at it; its numbers do not count. n/a: not run.',
    ],
  };
}
