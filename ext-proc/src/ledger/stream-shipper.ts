import type { Logger } from '../log/logger.js';
import type { RedisConnection } from '../store/redis-connection.js';
import type { Spool } from './spool.js';

export interface ShipperOptions {
  /** The stream's key. */
  key: string;
  /** XADD … MAXLEN ~ this: the stream's length is capped near it. */
  maxLen: number;
  /** How often the spool is read and shipped. */
  intervalMs: number;
  /** Largest batch read from the spool (one pipelined round of XADDs). */
  batchBytes: number;
  log: Logger;
}

/** Retry after Redis refused a batch: doubling from the interval, up to this. */
const MAX_BACKOFF_MS = 5000;
/** While not connected, the (local) check is repeated this often. */
const RECONNECT_CHECK_MS = 250;
/** Not connected yet this soon after start is the connection being made, not an outage to report. */
const STARTUP_GRACE_MS = 10_000;
/** Orphaned spool files are looked for this often. */
const ADOPT_EVERY_MS = 30_000;

/**
 * Ships the spool to the Redis stream, off the request path: every `intervalMs` (sooner after a
 * burst) it reads a batch of lines and sends them as one pipeline of XADDs; the spool's position
 * moves on only once Redis has taken every line of the batch. While Redis is away the records wait
 * in the spool on disk (bounded by its size cap), and go out when it is back.
 */
export class StreamShipper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  private lastAdopt = 0;
  private stopped = false;
  private down = false;
  private readonly startedAt = Date.now();
  private everShipped = false;

  constructor(
    private readonly spool: Spool,
    private readonly redis: RedisConnection,
    private readonly o: ShipperOptions,
  ) {}

  start(): void {
    this.adopt();
    this.schedule(0);
  }

  /** Ship soon (a burst of appends), unless a round is already due or under way. */
  kick(): void {
    if (this.stopped || this.running || this.failures > 0) return;
    this.schedule(0);
  }

  /** Ships what is left, for up to `graceMs`; true when nothing is left. */
  async drain(graceMs: number): Promise<boolean> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    const deadline = Date.now() + graceMs;
    while (this.spool.backlog() > 0 && Date.now() < deadline) {
      if (!(await this.round())) await new Promise((r) => setTimeout(r, 100));
    }
    return this.spool.backlog() === 0;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().finally(() => {
        this.running = undefined;
      });
    }, ms).unref();
  }

  private async loop(): Promise<void> {
    if (Date.now() - this.lastAdopt > ADOPT_EVERY_MS) this.adopt();
    let ok = true;
    // Everything due, in batches, while Redis takes it.
    for (let i = 0; i < 64 && ok; i++) {
      ok = await this.round();
      if (ok && this.spool.backlog() === 0) break;
    }
    this.failures = ok ? 0 : this.failures + 1;
    // Not connected: looking again costs nothing (the connection reconnects by itself).
    const wait = ok ? this.o.intervalMs : this.redis.healthy() ? Math.min(MAX_BACKOFF_MS, this.o.intervalMs * 2 ** this.failures) : RECONNECT_CHECK_MS;
    this.schedule(wait);
  }

  /** One batch: false when Redis did not take it (it is tried again later). */
  private async round(): Promise<boolean> {
    const seg = this.spool.next(this.o.batchBytes);
    if (!seg) return true;
    if (!this.redis.healthy()) {
      if (!this.everShipped && Date.now() - this.startedAt < STARTUP_GRACE_MS) return false;
      return this.failed(new Error(this.redis.lastError() ?? 'not connected'));
    }
    try {
      const results = await this.redis.command('ledger xadd', (client) => {
        const p = client.pipeline();
        for (const line of seg.lines) p.xadd(this.o.key, 'MAXLEN', '~', String(this.o.maxLen), '*', 'r', line);
        return p.exec();
      });
      const failed = (results ?? []).find(([err]) => err);
      if (!results || failed) return this.failed(failed?.[0] ?? new Error('no reply'));
    } catch (err) {
      return this.failed(err);
    }
    this.spool.shippedTo(seg);
    this.everShipped = true;
    if (this.down) {
      this.down = false;
      this.o.log.info({ backlogBytes: this.spool.backlog() }, 'ledger stream reachable again; shipping the spool');
    }
    return true;
  }

  private failed(err: unknown): false {
    if (!this.down) {
      this.down = true;
      this.o.log.warn(
        { err: err instanceof Error ? err.message : String(err), backlogBytes: this.spool.backlog() },
        'ledger records cannot reach the Redis stream; keeping them in the spool',
      );
    }
    return false;
  }

  private adopt(): void {
    this.lastAdopt = Date.now();
    const n = this.spool.adoptOrphans();
    if (n > 0) this.o.log.info({ files: n, backlogBytes: this.spool.backlog() }, 'adopted ledger spool files left by processes that are gone');
  }
}
