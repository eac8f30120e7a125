/**
 * Prometheus view of the canaries. The request path only bumps plain numbers (`CanaryCounts`);
 * every metric is filled in at scrape time, so recording an outcome costs no label hashing.
 *
 * One set of metrics per registry, created once: a config reload builds a new `Canaries`, which
 * takes the metrics over (`attach`), and the counters keep counting across the reload rather
 * than dropping to zero.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export type Variant = 'stable' | 'canary';

/** Cumulative per-canary counts, indexed by {@link countIndex}. */
export type CanaryCounts = Float64Array;

export function countIndex(variant: Variant, ok: boolean): number {
  return (variant === 'canary' ? 2 : 0) + (ok ? 0 : 1);
}
const SLOTS: readonly { variant: Variant; outcome: 'ok' | 'error' }[] = [
  { variant: 'stable', outcome: 'ok' },
  { variant: 'stable', outcome: 'error' },
  { variant: 'canary', outcome: 'ok' },
  { variant: 'canary', outcome: 'error' },
];

/** What the gauges show for one canary, read at scrape time. */
export interface CanarySnapshot {
  name: string;
  active: boolean;
  stable: { p95Ms?: number; errorRate?: number };
  canary: { p95Ms?: number; errorRate?: number };
}

export interface CanarySource {
  snapshot(): CanarySnapshot[];
}

export class CanaryMetrics {
  private source: CanarySource | undefined;
  private readonly requests = new Map<string, CanaryCounts>();
  private readonly rollbacks = new Map<string, number>();

  private constructor(registry: Registry | undefined) {
    if (registry) this.register(registry);
  }

  private static readonly byRegistry = new WeakMap<Registry, CanaryMetrics>();

  /** The registry's canary metrics, created on first use; without a registry, counts only. */
  static for(registry: Registry | undefined): CanaryMetrics {
    if (!registry) return new CanaryMetrics(undefined);
    let m = CanaryMetrics.byRegistry.get(registry);
    if (!m) {
      m = new CanaryMetrics(registry);
      CanaryMetrics.byRegistry.set(registry, m);
    }
    return m;
  }

  /** The gauges read `source` from now on (the newest `Canaries` on this registry). */
  attach(source: CanarySource): void {
    this.source = source;
  }

  /** The counts array `record` increments for `name` (the same one across reloads). */
  counts(name: string): CanaryCounts {
    let c = this.requests.get(name);
    if (!c) {
      c = new Float64Array(SLOTS.length);
      this.requests.set(name, c);
    }
    return c;
  }

  rolledBack(name: string): void {
    this.rollbacks.set(name, (this.rollbacks.get(name) ?? 0) + 1);
  }

  rollbackCount(name: string): number {
    return this.rollbacks.get(name) ?? 0;
  }

  private register(registry: Registry): void {
    const self = this;
    const snapshot = (): CanarySnapshot[] => self.source?.snapshot() ?? [];
    new Gauge({
      name: 'llm_gateway_canary_active',
      help: '1 while the canary receives its share of traffic, 0 once it has been rolled back.',
      labelNames: ['canary'],
      // Several workers: active only while no worker has rolled it back.
      aggregator: 'min',
      registers: [registry],
      collect() {
        this.reset();
        for (const s of snapshot()) this.set({ canary: s.name }, s.active ? 1 : 0);
      },
    });
    new Counter({
      name: 'llm_gateway_canary_rollbacks_total',
      help: 'Automatic rollbacks decided by this process (a rollback adopted from shared state is not counted).',
      labelNames: ['canary'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [name, n] of self.rollbacks) this.inc({ canary: name }, n);
      },
    });
    new Counter({
      name: 'llm_gateway_canary_requests_total',
      help: 'Calls covered by a canary, by the variant they were routed to and their outcome (ok = 2xx and not cut off).',
      labelNames: ['canary', 'variant', 'outcome'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [name, c] of self.requests) {
          SLOTS.forEach((s, i) => {
            if (c[i]! > 0) this.inc({ canary: name, variant: s.variant, outcome: s.outcome }, c[i]!);
          });
        }
      },
    });
    // Window figures per variant, read when Prometheus scrapes; absent while a window is empty.
    const perVariant = (name: string, help: string, value: (w: CanarySnapshot['stable']) => number | undefined) =>
      new Gauge({
        name,
        help,
        labelNames: ['canary', 'variant'],
        // Several workers each watch their own share of the calls: the worst figure counts.
        aggregator: 'max',
        registers: [registry],
        collect() {
          this.reset();
          for (const s of snapshot()) {
            for (const variant of ['stable', 'canary'] as const) {
              const v = value(s[variant]);
              if (v !== undefined) this.set({ canary: s.name, variant }, v);
            }
          }
        },
      });
    perVariant('llm_gateway_canary_p95_seconds', 'Estimated p95 latency of ok calls over the canary window (within 4.4 %), per variant.', (w) =>
      w.p95Ms === undefined ? undefined : w.p95Ms / 1000,
    );
    perVariant('llm_gateway_canary_error_rate', 'Share of calls that failed over the canary window, per variant.', (w) => w.errorRate);
  }
}
