/*
 * The ledger's moving parts against a real PostgreSQL and a real Redis: migrations, the writer
 * (consumer group, idempotent inserts, acknowledgement after commit, taking over a dead writer's
 * entries), the processor's stream sink while Redis comes and goes, and the two stores answering
 * the same usage query alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import type pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServerHandle } from '../../../test/helpers/postgres-server.js';
import { startRedis, type RedisServerHandle } from '../../../test/helpers/redis-server.js';
import { AppendLog } from './append-log.js';
import { fileUsage } from './file-usage.js';
import { openLedger, type Ledger } from './ledger.js';
import { migrate, readMigrations } from './migrate.js';
import { pgUsage } from './pg-ledger.js';
import { openPgPool } from './pg-pool.js';
import type { LedgerRecord } from './record.js';
import { GROUP_BY, type UsageQuery } from './usage-query.js';
import { LedgerWriter } from './writer.js';

const log = pino({ level: 'silent' });
let postgres: PostgresServerHandle;
let redis: RedisServerHandle;
let dir: string;
let dbCount = 0;
const cleanups: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-ledger-'));
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function freshDatabase(): Promise<pg.Pool> {
  const url = await postgres.createDatabase(`ledger_${++dbCount}`);
  const pool = openPgPool(url, log, { max: 4 });
  cleanups.push(() => pool.end());
  return pool;
}

function client(): Redis {
  const c = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: (n) => Math.min(n * 50, 500) });
  c.on('error', () => undefined);
  cleanups.push(() => c.disconnect());
  return c;
}

let seq = 0;
function record(over: Partial<LedgerRecord> = {}): LedgerRecord {
  seq++;
  return {
    v: 1,
    request_id: `req-${seq}`,
    ts: new Date(Date.UTC(2025, 5, 1 + (seq % 5), seq % 24)).toISOString(),
    tenant: seq % 3 === 0 ? 'globex' : 'acme',
    key_id: `k${seq % 2}`,
    requested_model: 'auto',
    model: ['gpt-4o-mini', 'claude-haiku-4-5', 'gemini-2.5-flash-lite'][seq % 3]!,
    provider: ['openai', 'anthropic', 'gemini'][seq % 3]!,
    tier: 'simple',
    stream: seq % 2 === 0,
    input_tokens: 100 + seq,
    output_tokens: 10 + (seq % 7),
    cached_input_tokens: seq % 4,
    reasoning_tokens: 0,
    cost_usd: (100 + seq) * 1.5e-7,
    saved_usd: seq % 9 === 0 ? 0.0001 : null,
    cache: seq % 9 === 0 ? 'hit' : 'miss',
    status: seq % 11 === 0 ? 502 : 200,
    latency_ms: 120.5,
    ttft_ms: seq % 2 === 0 ? 40.25 : null,
    attempts: 1,
    route_reason: 'policy default',
    aborted: seq % 13 === 0,
    usage_estimated: false,
    ...over,
  };
}

async function rows(pool: pg.Pool): Promise<Array<{ request_id: string }>> {
  return (await pool.query<{ request_id: string }>('SELECT request_id FROM usage_ledger ORDER BY request_id')).rows;
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function writer(pool: pg.Pool, stream: string, o: Partial<ConstructorParameters<typeof LedgerWriter>[2]> = {}): LedgerWriter {
  const w = new LedgerWriter(client(), pool, { stream, group: 'writers', batch: 50, claimIdleMs: 30_000, blockMs: 100, log, ...o });
  return w;
}

/** Runs a writer until the test ends. */
function running(w: LedgerWriter): LedgerWriter {
  const done = w.run();
  cleanups.push(async () => {
    w.stop();
    await done;
  });
  return w;
}

describe('migrations', () => {
  it('apply once, in a transaction under an advisory lock, and are recorded', async () => {
    const pool = await freshDatabase();
    const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
    try {
      const applied = await Promise.all(clients.map((c) => migrate(c)));
      // Of three writers starting at once, one migrated.
      expect(applied.flat()).toEqual(readMigrations().map((m) => m.version));
      const { rows: done } = await pool.query('SELECT version, name FROM schema_migrations ORDER BY version');
      expect(done).toEqual([{ version: 1, name: 'usage_ledger' }]);
      expect(await migrate(clients[0]!)).toEqual([]);
    } finally {
      for (const c of clients) c.release();
    }
  });

  it('roll back whole when one fails', async () => {
    const pool = await freshDatabase();
    const c = await pool.connect();
    try {
      const broken = [...readMigrations(), { version: 2, name: 'broken', sql: 'CREATE TABLE later (x int); SELECT no_such_function();' }];
      await expect(migrate(c, broken)).rejects.toThrow(/migration 002_broken failed/);
      const { rows: tables } = await pool.query("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1");
      expect(tables).toEqual([]);
    } finally {
      c.release();
    }
  });
});

describe('the ledger writer', () => {
  it('stores each record once, keeps entries that are not records apart, and acknowledges everything', async () => {
    const pool = await freshDatabase();
    const stream = `ledger:${seq}:a`;
    const r = client();
    const records = Array.from({ length: 120 }, () => record());
    // Every record twice (a processor that shipped a batch again after a crash), and two bad entries.
    for (const x of [...records, ...records.slice(0, 60)]) await r.xadd(stream, '*', 'r', JSON.stringify(x));
    await r.xadd(stream, '*', 'r', '{"not":"a record"}');
    await r.xadd(stream, '*', 'r', JSON.stringify({ ...record(), prompt: 'secret text' }));
    const w = writer(pool, stream);
    expect(await w.start()).toEqual([1]);
    running(w);
    await until(
      () => r.xpending(stream, 'writers') as Promise<[number, ...unknown[]]>,
      (p) => p[0] === 0 && w.stats.acked === 182,
    );
    expect((await rows(pool)).length).toBe(120);
    expect(w.stats).toMatchObject({ inserted: 120, duplicates: 60, rejected: 2, acked: 182 });
    const { rows: rejects } = await pool.query<{ reason: string }>('SELECT reason FROM usage_ledger_rejects ORDER BY stream_id');
    expect(rejects.map((x) => x.reason)).toEqual([expect.stringMatching(/^v: /), expect.stringContaining('prompt')]);
    const { rows: one } = await pool.query('SELECT * FROM usage_ledger WHERE request_id = $1', [records[1]!.request_id]);
    const { inserted_at: _at, ...stored } = one[0];
    const { v: _v, ...sent } = records[1]!;
    expect({ ...stored, ts: stored.ts.toISOString(), cost_usd: Number(stored.cost_usd), saved_usd: stored.saved_usd }).toEqual(sent);
  });

  it('acknowledges only after the commit: entries stay pending while PostgreSQL fails, and are written once it works', async () => {
    const pool = await freshDatabase();
    const stream = `ledger:${seq}:b`;
    const r = client();
    let broken = true;
    // The same pool, whose inserts fail while `broken`.
    const flaky = new Proxy(pool, {
      get(target, prop, receiver) {
        if (prop !== 'connect') return Reflect.get(target, prop, receiver);
        return async () => {
          const c = await target.connect();
          const query = c.query.bind(c) as (...a: unknown[]) => Promise<unknown>;
          (c as unknown as { query: unknown }).query = (text: unknown, ...rest: unknown[]) =>
            broken && typeof text === 'string' && text.startsWith('INSERT INTO usage_ledger ') ? Promise.reject(new Error('disk full')) : query(text, ...rest);
          return c;
        };
      },
    });
    const w = writer(flaky, stream);
    await w.start();
    for (let i = 0; i < 30; i++) await r.xadd(stream, '*', 'r', JSON.stringify(record()));
    running(w);
    const pending = await until(
      () => r.xpending(stream, 'writers') as Promise<[number, ...unknown[]]>,
      (p) => p[0] === 30,
    );
    expect(pending[0]).toBe(30);
    await new Promise((res) => setTimeout(res, 300));
    expect(await rows(pool)).toEqual([]);
    expect(w.stats.acked).toBe(0);
    broken = false;
    await until(
      async () => w.stats.acked,
      (n) => n === 30,
    );
    expect((await rows(pool)).length).toBe(30);
    expect(((await r.xpending(stream, 'writers')) as [number])[0]).toBe(0);
  });

  it('takes over the entries a writer read and never acknowledged (it died), once they are idle', async () => {
    const pool = await freshDatabase();
    const stream = `ledger:${seq}:c`;
    const r = client();
    const first = writer(pool, stream);
    await first.start();
    const records = Array.from({ length: 25 }, () => record());
    for (const x of records) await r.xadd(stream, '*', 'r', JSON.stringify(x));
    // A writer reads them and dies before writing them.
    const read = (await r.xreadgroup('GROUP', 'writers', 'dead-writer', 'COUNT', 100, 'STREAMS', stream, '>')) as Array<[string, unknown[]]>;
    expect(read[0]![1]).toHaveLength(25);
    const survivor = running(writer(pool, stream, { claimIdleMs: 300 }));
    await survivor.start();
    await until(
      async () => (await rows(pool)).length,
      (n) => n === 25,
    );
    expect(survivor.stats.claimed).toBe(25);
    expect(((await r.xpending(stream, 'writers')) as [number])[0]).toBe(0);
  });
});

describe('the stream', () => {
  it('is trimmed of what every group acknowledged, never of what is pending or not yet read', async () => {
    const pool = await freshDatabase();
    const stream = `ledger:${seq}:trim`;
    const r = client();
    const w = writer(pool, stream, { claimIdleMs: 60_000, retainMs: 0 });
    await w.start();
    // Another group (another consumer of the stream) that has read nothing yet.
    const early = Array.from({ length: 10 }, () => record());
    for (const x of early) await r.xadd(stream, '*', 'r', JSON.stringify(x));
    await r.xgroup('CREATE', stream, 'audit', '$');
    const late = Array.from({ length: 10 }, () => record());
    const lateIds: string[] = [];
    for (const x of late) lateIds.push((await r.xadd(stream, '*', 'r', JSON.stringify(x)))!);
    // A dead writer of ours holds the first five.
    await r.xreadgroup('GROUP', 'writers', 'dead-writer', 'COUNT', 5, 'STREAMS', stream, '>');
    running(w);
    await until(
      async () => (await rows(pool)).length,
      (n) => n === 15,
    );
    const trim = () => (w as unknown as { trimAcknowledged(): Promise<void> }).trimAcknowledged();
    // The audit group has read nothing, and our dead writer holds the first five: nothing goes.
    await trim();
    expect(await r.xlen(stream)).toBe(20);
    // The audit group reads everything (pending there now); the dead writer's five are still pending.
    await r.xreadgroup('GROUP', 'audit', 'a1', 'COUNT', 100, 'STREAMS', stream, '>');
    await trim();
    expect(await r.xlen(stream)).toBe(20);
    // Everything acknowledged by both groups: all but the last delivered entry go (MINID keeps it).
    await r.xack(stream, 'audit', ...(await r.xrange(stream, '-', '+')).map(([id]) => id));
    await r.xack(stream, 'writers', ...(await r.xrange(stream, '-', '+')).slice(0, 5).map(([id]) => id));
    await trim();
    expect(await r.xlen(stream)).toBe(1);
    expect((await r.xrange(stream, '-', '+'))[0]![0]).toBe(lateIds.at(-1));
  });
});

describe("the processor's stream sink", () => {
  function streamLedger(stream: string, registry: Registry, spoolDir = path.join(dir, `spool-${stream}`)): Ledger {
    const l = openLedger(
      { kind: 'stream', redisUrl: redis.url, databaseUrl: postgres.url, stream, maxLen: 100_000, spoolDir, fsyncMs: 50, shipMs: 20, spoolMaxBytes: 1 << 20 },
      { log, registry },
    )!;
    return l;
  }

  it('ships every record to the stream, keeps them in the spool while Redis is down, and ships them when it is back', async () => {
    const stream = `ledger:${seq}:sink`;
    const registry = new Registry();
    const ledger = streamLedger(stream, registry);
    cleanups.push(() => ledger.close());
    const r = client();
    for (let i = 0; i < 500; i++) ledger.append(record());
    expect(
      await until(
        () => r.xlen(stream),
        (n) => n === 500,
      ),
    ).toBe(500);

    await redis.stop();
    const down = Array.from({ length: 50 }, () => record());
    for (const x of down) ledger.append(x);
    await new Promise((res) => setTimeout(res, 300));
    const backlog = (await registry.getSingleMetric('llm_gateway_ledger_backlog_bytes')!.get()).values[0]!.value;
    expect(backlog).toBeGreaterThan(50 * 300);
    await redis.restart();
    // The restarted Redis kept nothing (no persistence here): the stream holds what waited.
    const shipped = await until(
      () => r.xrange(stream, '-', '+').catch(() => []),
      (e) => e.length === 50,
      15_000,
    );
    expect(shipped.map(([, f]) => (JSON.parse(f[1]!) as LedgerRecord).request_id)).toEqual(down.map((x) => x.request_id));
    const counted = (await registry.getSingleMetric('llm_gateway_ledger_records_total')!.get()).values;
    expect(counted).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ labels: { result: 'appended' }, value: 550 }),
        expect.objectContaining({ labels: { result: 'failed' }, value: 0 }),
      ]),
    );
  }, 30_000);

  it('counts records refused by a full spool as failed', async () => {
    const registry = new Registry();
    const ledger = openLedger(
      {
        kind: 'stream',
        redisUrl: 'redis://127.0.0.1:1',
        databaseUrl: postgres.url,
        stream: 's',
        maxLen: 1000,
        spoolDir: path.join(dir, 'full'),
        fsyncMs: 0,
        shipMs: 1000,
        spoolMaxBytes: 2000,
      },
      { log, registry },
    )!;
    cleanups.push(() => ledger.close());
    for (let i = 0; i < 20; i++) ledger.append(record());
    const values = (await registry.getSingleMetric('llm_gateway_ledger_records_total')!.get()).values;
    const by = Object.fromEntries(values.map((v) => [v.labels.result, v.value]));
    expect(by.appended).toBeGreaterThan(0);
    expect(by.failed).toBeGreaterThan(0);
    expect(by.appended + by.failed).toBe(20);
  });
});

describe('the usage query', () => {
  it('gives the same answer from PostgreSQL as from the local file, for every grouping', async () => {
    const pool = await freshDatabase();
    const c = await pool.connect();
    const records = Array.from({ length: 300 }, () => record());
    try {
      await migrate(c);
      const { insertRecords } = await import('./pg-ledger.js');
      expect(await insertRecords(c, records)).toBe(300);
    } finally {
      c.release();
    }
    const file = path.join(dir, 'same.jsonl');
    const log2 = AppendLog.open(file, 0);
    for (const x of records) log2.append(JSON.stringify(x));
    log2.append('{"torn":');
    await log2.close();
    for (const groupBy of GROUP_BY) {
      for (const tenant of ['acme', 'globex', 'nobody']) {
        const q: UsageQuery = { tenant, from: new Date('2025-06-02T00:00:00Z'), to: new Date('2025-06-05T06:00:00Z'), groupBy };
        const fromFile = await fileUsage(file, q);
        const fromDb = await pgUsage(pool, q);
        expect(fromDb, `${tenant} by ${groupBy}`).toEqual(fromFile.buckets);
        if (tenant !== 'nobody') expect(fromDb.length).toBeGreaterThan(0);
      }
    }
  });
});

describe("the processor's usage answer with PostgreSQL", () => {
  it('reads the database the writer fills, and is a 503 while it cannot', async () => {
    const url = await postgres.createDatabase(`ledger_${++dbCount}`);
    const pool = openPgPool(url, log);
    cleanups.push(() => pool.end());
    const c = await pool.connect();
    const records = Array.from({ length: 40 }, () => record({ tenant: 'initech' }));
    try {
      await migrate(c);
      const { insertRecords } = await import('./pg-ledger.js');
      await insertRecords(c, records);
    } finally {
      c.release();
    }
    const target = { kind: 'stream' as const, redisUrl: redis.url, stream: 'q', maxLen: 1000, fsyncMs: 0, shipMs: 100, spoolMaxBytes: 1 << 20 };
    const ledger = openLedger({ ...target, databaseUrl: url, spoolDir: path.join(dir, 'q1') }, { log, registry: new Registry() })!;
    cleanups.push(() => ledger.close());
    const q: UsageQuery = { tenant: 'initech', from: new Date('2025-01-01T00:00:00Z'), to: new Date('2026-01-01T00:00:00Z'), groupBy: 'provider' };
    const buckets = await ledger.usage(q);
    expect(buckets.reduce((n, b) => n + b.requests, 0)).toBe(40);
    expect(buckets).toEqual(await pgUsage(pool, q));
    const unreachable = openLedger(
      { ...target, databaseUrl: 'postgres://postgres@127.0.0.1:1/none', spoolDir: path.join(dir, 'q2') },
      { log, registry: new Registry() },
    )!;
    cleanups.push(() => unreachable.close());
    await expect(unreachable.usage(q)).rejects.toMatchObject({ status: 503, opts: { code: 'ledger_unavailable' } });
  });
});
