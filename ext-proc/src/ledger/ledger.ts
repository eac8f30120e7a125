import type { Registry } from 'prom-client';
import { ConfigError } from '../config/env.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { createRedisConnection, describeRedisUrl, type RedisConnection } from '../store/redis-connection.js';
import { AppendLog } from './append-log.js';
import type { LedgerTarget } from './config.js';
import { fileUsage } from './file-usage.js';
import { registerLedgerMetrics, type LedgerMetrics } from './metrics.js';
import { pgUsage } from './pg-ledger.js';
import { openPgPool, type PgPool } from './pg-pool.js';
import type { LedgerRecord } from './record.js';
import { Spool } from './spool.js';
import { StreamShipper } from './stream-shipper.js';
import type { UsageBucket, UsageQuery } from './usage-query.js';

/** Where the meter hands each call's record. Never throws, never waits. */
export interface LedgerSink {
  append(record: LedgerRecord): void;
}

/** The processor's ledger: records in, a tenant's usage out. */
export interface Ledger extends LedgerSink {
  readonly kind: 'file' | 'stream';
  /** Where records go, for the start-up log (no credentials). */
  readonly where: string;
  usage(q: UsageQuery): Promise<UsageBucket[]>;
  /** Ships what is left (the stream), syncs and closes. */
  close(): Promise<void>;
}

export interface LedgerDeps {
  log: Logger;
  registry: Registry;
}

/** Ships a burst at once rather than at the next tick. */
const KICK_EVERY = 256;
const SHIP_BATCH_BYTES = 256 * 1024;
const CLOSE_GRACE_MS = 3000;

/** Opens the ledger the target names; undefined when it is off. Throws when its file cannot be opened. */
export function openLedger(target: LedgerTarget, deps: LedgerDeps): Ledger | undefined {
  if (target.kind === 'off') return undefined;
  try {
    return target.kind === 'file' ? new FileLedger(target, deps) : new StreamLedger(target, deps);
  } catch (err) {
    const where = target.kind === 'file' ? `LEDGER_FILE ${target.file}` : `the spool folder ${target.spoolDir}`;
    throw new ConfigError(
      `the usage ledger cannot open ${where} (${err instanceof Error ? err.message : String(err)}): point LEDGER_DIR at a writable folder, or set LEDGER=off`,
    );
  }
}

/** Logs the first failure of a run of them, and again once appends work. */
class FailureNotice {
  private failing = false;
  constructor(
    private readonly log: Logger,
    private readonly metrics: LedgerMetrics,
    private readonly what: string,
  ) {}
  record(ok: boolean, why: () => Record<string, unknown>): void {
    this.metrics.records.inc({ result: ok ? 'appended' : 'failed' });
    if (ok === !this.failing) return;
    this.failing = !ok;
    if (ok) this.log.info(`ledger records are appended to ${this.what} again`);
    else
      this.log.error(
        why(),
        `ledger records cannot be appended to ${this.what}: they are lost until this clears (llm_gateway_ledger_records_total{result="failed"})`,
      );
  }
}

/** The embedded default: one JSONL file, appended by every worker. */
class FileLedger implements Ledger {
  readonly kind = 'file';
  readonly where: string;
  private readonly file: AppendLog;
  private readonly notice: FailureNotice;

  constructor(target: Extract<LedgerTarget, { kind: 'file' }>, deps: LedgerDeps) {
    this.file = AppendLog.open(target.file, target.fsyncMs);
    this.where = target.file;
    this.notice = new FailureNotice(deps.log, registerLedgerMetrics(deps.registry), target.file);
  }

  append(record: LedgerRecord): void {
    const ok = this.file.append(JSON.stringify(record));
    this.notice.record(ok, () => ({ file: this.where }));
  }

  async usage(q: UsageQuery): Promise<UsageBucket[]> {
    return (await fileUsage(this.where, q)).buckets;
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/**
 * With Redis and PostgreSQL: each record is appended to this process's spool file (one write,
 * so it outlives a crash of this process) and shipped to the Redis stream in batches, off the
 * request path; `npm run ledger` moves the stream into PostgreSQL, which answers the queries.
 */
class StreamLedger implements Ledger {
  readonly kind = 'stream';
  readonly where: string;
  private readonly spool: Spool;
  private readonly shipper: StreamShipper;
  private readonly redis: RedisConnection;
  private readonly notice: FailureNotice;
  private sinceKick = 0;
  private pool: PgPool | undefined;

  constructor(
    private readonly target: Extract<LedgerTarget, { kind: 'stream' }>,
    private readonly deps: LedgerDeps,
  ) {
    const log = deps.log.child({ component: 'ledger' });
    this.spool = new Spool({ dir: target.spoolDir, fsyncMs: target.fsyncMs, maxBytes: target.spoolMaxBytes });
    this.redis = createRedisConnection({
      url: target.redisUrl,
      log,
      // Off the request path: a slow Redis only delays shipping.
      commandTimeoutMs: 5000,
      messages: {
        connected: 'ledger stream connected',
        reconnected: 'ledger stream reconnected',
        lost: 'ledger stream connection lost; records wait in the spool',
        connectionError: 'ledger stream connection error',
        hung: (n, ms) => `${n} ledger commands timed out after ${ms} ms`,
      },
    });
    this.shipper = new StreamShipper(this.spool, this.redis, {
      key: target.stream,
      maxLen: target.maxLen,
      intervalMs: target.shipMs,
      batchBytes: SHIP_BATCH_BYTES,
      log,
    });
    this.where = `${describeRedisUrl(target.redisUrl)} ${target.stream} (spool ${this.spool.file})`;
    this.notice = new FailureNotice(
      log,
      registerLedgerMetrics(deps.registry, () => this.spool.backlog()),
      'the spool',
    );
    this.shipper.start();
  }

  append(record: LedgerRecord): void {
    const ok = this.spool.append(JSON.stringify(record));
    this.notice.record(ok, () => ({ spool: this.spool.file, backlogBytes: this.spool.backlog() }));
    if (ok && ++this.sinceKick >= KICK_EVERY) {
      this.sinceKick = 0;
      this.shipper.kick();
    }
  }

  async usage(q: UsageQuery): Promise<UsageBucket[]> {
    this.pool ??= openPgPool(this.target.databaseUrl, this.deps.log);
    try {
      return await pgUsage(this.pool, q);
    } catch (err) {
      this.deps.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'usage query failed');
      throw new GatewayError('unavailable', 'The usage ledger cannot be read right now. Retry shortly.', { code: 'ledger_unavailable', retryAfterSeconds: 5 });
    }
  }

  async close(): Promise<void> {
    const empty = await this.shipper.drain(CLOSE_GRACE_MS);
    if (!empty)
      this.deps.log.warn({ backlogBytes: this.spool.backlog(), spool: this.spool.file }, 'ledger spool not empty at exit: the next processor ships it');
    await this.spool.close();
    await this.redis.close();
    await this.pool?.end().catch(() => undefined);
  }
}
