import { Gauge, type Registry } from 'prom-client';

/**
 * Backends that recently refused work (429, 5xx): fallback chains and the router start past them
 * until their time is up. A 429 names its own wait (`retry-after`); other failures get a short
 * default. With Redis every replica learns what any replica saw (within a second); without it
 * each learns from the attempts it translates, and a wrong guess only costs one extra attempt.
 */
export class Cooldowns {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly o: { defaultSeconds: number; maxSeconds: number } = { defaultSeconds: 5, maxSeconds: 300 },
    /** Shares cooldowns between replicas (Redis) when present. */
    private readonly shared?: { cool(backend: string, untilMs: number): void; coolingUntil(backend: string): number | undefined },
  ) {}

  /** Records a refusal by `backend`; `retryAfter` is the provider's header value, if any. */
  refuse(backend: string, retryAfter: string | undefined, now = Date.now()): number {
    const seconds = Math.min(this.o.maxSeconds, parseRetryAfter(retryAfter, now) ?? this.o.defaultSeconds);
    if (seconds <= 0) return 0;
    const end = now + seconds * 1000;
    if ((this.until.get(backend) ?? 0) < end) this.until.set(backend, end);
    this.shared?.cool(backend, end);
    return seconds;
  }

  cooling(backend: string, now = Date.now()): boolean {
    const own = this.until.get(backend);
    const theirs = this.shared?.coolingUntil(backend);
    const end = own === undefined ? theirs : theirs === undefined ? own : Math.max(own, theirs);
    if (end === undefined) return false;
    if (end > now) return true;
    this.until.delete(backend);
    return false;
  }
}

/** `retry-after` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  const at = Date.parse(t);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

/** A chain member as the cooldown gauge labels it (a catalog model). */
export interface CoolableMember {
  id: string;
  provider: { id: string };
}

/**
 * `llm_gateway_provider_cooling_down`, read at scrape time: 1 for each configured model that is
 * cooling down, 0 for the others. `source` is read at every scrape, so a reloaded catalog or a
 * new Cooldowns is picked up.
 */
export function registerCooldownMetrics(registry: Registry, source: () => { cooldowns: Cooldowns; members: Iterable<CoolableMember> }): void {
  new Gauge({
    name: 'llm_gateway_provider_cooling_down',
    help: '1 while the model (a fallback-chain member) is cooling down after a 429 or 5xx, else 0.',
    labelNames: ['gen_ai_provider_name', 'gen_ai_request_model'],
    // Several workers: cooling as long as any worker avoids it.
    aggregator: 'max',
    registers: [registry],
    collect() {
      this.reset();
      const { cooldowns, members } = source();
      const now = Date.now();
      for (const m of members) this.set({ gen_ai_provider_name: m.provider.id, gen_ai_request_model: m.id }, cooldowns.cooling(m.id, now) ? 1 : 0);
    },
  });
}
