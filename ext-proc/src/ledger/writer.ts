import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../log/logger.js';
import { migrate } from './migrate.js';
import { insertRecords, insertRejects } from './pg-ledger.js';
import { LedgerRecordSchema, type LedgerRecord } from './record.js';

/** The writer's own settings, besides REDIS_URL, DATABASE_URL and LEDGER_STREAM. */
export const WRITER_ENV = {
  /** The consumer group every writer replica joins. */
  LEDGER_GROUP: z.string().min(1).default('ledger-writers'),
  /** Entries read (and inserted in one transaction) at a time. */
  LEDGER_WRITER_BATCH: z.coerce.number().int().min(1).max(10_000).default(500),
  /** Entries a consumer has held unacknowledged this long are taken over (its writer is taken for dead). */
  LEDGER_CLAIM_IDLE_MS: z.coerce.number().int().min(100).default(30_000),
  /**
   * Entries every consumer group has acknowledged are trimmed from the stream once they are this
   * old (XTRIM MINID): the stream holds what waits to be written, and a short recent history.
   */
  LEDGER_STREAM_RETAIN_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 60_000),
};

export interface WriterOptions {
  stream: string;
  group: string;
  batch: number;
  claimIdleMs: number;
  /** Acknowledged entries older than this are trimmed (default 10 minutes). */
  retainMs?: number;
  /** How long a read waits for new entries (also bounds how long a stop takes). */
  blockMs?: number;
  log: Logger;
  /** Default: host-pid-random, unique to this run. */
  consumer?: string;
}

export interface WriterStats {
  /** Rows inserted. */
  inserted: number;
  /** Records whose request id was already stored (delivered again after a crash). */
  duplicates: number;
  /** Entries that were not records (kept in usage_ledger_rejects). */
  rejected: number;
  /** Entries trimmed from the stream (MAXLEN) before they were written. */
  trimmed: number;
  /** Entries taken over from writers that stopped answering. */
  claimed: number;
  acked: number;
}

type Entry = [id: string, fields: string[] | null];

const MAX_BACKOFF_MS = 5000;
/** Consumers with nothing pending and idle this long are removed from the group (runs before this one). */
const FORGET_CONSUMER_MS = 60 * 60_000;

/**
 * Moves the ledger's Redis stream into PostgreSQL, as one consumer of a group that any number of
 * replicas may join. Each batch is inserted in one transaction (a request id already stored is
 * skipped) and acknowledged only after the commit: a writer killed in between leaves its entries
 * pending, and another writer takes them over once they have been idle for `claimIdleMs`
 * (XAUTOCLAIM) and inserts them again, which stores nothing twice. The schema is migrated at start.
 */
export class LedgerWriter {
  readonly consumer: string;
  readonly stats: WriterStats = { inserted: 0, duplicates: 0, rejected: 0, trimmed: 0, claimed: 0, acked: 0 };
  private stopped = false;
  private failing = false;
  private lastClaim = 0;
  private readonly blockMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly pool: pg.Pool,
    private readonly o: WriterOptions,
  ) {
    this.consumer = o.consumer ?? `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.blockMs = o.blockMs ?? 2000;
  }

  /** Migrates the schema and joins the group; returns the migrations applied. */
  async start(): Promise<number[]> {
    const client = await this.pool.connect();
    let applied: number[];
    try {
      applied = await migrate(client);
    } finally {
      client.release();
    }
    await this.ensureGroup();
    return applied;
  }

  /** Reads, inserts and acknowledges until `stop()`. Never rejects: failures are retried. */
  async run(): Promise<void> {
    // Entries this consumer name holds are none (the name is new), but a group re-created after a
    // Redis restart may hand back old ones: read the pending list first.
    let pendingFirst = true;
    let failures = 0;
    while (!this.stopped) {
      try {
        if (Date.now() - this.lastClaim >= Math.min(this.o.claimIdleMs, 10_000)) await this.claim();
        const entries = await this.read(pendingFirst ? '0' : '>');
        if (pendingFirst && entries.length === 0) pendingFirst = false;
        if (entries.length > 0) await this.write(entries);
        failures = 0;
        if (this.failing) {
          this.failing = false;
          this.o.log.info('ledger writer working again');
        }
      } catch (err) {
        if (this.stopped) break;
        const message = err instanceof Error ? err.message : String(err);
        if (message.includes('NOGROUP')) await this.ensureGroup().catch(() => undefined);
        if (!this.failing) {
          this.failing = true;
          this.o.log.warn({ err: message }, 'ledger writer failed; retrying (entries stay in the stream until written)');
        }
        pendingFirst = true;
        failures++;
        await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures));
      }
    }
  }

  /** Stops after the batch under way (at most one read's block later). */
  stop(): void {
    this.stopped = true;
  }

  private async ensureGroup(): Promise<void> {
    try {
      // From the stream's start: entries added before any writer ran are written too.
      await this.redis.xgroup('CREATE', this.o.stream, this.o.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error && err.message.includes('BUSYGROUP'))) throw err;
    }
  }

  private async read(id: '0' | '>'): Promise<Entry[]> {
    const args: Array<string | number> = ['GROUP', this.o.group, this.consumer, 'COUNT', this.o.batch];
    if (id === '>') args.push('BLOCK', this.blockMs);
    args.push('STREAMS', this.o.stream, id);
    const res = (await (this.redis.xreadgroup as (...a: Array<string | number>) => Promise<unknown>)(...args)) as Array<[string, Entry[]]> | null;
    return res?.[0]?.[1] ?? [];
  }

  /**
   * Takes over entries other consumers have held too long (their writer died between reading
   * and acknowledging), and forgets consumers long gone with nothing pending.
   */
  private async claim(): Promise<void> {
    this.lastClaim = Date.now();
    let cursor = '0-0';
    do {
      const res = (await this.redis.xautoclaim(this.o.stream, this.o.group, this.consumer, this.o.claimIdleMs, cursor, 'COUNT', this.o.batch)) as [
        string,
        Array<Entry | null>,
        string[]?,
      ];
      cursor = res[0];
      // Entries trimmed from the stream meanwhile: Redis 7 lists their ids apart (and forgets them
      // itself); earlier versions hand them back without fields, and write() acknowledges them.
      const entries = res[1].filter((e): e is Entry => e !== null);
      this.stats.trimmed += res[2]?.length ?? 0;
      if (entries.length > 0) {
        this.stats.claimed += entries.length;
        this.o.log.info({ entries: entries.length }, 'ledger writer took over entries of a writer that stopped');
        await this.write(entries);
      }
    } while (cursor !== '0-0' && !this.stopped);
    await this.forgetConsumers().catch(() => undefined);
    await this.trimAcknowledged().catch(() => undefined);
  }

  /**
   * Trims entries every group has acknowledged and that are older than `retainMs`: nothing
   * pending or not yet delivered to any group goes. (LEDGER_STREAM_MAXLEN, the processors' cap,
   * only matters when writers stay away that long.)
   */
  private async trimAcknowledged(): Promise<void> {
    const groups = (await this.redis.xinfo('GROUPS', this.o.stream)) as unknown[][];
    let keep = `${Math.max(0, Date.now() - (this.o.retainMs ?? 10 * 60_000))}-0`;
    for (const raw of groups) {
      const g: Record<string, unknown> = {};
      for (let i = 0; i + 1 < raw.length; i += 2) g[String(raw[i])] = raw[i + 1];
      // Delivered up to here; of those, the oldest still pending must stay too.
      let first = String(g['last-delivered-id'] ?? '0-0');
      if (Number(g.pending) > 0) {
        const summary = (await this.redis.xpending(this.o.stream, String(g.name))) as [number, string | null];
        if (summary[1] && compareIds(summary[1], first) < 0) first = summary[1];
      }
      if (compareIds(first, keep) < 0) keep = first;
    }
    if (keep !== '0-0') await this.redis.xtrim(this.o.stream, 'MINID', keep);
  }

  private async forgetConsumers(): Promise<void> {
    const list = (await this.redis.xinfo('CONSUMERS', this.o.stream, this.o.group)) as unknown[][];
    for (const raw of list) {
      const c: Record<string, unknown> = {};
      for (let i = 0; i + 1 < raw.length; i += 2) c[String(raw[i])] = raw[i + 1];
      if (c.name !== this.consumer && Number(c.pending) === 0 && Number(c.idle) > FORGET_CONSUMER_MS) {
        await this.redis.xgroup('DELCONSUMER', this.o.stream, this.o.group, String(c.name));
      }
    }
  }

  /** Inserts a batch in one transaction, then acknowledges it. */
  private async write(entries: Entry[]): Promise<void> {
    const records: LedgerRecord[] = [];
    const rejects: Array<{ id: string; payload: string; reason: string }> = [];
    const ids: string[] = [];
    for (const [id, fields] of entries) {
      ids.push(id);
      if (!fields) {
        // Listed as pending, but trimmed from the stream (MAXLEN) before it was written.
        this.stats.trimmed++;
        continue;
      }
      const payload = fieldOf(fields, 'r');
      const parsed = parseRecord(payload);
      if (parsed.ok) records.push(parsed.record);
      else rejects.push({ id, payload: payload ?? JSON.stringify(fields), reason: parsed.reason });
    }
    if (records.length > 0 || rejects.length > 0) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const inserted = await insertRecords(client, records);
        await insertRejects(client, rejects);
        await client.query('COMMIT');
        this.stats.inserted += inserted;
        this.stats.duplicates += records.length - inserted;
        this.stats.rejected += rejects.length;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
      if (rejects.length > 0)
        this.o.log.warn({ entries: rejects.length, first: rejects[0]!.reason }, 'stream entries that are not ledger records kept in usage_ledger_rejects');
    }
    // Only now: a crash before this leaves the entries pending, to be written again.
    this.stats.acked += await this.redis.xack(this.o.stream, this.o.group, ...ids);
  }
}

/** Orders stream ids (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

export function parseRecord(payload: string | undefined): { ok: true; record: LedgerRecord } | { ok: false; reason: string } {
  if (payload === undefined) return { ok: false, reason: 'no r field' };
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch (err) {
    return { ok: false, reason: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const r = LedgerRecordSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, reason: issue ? `${issue.path.join('.') || '(record)'}: ${issue.message}` : 'not a ledger record' };
  }
  return { ok: true, record: r.data };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
