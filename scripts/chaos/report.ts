/**
 * What a scenario's calls came to: errors by class, recovery time, lost usage records (from
 * Envoy's access log), latency, and a verdict against the scenario's expectations; and the
 * markdown tables the script prints.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { CallRecord } from './load.js';

/** When the fault happened, as seconds on the scenario's clock. */
export interface FaultTimeline {
  /** The fault was injected. */
  injectS: number;
  /** The fault was taken away (Redis back, provider answering again); undefined for one that is not (a kill, a drain). */
  endS?: number;
  /** A kill: when the processor and all its workers were gone (calls sent before may have been caught in flight). */
  goneS?: number;
  /** Recovery is counted from here. */
  recoveryFrom: 'injection' | 'end' | 'none';
  /** What happened when, for the report. */
  events: Array<{ atS: number; what: string }>;
}

/** The access log's usage fields of one call, by Envoy request id. */
export interface UsageLine {
  request_id?: string;
  status?: number | string;
  flags?: string;
  details?: string;
  gateway_error?: unknown;
  path?: string;
  input_tokens?: unknown;
  output_tokens?: unknown;
  cost_usd?: unknown;
  provider?: unknown;
}

export function readAccessLog(file: string): Map<string, UsageLine> {
  const out = new Map<string, UsageLine>();
  for (const j of accessLogLines(file)) if (typeof j.request_id === 'string') out.set(j.request_id, j);
  return out;
}

export function accessLogLines(file: string): UsageLine[] {
  if (!existsSync(file)) return [];
  const out: UsageLine[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as UsageLine);
    } catch {
      // a line cut by a crash: not a record
    }
  }
  return out;
}

/** Envoy's own account of the answers other than 200: status, response flags, details, the gateway's error. */
export function envoyErrorView(lines: UsageLine[]): Array<{ what: string; count: number }> {
  const by = new Map<string, number>();
  for (const l of lines) {
    // The scenario's own /healthz probes are not calls.
    if (String(l.status) === '200' || l.path === '/healthz') continue;
    const what = `${l.status} · ${l.flags ?? '-'} · ${l.details ?? '-'}${l.gateway_error != null ? ` · gateway_error ${String(l.gateway_error)}` : ''}`;
    by.set(what, (by.get(what) ?? 0) + 1);
  }
  return [...by].map(([what, count]) => ({ what, count })).sort((a, b) => b.count - a.count);
}

export type UsageVerdict = 'recorded' | 'no line' | 'no tokens' | 'no request id';

/** Whether a successful call's usage reached the access log (a line with numeric tokens). */
export function usageOf(r: CallRecord, log: Map<string, UsageLine>): { verdict: UsageVerdict; line?: UsageLine } {
  if (!r.requestId) return { verdict: 'no request id' };
  const line = log.get(r.requestId);
  if (!line) return { verdict: 'no line' };
  if (typeof line.input_tokens !== 'number' || typeof line.output_tokens !== 'number') return { verdict: 'no tokens', line };
  return { verdict: 'recorded', line };
}

export interface ClassRow {
  cls: string;
  calls: number;
  /** `yes`, `no`, `mixed`, or `-` where there is no error body (connection failures, 200s). */
  callerShape: string;
  expected: number;
  firstS: number;
  lastS: number;
  apis: string;
  example?: string;
}

export interface ScenarioSummary {
  calls: number;
  ok: number;
  errors: number;
  expectedErrors: number;
  unexpectedErrors: number;
  /** Errors of calls that ended before the fault was injected: the stack's own noise. */
  errorsBeforeFault: number;
  /** 5xx other than 503. */
  fiveXxNot503: number;
  /** Error answers whose body is not in the caller's API error shape. */
  notCallerShape: number;
  connectionFailures: number;
  timeouts: number;
  /** Seconds from the recovery reference to the first of N consecutive successes; null: never. */
  recoveryS: number | null;
  recoveryFrom: FaultTimeline['recoveryFrom'];
  /** Successful calls whose usage is not in the access log (no line, or a line without tokens). */
  lostUsage: number;
  lostUsageByKind: Record<string, number>;
  /** Successful calls whose recorded output tokens differ from what the simulator produced. */
  usageMismatch: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Calls (answered or not) that took longer than the scenario's hang bound. */
  slowCalls: number;
  verdict: 'pass' | 'FAIL';
  reasons: string[];
}

export interface Expectations {
  /** Whether an error is one the fault is expected to cause. */
  expectedError(r: CallRecord, tl: FaultTimeline): boolean;
  /** Recovery must be within this many seconds (when the scenario measures one). */
  recoveryBoundS: number;
  /** N in "the first of N consecutive successes". */
  consecutive: number;
  /** A call longer than this counts as a hang. */
  hangBoundS: number;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Recovery: from `fromS`, the first call that failed, then the first of `n` consecutive successful
 * calls (in the order they were sent) after it; the seconds from `fromS` to that call's sending.
 * 0 when no call sent after `fromS` failed; null when the run of successes never came.
 */
export function recoveryTime(records: CallRecord[], fromS: number, n: number): number | null {
  const after = records.filter((r) => r.sentS >= fromS).sort((a, b) => a.sentS - b.sentS);
  const firstBad = after.findIndex((r) => !r.ok);
  if (firstBad < 0) return 0;
  let run = 0;
  for (let k = firstBad; k < after.length; k++) {
    run = after[k]!.ok ? run + 1 : 0;
    if (run === n) return round(after[k - n + 1]!.sentS - fromS);
  }
  return null;
}

export function isConnectionFailure(r: CallRecord): boolean {
  return r.status === undefined || r.cls.startsWith('conn ') || r.cls.startsWith('timeout');
}

export function summarize(
  records: CallRecord[],
  tl: FaultTimeline,
  exp: Expectations,
  usage: Map<string, UsageLine>,
): { summary: ScenarioSummary; classes: ClassRow[] } {
  const errors = records.filter((r) => !r.ok);
  const expected = errors.filter((r) => exp.expectedError(r, tl));
  const rows = new Map<string, ClassRow & { shapes: Set<string> }>();
  for (const r of records) {
    if (r.ok) continue;
    const key = r.cls;
    let row = rows.get(key);
    if (!row) {
      row = { cls: key, calls: 0, callerShape: '-', expected: 0, firstS: r.sentS, lastS: r.sentS, apis: '', shapes: new Set(), example: r.detail };
      rows.set(key, row);
    }
    row.calls++;
    if (exp.expectedError(r, tl)) row.expected++;
    row.firstS = Math.min(row.firstS, r.sentS);
    row.lastS = Math.max(row.lastS, r.sentS);
    row.shapes.add(r.shapeOk === undefined ? '-' : r.shapeOk ? 'yes' : 'no');
    row.apis = [...new Set([...row.apis.split(',').filter(Boolean), r.api])].sort().join(',');
    if (!row.example && r.detail) row.example = r.detail;
  }
  const classes: ClassRow[] = [...rows.values()]
    .map(({ shapes, ...row }) => ({
      ...row,
      callerShape: shapes.size === 1 ? [...shapes][0]! : [...shapes].filter((s) => s !== '-').length > 1 ? 'mixed' : [...shapes].sort().join('/'),
      firstS: round(row.firstS - tl.injectS),
      lastS: round(row.lastS - tl.injectS),
    }))
    .sort((a, b) => b.calls - a.calls);

  const lostUsageByKind: Record<string, number> = {};
  let usageMismatch = 0;
  for (const r of records) {
    if (!r.ok) continue;
    const u = usageOf(r, usage);
    if (u.verdict !== 'recorded') lostUsageByKind[u.verdict] = (lostUsageByKind[u.verdict] ?? 0) + 1;
    else if (u.line && u.line.output_tokens !== r.tokens) usageMismatch++;
  }
  const lostUsage = Object.values(lostUsageByKind).reduce((a, b) => a + b, 0);

  const lat = records.map((r) => (r.endS - r.dueS) * 1000).sort((a, b) => a - b);
  const recoveryS =
    tl.recoveryFrom === 'none' ? null : recoveryTime(records, tl.recoveryFrom === 'end' ? (tl.endS ?? tl.injectS) : tl.injectS, exp.consecutive);
  const slowCalls = records.filter((r) => r.endS - r.sentS > exp.hangBoundS).length;

  const summary: ScenarioSummary = {
    calls: records.length,
    ok: records.length - errors.length,
    errors: errors.length,
    expectedErrors: expected.length,
    unexpectedErrors: errors.length - expected.length,
    errorsBeforeFault: errors.filter((r) => r.endS < tl.injectS).length,
    fiveXxNot503: errors.filter((r) => r.status !== undefined && r.status >= 500 && r.status !== 503).length,
    notCallerShape: errors.filter((r) => r.shapeOk === false).length,
    connectionFailures: errors.filter(isConnectionFailure).length,
    timeouts: errors.filter((r) => r.cls.startsWith('timeout')).length,
    recoveryS,
    recoveryFrom: tl.recoveryFrom,
    lostUsage,
    lostUsageByKind,
    usageMismatch,
    latencyMs: { p50: round(pct(lat, 50), 1), p99: round(pct(lat, 99), 1), max: round(lat.at(-1) ?? Number.NaN, 1) },
    slowCalls,
    verdict: 'pass',
    reasons: [],
  };
  const reasons = summary.reasons;
  if (summary.unexpectedErrors > 0) reasons.push(`${summary.unexpectedErrors} unexpected error(s)`);
  if (summary.notCallerShape > 0) reasons.push(`${summary.notCallerShape} error(s) not in the caller's shape`);
  if (lostUsage > 0) reasons.push(`${lostUsage} lost usage record(s)`);
  if (slowCalls > 0) reasons.push(`${slowCalls} call(s) over ${exp.hangBoundS} s`);
  if (tl.recoveryFrom !== 'none') {
    if (recoveryS === null) reasons.push(`no ${exp.consecutive} consecutive successes after the fault`);
    else if (recoveryS > exp.recoveryBoundS) reasons.push(`recovery ${recoveryS} s > ${exp.recoveryBoundS} s`);
  }
  if (reasons.length > 0) summary.verdict = 'FAIL';
  return { summary, classes };
}

// ---------------------------------------------------------------------------------------------
// Markdown

function table(head: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|').replace(/\n/g, ' ')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export interface ScenarioReport {
  name: string;
  title: string;
  fault: string;
  settings: { seconds: number; rps: number; workers: number; [k: string]: unknown };
  timeline: FaultTimeline;
  summary: ScenarioSummary;
  classes: ClassRow[];
  /** Per second of the scenario's clock: calls sent that second that succeeded / failed, and their median latency. */
  perSecond: Array<{ s: number; ok: number; err: number; p50Ms: number }>;
  /** Envoy's access log for the answers other than 200. */
  envoyErrors: Array<{ what: string; count: number }>;
  notes: string[];
  durationS: number;
}

export function perSecond(records: CallRecord[]): Array<{ s: number; ok: number; err: number; p50Ms: number }> {
  const out: Array<{ s: number; ok: number; err: number; lat: number[] }> = [];
  for (const r of records) {
    const s = Math.floor(r.sentS);
    while (out.length <= s) out.push({ s: out.length, ok: 0, err: 0, lat: [] });
    if (r.ok) out[s]!.ok++;
    else out[s]!.err++;
    out[s]!.lat.push((r.endS - r.dueS) * 1000);
  }
  return out.map(({ lat, ...b }) => ({
    ...b,
    p50Ms: Math.round(
      pct(
        lat.sort((x, y) => x - y),
        50,
      ),
    ),
  }));
}

const fmtRecovery = (s: ScenarioSummary) =>
  s.recoveryFrom === 'none'
    ? 'n/a'
    : s.recoveryS === null
      ? 'never'
      : `${s.recoveryS.toFixed(2)} (from ${s.recoveryFrom === 'end' ? 'fault end' : 'injection'})`;

export function scenarioMarkdown(r: ScenarioReport): string {
  const s = r.summary;
  const out: string[] = [];
  out.push(`### ${r.name}: ${r.title}`);
  out.push('');
  out.push(`Fault: ${r.fault}`);
  out.push('');
  out.push(`Load: ${r.settings.rps} calls/s for ${r.settings.seconds} s, processor workers ${r.settings.workers}; ran ${r.durationS.toFixed(1)} s.`);
  out.push('');
  for (const e of r.timeline.events) out.push(`- ${e.atS.toFixed(2)} s: ${e.what}`);
  out.push('');
  out.push(
    table(
      [
        'calls',
        '200 ok',
        'errors',
        'expected',
        'unexpected',
        'before fault',
        '5xx ≠ 503',
        'not caller shape',
        'conn failures',
        'recovery s',
        'lost usage',
        'p50 / p99 / max ms',
        'verdict',
      ],
      [
        [
          s.calls,
          s.ok,
          s.errors,
          s.expectedErrors,
          s.unexpectedErrors,
          s.errorsBeforeFault,
          s.fiveXxNot503,
          s.notCallerShape,
          s.connectionFailures,
          fmtRecovery(s),
          s.lostUsage === 0
            ? '0'
            : `${s.lostUsage} (${Object.entries(s.lostUsageByKind)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ')})`,
          `${s.latencyMs.p50} / ${s.latencyMs.p99} / ${s.latencyMs.max}`,
          s.verdict === 'pass' ? 'pass' : `FAIL: ${s.reasons.join('; ')}`,
        ],
      ],
    ),
  );
  out.push('');
  if (r.classes.length > 0) {
    out.push('Errors by class (times in seconds from the injection, by when the call was sent):');
    out.push('');
    out.push(
      table(
        ['class', 'calls', "caller's shape", 'expected', 'first s', 'last s', 'caller APIs', 'example'],
        r.classes.map((c) => [c.cls, c.calls, c.callerShape, c.expected, c.firstS, c.lastS, c.apis, c.example ? `\`${c.example.slice(0, 90)}\`` : '']),
      ),
    );
  } else {
    out.push('No errors.');
  }
  out.push('');
  if (r.envoyErrors.length > 0) {
    out.push("Envoy's access log, answers other than 200:");
    out.push('');
    out.push(
      table(
        ['status · response flags · details', 'lines'],
        r.envoyErrors.map((e) => [e.what, e.count]),
      ),
    );
    out.push('');
  }
  out.push(`Per second sent (ok/err): ${r.perSecond.map((b) => (b.err ? `${b.ok}/**${b.err}**` : `${b.ok}`)).join(' ')}`);
  out.push('');
  out.push(`Median latency per second sent (ms): ${r.perSecond.map((b) => (Number.isNaN(b.p50Ms) ? '-' : b.p50Ms)).join(' ')}`);
  if (s.usageMismatch > 0) out.push(`\nUsage records whose output tokens differ from the answer's: ${s.usageMismatch}`);
  for (const n of r.notes) out.push(`\n${n}`);
  out.push('');
  return out.join('\n');
}

export function summaryMarkdown(reports: ScenarioReport[]): string {
  return table(
    [
      'scenario',
      'fault',
      'calls',
      '200 ok',
      'errors (expected)',
      'unexpected',
      'before fault',
      '5xx ≠ 503',
      'not caller shape',
      'conn failures',
      'recovery s',
      'lost usage',
      'p99 ms',
      'verdict',
    ],
    reports.map((r) => {
      const s = r.summary;
      return [
        r.name,
        r.fault.length > 70 ? `${r.fault.slice(0, 67)}…` : r.fault,
        s.calls,
        s.ok,
        `${s.errors} (${s.expectedErrors})`,
        s.unexpectedErrors,
        s.errorsBeforeFault,
        s.fiveXxNot503,
        s.notCallerShape,
        s.connectionFailures,
        s.recoveryFrom === 'none' ? 'n/a' : s.recoveryS === null ? 'never' : s.recoveryS.toFixed(2),
        s.lostUsage,
        s.latencyMs.p99,
        s.verdict === 'pass' ? 'pass' : `FAIL: ${s.reasons.join('; ')}`,
      ];
    }),
  );
}
