/** The results table and the project's performance targets (DESIGN.md §7), as text. */
import type { Percentiles } from './dist.js';

export type ScenarioId = 'seq' | 'open' | 'c16' | 'c64' | 'stream' | 'stream-x' | 'hit' | 'hit-c16';

/** The scenarios whose gateway side is answered from the response cache. */
export const HIT_SCENARIOS: readonly ScenarioId[] = ['hit', 'hit-c16'];

export interface ErrorCounts {
  /** Responses whose status was not exactly 200. */
  non200: number;
  /** Connect/read/write errors. */
  socket: number;
  timeouts: number;
  /** Stream scenario: 200s that were not a complete event stream. */
  badStreams: number;
  /** Envoy's own count of non-2xx responses on the listener during the run (cross-check). */
  envoyNon2xx: number;
  /**
   * Cache-hit scenarios, gateway side: 200s without `x-gateway-cache: hit`, requests that reached
   * the simulator during the load, and responses the processor's hit counter does not account for.
   */
  notHit?: number;
  providerCalls?: number;
  uncountedHits?: number;
  total: number;
  first?: string;
}

export interface PooledSide {
  runs: number;
  /** OK (200) responses per second, pooled over the rounds. */
  rps: number;
  ok: number;
  latencyMs: Percentiles;
  errors: number;
}

export interface ScenarioSummary {
  id: ScenarioId;
  title: string;
  /** What the latency columns measure. */
  metric: string;
  bare?: PooledSide;
  gateway?: PooledSide;
  addedMs?: { p50: number; p90: number; p99: number };
  rpsRatio?: number;
}

export interface TargetCheck {
  name: string;
  measured: string;
  target: string;
  verdict: 'PASS' | 'MISS' | 'INVALID' | 'n/a';
  note?: string;
}

const f3 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(3));
const f0 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(0));
const signed = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '-' : `${n >= 0 ? '+' : ''}${n.toFixed(3)}`);

function table(header: string[], rows: string[][], alignLeft: number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (alignLeft.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ');
  const sep = widths.map((w) => '-'.repeat(w)).join('-|-');
  return [fmt(header), sep, ...rows.map(fmt)].join('\n');
}

export function resultsTable(scenarios: ScenarioSummary[]): string {
  const trio = (p: PooledSide | undefined) => (p ? `${f3(p.latencyMs.p50)} / ${f3(p.latencyMs.p90)} / ${f3(p.latencyMs.p99)}` : '-');
  const rows = scenarios.map((s) => [
    s.title,
    trio(s.bare),
    trio(s.gateway),
    s.addedMs ? `${signed(s.addedMs.p50)} / ${signed(s.addedMs.p99)}` : '-',
    f0(s.bare?.rps),
    f0(s.gateway?.rps),
    s.rpsRatio === undefined ? '-' : s.rpsRatio.toFixed(2),
    `${s.bare?.errors ?? '-'} / ${s.gateway?.errors ?? '-'}`,
  ]);
  return table(
    ['scenario', 'bare p50 / p90 / p99 ms', 'gateway p50 / p90 / p99 ms', 'added p50 / p99 ms', 'bare RPS', 'gw RPS', 'RPS ratio', 'errors b / g'],
    rows,
  );
}

export function targetsTable(checks: TargetCheck[]): string {
  return table(
    ['target', 'measured', 'goal', 'result'],
    checks.map((c) => [c.name, c.measured, c.target, c.note ? `${c.verdict} (${c.note})` : c.verdict]),
    [0, 3],
  );
}

/** The project's targets, judged on the pooled results. A scenario with errors can't pass. */
export function checkTargets(byId: Map<ScenarioId, ScenarioSummary>, rate: number): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const invalid = (s: ScenarioSummary | undefined): string | undefined => {
    if (!s?.bare || !s.gateway) return 'not run';
    if (s.bare.errors > 0 || s.gateway.errors > 0) return 'errors during the run';
    return undefined;
  };

  const open = byId.get('open');
  let openNote = invalid(open);
  if (!openNote && open?.bare && open.gateway) {
    const low = Math.min(open.bare.rps, open.gateway.rps);
    if (low < rate * 0.97) openNote = `offered ${rate} RPS, achieved only ${low.toFixed(0)}`;
  }
  const judge = (value: number | undefined, limit: number, note: string | undefined): TargetCheck['verdict'] =>
    note === 'not run' ? 'n/a' : note ? 'INVALID' : value !== undefined && value <= limit ? 'PASS' : 'MISS';
  checks.push({
    name: `${rate} RPS open loop: added p50`,
    measured: open?.addedMs ? `${f3(open.addedMs.p50)} ms` : '-',
    target: '<= 1 ms',
    verdict: judge(open?.addedMs?.p50, 1, openNote),
    note: openNote,
  });
  checks.push({
    name: `${rate} RPS open loop: added p99`,
    measured: open?.addedMs ? `${f3(open.addedMs.p99)} ms` : '-',
    target: '<= 5 ms',
    verdict: judge(open?.addedMs?.p99, 5, openNote),
    note: openNote,
  });

  const seq = byId.get('seq');
  const seqNote = invalid(seq);
  checks.push({
    name: 'sequential: added p50',
    measured: seq?.addedMs ? `${f3(seq.addedMs.p50)} ms` : '-',
    target: '<= 0.5 ms',
    verdict: judge(seq?.addedMs?.p50, 0.5, seqNote),
    note: seqNote,
  });

  const closed = [byId.get('c16'), byId.get('c64')].filter((s): s is ScenarioSummary => !!s?.bare && !!s.gateway);
  if (closed.length === 0) {
    checks.push({ name: 'max RPS: gateway / bare', measured: '-', target: '>= 0.333', verdict: 'n/a', note: 'not run' });
  } else {
    const bareMax = Math.max(...closed.map((s) => s.bare!.rps));
    const gwMax = Math.max(...closed.map((s) => s.gateway!.rps));
    const ratio = gwMax / bareMax;
    const errs = closed.some((s) => s.bare!.errors > 0 || s.gateway!.errors > 0);
    checks.push({
      name: `max RPS: gateway / bare (best of ${closed.map((s) => s.id).join(', ')})`,
      measured: `${ratio.toFixed(3)} (${gwMax.toFixed(0)} / ${bareMax.toFixed(0)})`,
      target: '>= 0.333',
      verdict: errs ? 'INVALID' : ratio >= 1 / 3 ? 'PASS' : 'MISS',
      note: errs ? 'errors during the run' : undefined,
    });
  }

  // Absolute, not added: a hit is answered by the processor through Envoy, with no provider call.
  const hit = byId.get('hit');
  const hitInvalid = invalid(hit);
  const hitNote = hitInvalid === 'errors during the run' ? 'errors or cache-hit check failures during the run' : hitInvalid;
  checks.push({
    name: 'cache hit p50 through Envoy (1 conn)',
    measured: hit?.gateway ? `${f3(hit.gateway.latencyMs.p50)} ms` : '-',
    target: '<= 2 ms',
    verdict: judge(hit?.gateway?.latencyMs.p50, 2, hitNote),
    note: hitNote,
  });
  return checks;
}
