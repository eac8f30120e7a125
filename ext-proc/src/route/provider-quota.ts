import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../log/logger.js';
import { createRedisConnection, type RedisConnection } from '../store/redis-connection.js';
import type { ProviderQuota } from './policy.js';

/** Share of a quota at which traffic is steered elsewhere, ahead of the provider's own 429. */
export const STEER_AT = 0.9;
const SYNC_MS = 1000;

interface Counts {
  minute: number;
  minuteStart: number;
  day: number;
  dayStart: number;
}

/**
 * Providers' free-tier quotas (requests per minute, tokens per day), counted as calls go out and
 * usage comes back. The request path only reads local numbers; with Redis, every replica adds its
 * counts to shared counters once a second and reads the totals back, so the view is at most about
 * a second behind across replicas.
 */
export class ProviderQuotas {
  private readonly local = new Map<string, Counts>();
  /** Counts not yet added to Redis. */
  private readonly pending = new Map<string, { requests: number; tokens: number }>();
  /** Totals read back from Redis (all replicas), per provider. */
  private readonly shared = new Map<string, { minute: number; day: number; minuteStart: number; dayStart: number }>();
  private readonly conn: RedisConnection | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly quotas: ReadonlyMap<string, ProviderQuota>,
    o: { redisUrl?: string; log?: Logger; now?: () => number } = {},
  ) {
    this.now = o.now ?? Date.now;
    if (o.redisUrl && o.log && quotas.size > 0) {
      this.conn = createRedisConnection({
        url: o.redisUrl,
        log: o.log.child({ component: 'provider-quotas' }),
        commandTimeoutMs: 200,
        messages: {
          connected: 'provider quota counters connected to Redis',
          reconnected: 'provider quota counters reconnected to Redis',
          lost: 'provider quota counters lost Redis: counting per replica until it is back',
          connectionError: 'provider quota Redis connection error',
          hung: (n, ms) => `${n} commands timed out after ${ms} ms`,
        },
      });
      this.timer = setInterval(() => void this.sync(), SYNC_MS);
      this.timer.unref();
    }
  }

  private readonly now: () => number;

  /** True when the provider is at STEER_AT of a quota (its requests/min or tokens/day). */
  nearLimit(provider: string): boolean {
    const q = this.quotas.get(provider);
    if (!q) return false;
    const { minute, day } = this.usage(provider);
    return (
      (q.requestsPerMinute !== undefined && minute >= q.requestsPerMinute * STEER_AT) || (q.tokensPerDay !== undefined && day >= q.tokensPerDay * STEER_AT)
    );
  }

  /** Requests this minute and tokens today, as this replica knows them. */
  usage(provider: string): { minute: number; day: number } {
    const c = this.counts(provider);
    const s = this.shared.get(provider);
    const p = this.pending.get(provider);
    if (!s) return { minute: c.minute, day: c.day };
    // Shared totals include this replica's synced counts; add what has not been synced yet.
    const minute = s.minuteStart === c.minuteStart ? s.minute + (p?.requests ?? 0) : c.minute;
    const day = s.dayStart === c.dayStart ? s.day + (p?.tokens ?? 0) : c.day;
    return { minute, day };
  }

  /** Share of each configured quota used (0 to 1): requests this minute, tokens today. */
  usedRatios(): Array<{ provider: string; window: 'minute' | 'day'; ratio: number }> {
    const out: Array<{ provider: string; window: 'minute' | 'day'; ratio: number }> = [];
    for (const [provider, q] of this.quotas) {
      const { minute, day } = this.usage(provider);
      if (q.requestsPerMinute !== undefined) out.push({ provider, window: 'minute', ratio: Math.min(1, minute / q.requestsPerMinute) });
      if (q.tokensPerDay !== undefined) out.push({ provider, window: 'day', ratio: Math.min(1, day / q.tokensPerDay) });
    }
    return out;
  }

  /** Counts are added up across replicas in Redis: every replica then sees about the same totals. */
  get sharedAcrossReplicas(): boolean {
    return this.conn !== undefined;
  }

  recordRequest(provider: string): void {
    if (!this.quotas.has(provider)) return;
    this.counts(provider).minute++;
    if (this.conn) this.pendingFor(provider).requests++;
  }

  recordTokens(provider: string, tokens: number): void {
    if (!this.quotas.has(provider) || tokens <= 0) return;
    this.counts(provider).day += tokens;
    if (this.conn) this.pendingFor(provider).tokens += tokens;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.conn?.close();
  }

  private counts(provider: string): Counts {
    const now = this.now();
    const minuteStart = now - (now % 60_000);
    const dayStart = now - (now % 86_400_000);
    let c = this.local.get(provider);
    if (!c) {
      c = { minute: 0, minuteStart, day: 0, dayStart };
      this.local.set(provider, c);
    }
    if (c.minuteStart !== minuteStart) Object.assign(c, { minute: 0, minuteStart });
    if (c.dayStart !== dayStart) Object.assign(c, { day: 0, dayStart });
    return c;
  }

  private pendingFor(provider: string) {
    let p = this.pending.get(provider);
    if (!p) this.pending.set(provider, (p = { requests: 0, tokens: 0 }));
    return p;
  }

  /** Adds pending counts to the shared counters and reads every provider's totals, in one pipeline. */
  private async sync(): Promise<void> {
    const conn = this.conn;
    if (!conn || !(await conn.usable())) return;
    const now = this.now();
    const minuteStart = now - (now % 60_000);
    const dayStart = now - (now % 86_400_000);
    const providers = [...this.quotas.keys()];
    const sent = new Map(this.pending);
    this.pending.clear();
    try {
      const replies = await conn.command('provider quota sync', (client) => {
        const m = client.multi();
        for (const p of providers) {
          const mk = `llmgw:pq:${p}:m:${minuteStart}`;
          const dk = `llmgw:pq:${p}:d:${dayStart}`;
          m.incrby(mk, sent.get(p)?.requests ?? 0).pexpire(mk, 120_000);
          m.incrby(dk, sent.get(p)?.tokens ?? 0).pexpire(dk, 2 * 86_400_000);
        }
        return m.exec();
      });
      providers.forEach((p, i) => {
        const minute = Number(replies?.[i * 4]?.[1] ?? 0);
        const day = Number(replies?.[i * 4 + 2]?.[1] ?? 0);
        this.shared.set(p, { minute, day, minuteStart, dayStart });
      });
    } catch {
      // Not added: count them again next time.
      for (const [p, c] of sent) {
        const q = this.pendingFor(p);
        q.requests += c.requests;
        q.tokens += c.tokens;
      }
    }
  }
}

const exposed = new WeakMap<Registry, { quotas: ProviderQuotas }>();

/**
 * `llm_gateway_provider_quota_used_ratio`, read at scrape time. Called again for the same
 * registry (a reload built new quotas), the gauge reads the new ones.
 */
export function registerProviderQuotaMetrics(registry: Registry, quotas: ProviderQuotas): void {
  const known = exposed.get(registry);
  if (known) {
    known.quotas = quotas;
    return;
  }
  const ref = { quotas };
  exposed.set(registry, ref);
  new Gauge({
    name: 'llm_gateway_provider_quota_used_ratio',
    help: "Share of the provider's free-tier quota used, 0 to 1 (window minute: requests per minute; day: tokens per day).",
    labelNames: ['gen_ai_provider_name', 'window'],
    // Workers sharing counts through Redis each see the totals; without Redis each counts its own calls.
    aggregator: quotas.sharedAcrossReplicas ? 'max' : 'sum',
    registers: [registry],
    collect() {
      this.reset();
      for (const u of ref.quotas.usedRatios()) this.set({ gen_ai_provider_name: u.provider, window: u.window }, u.ratio);
    },
  });
}
