/*
 * `npm run ledger:durability`: does the usage ledger lose or double anything when its processes
 * are killed outright? Real Envoy, the processor supervised as `npm start` runs it (with
 * REDIS_URL and DATABASE_URL: records go through each worker's spool and the Redis stream),
 * real Redis, a real PostgreSQL, and ledger writers (`npm run ledger`) as supervised child
 * processes. Under an open-loop load of mixed chat calls it kills -9 the processor (primary and
 * workers at once) and the writers, each brought back by its supervisor, then waits for the
 * ledger to settle and compares its rows with what the client saw:
 *
 *   rows for calls that got a whole 200 == those calls (none lost), no request id twice;
 *   any other row belongs to a call the gateway metered that the client saw fail (a call caught
 *   in flight by the kill: the provider answered, the caller's connection was cut).
 *
 * Prints the figures and exits 1 when something was lost or doubled. test/e2e/ledger-durability.test.ts
 * runs a short fixed version.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { pino } from 'pino';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { openPgPool } from '../ext-proc/src/ledger/pg-pool.js';
import type { CallSpec } from './chaos/calls.js';
import { runLoad, type CallRecord } from './chaos/load.js';
import { perSecond } from './chaos/report.js';
import { startLocalStack, type LocalStack } from './lib/local-stack.js';
import { startPostgres, type PostgresServerHandle } from './lib/postgres-server.js';
import { startRedis, type RedisServerHandle } from './lib/redis-server.js';

export interface DurabilityOptions {
  /** Load length. */
  seconds: number;
  rps: number;
  /** Processor workers (PROCESSOR_WORKERS). */
  workers: number;
  /** Ledger writer replicas. */
  writers: number;
  /** kill -9 of the processor (primary and workers), spread over the load. */
  processorKills: number;
  /** kill -9 of a writer (in turn), spread over the load. */
  writerKills: number;
  /** How long the ledger may take to settle after the load. */
  settleTimeoutMs?: number;
  /** The processor's LOG_LEVEL (its log goes to this process's stdout). */
  processorLogLevel?: string;
  progress?: (line: string) => void;
}

export interface DurabilityReport {
  sent: number;
  /** Calls answered 200 with a whole answer. */
  completed: number;
  /** Completed calls sent after the last kill of the processor (served by the one that replaced it). */
  completedAfterProcessorKill: number;
  /** Calls that got a 200 head (a stream cut afterwards included). */
  status200: number;
  failed: number;
  rows: number;
  /** Request ids stored more than once. */
  duplicates: number;
  /** Completed calls with no row. */
  lost: number;
  /** Rows of calls the client saw fail (metered by the gateway; the client's answer was cut). */
  extraOfFailed: number;
  /** Rows matching no call the client knows a request id of. */
  extraUnknown: number;
  /** Failed calls whose answer never named a request id (a row of theirs cannot be matched). */
  failedWithoutId: number;
  /** Entries in the Redis stream, and how many of them repeated a request id (shipped again after a kill). */
  streamEntries: number;
  streamRepeats: number;
  processorKills: number;
  writerKills: number;
  writerRestarts: number;
  /** Totals logged by the writers still running at the end (a killed writer's are lost with it). */
  writerTotals: { inserted: number; duplicates: number; claimed: number };
  /** Seconds from the end of the load until every completed call had its row (null: never). */
  settleS: number | null;
  events: Array<{ atS: number; what: string }>;
  /** Calls by the second they were sent: completed/failed. */
  perSecond: string;
  lostExamples: string[];
}

const TENANT = 'durability';
/** The writers' consumer group (the writer's default). */
const GROUP = 'ledger-writers';
const MIX: Array<Pick<CallSpec, 'api' | 'model'>> = [
  { api: 'openai', model: 'gpt-4o-mini' },
  { api: 'anthropic', model: 'claude-haiku-4-5' },
  { api: 'gemini', model: 'gemini-2.5-flash-lite' },
  { api: 'ollama', model: 'llama3.2' },
  { api: 'anthropic', model: 'gpt-4o-mini' },
  { api: 'openai', model: 'claude-haiku-4-5' },
];
const PACING = { latencyMs: 20, tokensPerSecond: 200 };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** The child processes of a process (Linux /proc): a processor primary's workers. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function kill9(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Ledger writers (`node dist/scripts/ledger.js`), each started again when it dies. */
class WriterFleet {
  private readonly procs: Array<ChildProcess | undefined> = [];
  private stopping = false;
  restarts = 0;
  readonly lastLines: string[][] = [];
  /** Writers killed (their exit may not have been seen yet). */
  readonly killed = new Set<number>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    count: number,
  ) {
    for (let i = 0; i < count; i++) this.launch(i);
  }

  /** The running writers' pids. */
  pids(): number[] {
    return this.procs.filter((c) => c && c.exitCode === null && c.signalCode === null).map((c) => c!.pid!);
  }

  private launch(i: number): void {
    const entry = path.join(repoRoot(), 'dist', 'scripts', 'ledger.js');
    const c = spawn(process.execPath, [entry], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs[i] = c;
    const lines: string[] = [];
    this.lastLines[i] = lines;
    let buf = '';
    c.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      if (lines.length > 200) lines.splice(0, lines.length - 200);
    });
    c.stderr!.on('data', (d: Buffer) => lines.push(d.toString('utf8')));
    c.once('exit', () => {
      if (this.stopping) return;
      this.restarts++;
      setTimeout(() => {
        if (!this.stopping) this.launch(i);
      }, 200).unref();
    });
  }

  /** Waits until every writer logged that it is ready. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.lastLines.every((l) => l.some((x) => x.includes('ledger writer ready')))) {
      if (Date.now() > deadline) throw new Error(`ledger writers not ready:\n${this.lastLines.map((l) => l.slice(-5).join('\n')).join('\n---\n')}`);
      await sleep(50);
    }
  }

  /** SIGTERM; resolves with the totals each logged as it stopped. */
  async stop(): Promise<Array<Record<string, number>>> {
    this.stopping = true;
    const totals: Array<Record<string, number>> = [];
    await Promise.all(
      this.procs.map(async (c, i) => {
        if (!c || c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise<void>((r) => c.once('exit', () => r()));
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 8000);
        await exited;
        clearTimeout(t);
        const line = this.lastLines[i]!.find((l) => l.includes('ledger writer stopped'));
        if (line) totals.push(JSON.parse(line) as Record<string, number>);
      }),
    );
    return totals;
  }
}

/**
 * Catches a writer between reading entries and acknowledging them, and kills it there: the
 * ledger table is locked for a moment, so the writers' next inserts wait holding what they read;
 * the first writer seen holding entries is killed with SIGKILL, then the lock goes. Its entries
 * stay pending until another writer takes them over.
 */
async function killWriterMidBatch(pool: pg.Pool, redis: Redis, writers: WriterFleet, stream: string): Promise<{ pid: number; pending: number } | undefined> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('LOCK TABLE usage_ledger IN SHARE ROW EXCLUSIVE MODE');
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const summary = (await redis.xpending(stream, GROUP)) as [number, string | null, string | null, Array<[string, string]> | null];
      for (const [consumer, count] of summary[3] ?? []) {
        const pid = Number(/-(\d+)-[0-9a-f]+$/.exec(consumer)?.[1]);
        if (writers.pids().includes(pid) && !writers.killed.has(pid) && Number(count) > 0) {
          writers.killed.add(pid);
          kill9(pid);
          return { pid, pending: Number(count) };
        }
      }
      await sleep(25);
    }
    return undefined;
  } finally {
    await c.query('COMMIT').catch(() => undefined);
    c.release();
  }
}

export async function runLedgerDurability(o: DurabilityOptions): Promise<DurabilityReport> {
  const entry = path.join(repoRoot(), 'dist', 'scripts', 'ledger.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-ledger-durability-'));
  const key = `gw-durability-${randomBytes(12).toString('hex')}`;
  const stream = 'llm_gateway:ledger';
  let redis: RedisServerHandle | undefined;
  let postgres: PostgresServerHandle | undefined;
  let stack: LocalStack | undefined;
  let writers: WriterFleet | undefined;
  let pool: pg.Pool | undefined;
  let r: Redis | undefined;
  const t0 = performance.now();
  const now = () => round((performance.now() - t0) / 1000, 3);
  const events: Array<{ atS: number; what: string }> = [];
  const event = (what: string) => {
    events.push({ atS: now(), what });
    o.progress?.(`${now().toFixed(2)} s ${what}`);
  };
  try {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
    const databaseUrl = await postgres.createDatabase('ledger');
    event('Redis and PostgreSQL up');
    const writerEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      REDIS_URL: redis.url,
      DATABASE_URL: databaseUrl,
      LEDGER_STREAM: stream,
      // Small batches keep the writers busy (a kill lands mid-batch more often); a dead writer's
      // entries are taken over quickly.
      LEDGER_WRITER_BATCH: '20',
      LEDGER_CLAIM_IDLE_MS: '1500',
      LOG_LEVEL: 'info',
    };
    writers = new WriterFleet(writerEnv, o.writers);
    const writersReady = writers.ready(30_000);
    stack = await startLocalStack({
      env: {
        GATEWAY_KEYS: `${TENANT}:${key}`,
        CACHE_TTL_SECONDS: '0',
        REDIS_URL: redis.url,
        DATABASE_URL: databaseUrl,
        LEDGER_DIR: path.join(dir, 'ledger'),
        LEDGER_STREAM: stream,
        LOG_LEVEL: o.processorLogLevel ?? 'fatal',
      },
      log: pino({ level: 'silent' }),
      demo: true,
      simulator: { ...PACING },
      ownSimulators: { anthropic: PACING, gemini: PACING },
      pools: { ollama: [{ ...PACING, parallel: 64 }] },
      processorProcess: { workers: o.workers },
    });
    await writersReady;
    event(`stack up: ${o.workers} processor workers, ${o.writers} ledger writers; ${o.rps} calls/s for ${o.seconds} s`);

    // The ledger's own pool: a connection the server drops at shutdown is logged, not thrown.
    pool = openPgPool(databaseUrl, pino({ level: 'silent' }), { max: 3 });
    r = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    // The faults, spread over the load.
    const faults: Array<{ atS: number; what: 'processor' | 'writer' }> = [];
    for (let i = 0; i < o.processorKills; i++) faults.push({ atS: (o.seconds * (i + 0.6)) / (o.processorKills + 0.6), what: 'processor' });
    for (let i = 0; i < o.writerKills; i++) faults.push({ atS: (o.seconds * (i + 1)) / (o.writerKills + 1) + 0.3, what: 'writer' });
    faults.sort((a, b) => a.atS - b.atS);
    const loadT0 = performance.now();
    let processorKills = 0;
    let writerKills = 0;
    let lastProcessorKillS = -1;
    let okSinceKill = 0;
    const injected = (async () => {
      for (const f of faults) {
        await sleep(f.atS * 1000 - (performance.now() - loadT0));
        if (f.what === 'processor') {
          const pid = stack!.processor!.pid();
          if (pid === undefined) continue;
          const family = [pid, ...childPids(pid)];
          for (const p of family) kill9(p);
          processorKills++;
          lastProcessorKillS = (performance.now() - loadT0) / 1000;
          okSinceKill = 0;
          event(`kill -9 the processor (pids ${family.join(', ')})`);
        } else {
          // Only while calls complete (records flow): after a processor kill, once it serves again.
          const until = Date.now() + 15_000;
          while (lastProcessorKillS >= 0 && okSinceKill === 0 && Date.now() < until) await sleep(50);
          const killed = await killWriterMidBatch(pool!, r!, writers!, stream);
          if (killed === undefined) {
            event('no writer caught holding entries (nothing to write then)');
            continue;
          }
          writerKills++;
          event(`kill -9 a ledger writer holding ${killed.pending} unacknowledged entries (pid ${killed.pid})`);
        }
      }
    })();
    // Past \`seconds\`, the load goes on (up to 20 s) until calls succeed again after the last kill
    // of the processor, so that the processor that replaced it is tested too.
    const records: CallRecord[] = await runLoad({
      baseUrl: stack.gatewayUrl,
      key,
      rps: o.rps,
      seconds: o.seconds,
      maxSeconds: o.seconds + 20,
      keepGoing: () => okSinceKill < 5,
      timeoutMs: 30_000,
      t0: loadT0,
      tag: `durability-${randomBytes(4).toString('hex')}`,
      pick: (i) => ({ ...MIX[i % MIX.length]!, stream: i % 5 < 2, tokens: 6 + ((i * 7) % 20) }),
      onRecord: (x) => {
        if (lastProcessorKillS >= 0 && x.sentS > lastProcessorKillS) okSinceKill = x.ok ? okSinceKill + 1 : 0;
        else if (o.processorKills === 0) okSinceKill = 5;
      },
    });
    await injected;
    const loadEnd = performance.now();
    const completed = records.filter((x) => x.ok);
    event(`load over: ${records.length} calls sent, ${completed.length} completed`);

    // Every completed call's row, within the settle timeout.
    const wanted = new Set(completed.map((x) => x.requestId!).filter(Boolean));
    let settleS: number | null = null;
    const deadline = Date.now() + (o.settleTimeoutMs ?? 20_000);
    let ids = new Set<string>();
    for (;;) {
      const res = await pool.query<{ request_id: string }>('SELECT request_id FROM usage_ledger').catch(() => ({ rows: [] }));
      ids = new Set(res.rows.map((x) => x.request_id));
      if ([...wanted].every((id) => ids.has(id))) {
        settleS = round((performance.now() - loadEnd) / 1000);
        break;
      }
      if (Date.now() > deadline) break;
      await sleep(200);
    }
    // A little longer: rows of calls the client saw fail may still be on their way.
    await sleep(1000);
    const { rows: all } = await pool.query<{ request_id: string; n: string }>('SELECT request_id, count(*) AS n FROM usage_ledger GROUP BY request_id');
    const { rows: countRow } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM usage_ledger');
    event(`ledger settled${settleS === null ? ' (not every completed call has its row)' : ` ${settleS} s after the load`}`);

    const entries = await r.xrange(stream, '-', '+');
    const streamIds = entries.map(([, f]) => (JSON.parse(f[1]!) as { request_id: string }).request_id);

    const rowsCount = Number(countRow[0]!.n);
    const stored = new Set(all.map((x) => x.request_id));
    const failedIds = new Set(records.filter((x) => !x.ok && x.requestId).map((x) => x.requestId!));
    const lost = [...wanted].filter((id) => !stored.has(id));
    const extra = [...stored].filter((id) => !wanted.has(id));
    const writerTotals = { inserted: 0, duplicates: 0, claimed: 0 };
    for (const x of await writers.stop()) for (const k of Object.keys(writerTotals) as Array<keyof typeof writerTotals>) writerTotals[k] += x[k] ?? 0;
    const restarts = writers.restarts;
    writers = undefined;
    return {
      sent: records.length,
      completed: completed.length,
      completedAfterProcessorKill: lastProcessorKillS < 0 ? 0 : completed.filter((x) => x.sentS > lastProcessorKillS).length,
      status200: records.filter((x) => x.status === 200).length,
      failed: records.length - completed.length,
      rows: rowsCount,
      duplicates: all.filter((x) => Number(x.n) > 1).length + (rowsCount - stored.size),
      lost: lost.length,
      extraOfFailed: extra.filter((id) => failedIds.has(id)).length,
      extraUnknown: extra.filter((id) => !failedIds.has(id)).length,
      failedWithoutId: records.filter((x) => !x.ok && !x.requestId).length,
      streamEntries: entries.length,
      streamRepeats: streamIds.length - new Set(streamIds).size,
      processorKills,
      writerKills,
      writerRestarts: restarts,
      writerTotals,
      settleS,
      events,
      perSecond: perSecond(records)
        .map((b) => `${b.ok}/${b.err}`)
        .join(' '),
      lostExamples: lost.slice(0, 5).map((id) => {
        const c = completed.find((x) => x.requestId === id)!;
        return `${c.api}${c.stream ? ' stream' : ''} ${c.model} sent at ${c.sentS.toFixed(2)} s, request ${id}`;
      }),
    };
  } finally {
    r?.disconnect();
    await pool?.end().catch(() => undefined);
    await writers?.stop().catch(() => undefined);
    await stack?.close(1000).catch(() => undefined);
    await redis?.stop().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Nothing lost, nothing doubled, and every other row explained by a call the client saw fail. */
export function durable(x: DurabilityReport): boolean {
  return x.completed > 0 && x.lost === 0 && x.duplicates === 0 && x.extraUnknown <= x.failedWithoutId;
}

/** The figures, one per line. */
export function formatReport(x: DurabilityReport): string {
  const lines = [
    `calls sent            ${x.sent}`,
    `completed (whole 200) ${x.completed}   (after the processor's kill: ${x.completedAfterProcessorKill}; 200 heads: ${x.status200}; failed: ${x.failed})`,
    `ledger rows           ${x.rows}`,
    `  for completed calls ${x.rows - x.extraOfFailed - x.extraUnknown}`,
    `  for failed calls    ${x.extraOfFailed}   (metered by the gateway; the client's answer was cut)`,
    `  unknown to client   ${x.extraUnknown}   (failed calls with no request id: ${x.failedWithoutId})`,
    `duplicates            ${x.duplicates}`,
    `lost                  ${x.lost}`,
    `stream entries        ${x.streamEntries}   (${x.streamRepeats} repeated a request id: shipped again after a kill, stored once)`,
    `kills                 processor ${x.processorKills}, writers ${x.writerKills} (writer restarts ${x.writerRestarts})`,
    `writers at the end    inserted ${x.writerTotals.inserted}, already stored ${x.writerTotals.duplicates}, taken over ${x.writerTotals.claimed}`,
    `settled               ${x.settleS === null ? 'never' : `${x.settleS} s after the load`}`,
    `per second (ok/err)   ${x.perSecond}`,
  ];
  if (x.lostExamples.length) lines.push(`lost, e.g.: ${x.lostExamples.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

const HELP = `npm run ledger:durability -- [options]

  --seconds <s>          load length (default 20)
  --rps <n>              calls per second, open loop (default 25)
  --workers <n>          processor workers (default 2)
  --writers <n>          ledger writer replicas (default 2)
  --processor-kills <n>  kill -9 of the processor during the load (default 2)
  --writer-kills <n>     kill -9 of a writer during the load (default 4)
  --verbose              the processor logs warnings and errors
`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      rps: { type: 'string' },
      workers: { type: 'string' },
      writers: { type: 'string' },
      'processor-kills': { type: 'string' },
      'writer-kills': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const num = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const report = await runLedgerDurability({
    seconds: num('seconds', values.seconds, 20, 1),
    rps: num('rps', values.rps, 25, 1),
    workers: num('workers', values.workers, 2, 1),
    writers: num('writers', values.writers, 2, 1),
    processorKills: num('processor-kills', values['processor-kills'], 2, 0),
    writerKills: num('writer-kills', values['writer-kills'], 4, 0),
    settleTimeoutMs: 60_000,
    processorLogLevel: values.verbose ? 'warn' : 'fatal',
    progress: (l) => process.stdout.write(`${l}\n`),
  });
  process.stdout.write(`\n${formatReport(report)}`);
  const ok = durable(report);
  process.stdout.write(ok ? '\nverdict: nothing lost, nothing doubled\n' : '\nverdict: FAILED\n');
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
