import type { Logger } from '../log/logger.js';
import { createRedisConnection, type RedisConnection } from '../store/redis-connection.js';
import type { CanaryDecision, CanarySharedState } from '../canary/canaries.js';

const REFRESH_MS = 1000;
/** A rollback mark outlives restarts for a week; a changed canary (new config hash) starts clean. */
const ROLLBACK_TTL_MS = 7 * 86_400_000;

/**
 * Routing state every replica should agree on, kept in Redis: canary rollbacks and backend
 * cooldowns. Writes go out at once (fire and forget); reads never wait — the request path asks
 * an in-memory view that a timer refreshes from Redis every second. With Redis unreachable each
 * replica simply keeps its own view, as it would without Redis.
 */
export class SharedRouteState implements CanarySharedState {
  private readonly conn: RedisConnection;
  private readonly rolledBack = new Set<string>();
  /** backend → end of its cooldown (ms since the epoch), as last read or written. */
  private readonly cooling = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    url: string,
    log: Logger,
    private readonly known: { canaries: ReadonlyMap<string, string>; backends: readonly string[] },
    private readonly prefix = 'llmgw:route',
  ) {
    this.conn = createRedisConnection({
      url,
      log: log.child({ component: 'route-state' }),
      commandTimeoutMs: 200,
      messages: {
        connected: 'routing state (canaries, cooldowns) shared through Redis',
        reconnected: 'routing state reconnected to Redis',
        lost: 'routing state lost Redis: each replica decides on its own until it is back',
        connectionError: 'routing state Redis connection error',
        hung: (n, ms) => `${n} commands timed out after ${ms} ms`,
      },
    });
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  // ---- canaries ------------------------------------------------------------------------

  markRolledBack(name: string, decision: CanaryDecision): void {
    this.rolledBack.add(name);
    void this.write((c) => c.set(this.canaryKey(name), JSON.stringify(decision), 'PX', ROLLBACK_TTL_MS));
  }

  isRolledBack(name: string): boolean {
    return this.rolledBack.has(name);
  }

  clear(name: string): void {
    this.rolledBack.delete(name);
    void this.write((c) => c.del(this.canaryKey(name)));
  }

  // ---- cooldowns -----------------------------------------------------------------------

  /** Records a cooldown for every replica; a longer one already there is kept. */
  cool(backend: string, untilMs: number): void {
    if ((this.cooling.get(backend) ?? 0) >= untilMs) return;
    this.cooling.set(backend, untilMs);
    const ms = Math.max(1, untilMs - Date.now());
    // PX with GT needs Redis 7; SET ... PX is enough: the longest writer wins within a second.
    void this.write((c) => c.set(this.coolKey(backend), String(untilMs), 'PX', ms));
  }

  coolingUntil(backend: string): number | undefined {
    return this.cooling.get(backend);
  }

  /** Connected to Redis now (writes made while not are kept locally only). */
  healthy(): boolean {
    return this.conn.healthy();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.conn.close();
  }

  /** Reads every known canary mark and cooldown in one round trip. */
  async refresh(): Promise<void> {
    if (!(await this.conn.usable())) return;
    const names = [...this.known.canaries.keys()];
    const keys = [...names.map((n) => this.canaryKey(n)), ...this.known.backends.map((b) => this.coolKey(b))];
    if (keys.length === 0) return;
    let values: Array<string | null>;
    try {
      values = await this.conn.command('route state refresh', (c) => c.mget(...keys));
    } catch {
      return;
    }
    names.forEach((n, i) => {
      // Only adopt marks: a rollback decided here is kept even if Redis lost it.
      if (values[i] !== null) this.rolledBack.add(n);
    });
    this.known.backends.forEach((b, i) => {
      const v = values[names.length + i];
      const until = v ? Number(v) : undefined;
      if (until && until > (this.cooling.get(b) ?? 0)) this.cooling.set(b, until);
    });
  }

  private canaryKey(name: string): string {
    return `${this.prefix}:canary:${name}:${this.known.canaries.get(name) ?? ''}`;
  }

  private coolKey(backend: string): string {
    return `${this.prefix}:cool:${backend}`;
  }

  private async write(run: (c: RedisConnection['client']) => Promise<unknown>): Promise<void> {
    if (!(await this.conn.usable())) return;
    await this.conn.command('route state write', run).catch(() => undefined);
  }
}
