import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { Canaries, type CanaryConfig, type CanaryDecision, type CanarySharedState } from './canaries.js';
import { mulberry32 } from '../util/mulberry32.js';

const base: CanaryConfig = { name: 'llama-v2', stable: 'llama', canary: 'llama-v2', percent: 10 };

/** A clock the test moves by hand, and a quiet log that keeps what it was told. */
function harness(configs: CanaryConfig[] = [base], extra: Partial<ConstructorParameters<typeof Canaries>[1]> = {}) {
  let t = 1_000_000;
  const log = { warn: vi.fn(), info: vi.fn() };
  const rollbacks: CanaryDecision[] = [];
  const c = new Canaries(configs, {
    now: () => t,
    random: () => 0,
    log,
    onRollback: (d) => rollbacks.push(d),
    ...extra,
  });
  return {
    c,
    log,
    rollbacks,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

function recordMany(c: Canaries, variant: 'stable' | 'canary', n: number, latencyMs: number, ok = true, name = base.name) {
  for (let i = 0; i < n; i++) c.record(name, variant, latencyMs, ok);
}

describe('Canaries.route', () => {
  it('sends the configured share of traffic to the canary', () => {
    const c = new Canaries([{ ...base, percent: 7.5 }], { random: mulberry32(7), log: { warn: vi.fn(), info: vi.fn() } });
    let canary = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) if (c.route('acme', 'llama').variant === 'canary') canary++;
    // Binomial sd is 0.06 points here; a wrong split (e.g. 7.5 read as 0.075) is far outside.
    expect(canary / n).toBeGreaterThan(0.073);
    expect(canary / n).toBeLessThan(0.077);
  });

  it('splits on the random draw: below percent/100 is canary', () => {
    let r = 0;
    const c = new Canaries([base], { random: () => r, log: { warn: vi.fn(), info: vi.fn() } });
    r = 0.0999;
    expect(c.route('acme', 'llama')).toEqual({ model: 'llama-v2', variant: 'canary', canary: 'llama-v2' });
    r = 0.1;
    expect(c.route('acme', 'llama')).toEqual({ model: 'llama', variant: 'stable', canary: 'llama-v2' });
  });

  it('never routes to a 0 % canary and always to a 100 % one', () => {
    const zero = new Canaries([{ ...base, percent: 0 }], { random: () => 0, log: { warn: vi.fn(), info: vi.fn() } });
    const all = new Canaries([{ ...base, percent: 100 }], { random: () => 0.999999, log: { warn: vi.fn(), info: vi.fn() } });
    for (let i = 0; i < 100; i++) {
      expect(zero.route('acme', 'llama').variant).toBe('stable');
      expect(all.route('acme', 'llama').variant).toBe('canary');
    }
  });

  it("prefers a tenant's own canary, falls back to the every-tenant one, and leaves other models alone", () => {
    const { c } = harness([base, { ...base, name: 'acme-v3', tenant: 'acme', canary: 'llama-v3' }]);
    expect(c.route('acme', 'llama')).toEqual({ model: 'llama-v3', variant: 'canary', canary: 'acme-v3' });
    expect(c.route('globex', 'llama')).toEqual({ model: 'llama-v2', variant: 'canary', canary: 'llama-v2' });
    expect(c.route('acme', 'gpt-4o')).toEqual({ model: 'gpt-4o', variant: 'stable' });
    expect(c.route('acme', 'llama-v2')).toEqual({ model: 'llama-v2', variant: 'stable' });
  });

  it('covers only its tenant when it names one', () => {
    const { c } = harness([{ ...base, tenant: 'acme' }]);
    expect(c.route('acme', 'llama').variant).toBe('canary');
    expect(c.route('globex', 'llama')).toEqual({ model: 'llama', variant: 'stable' });
  });
});

describe('Canaries rollback', () => {
  it('rolls back when more than 5 % of the canary calls breach the p95 SLO, and not at exactly 5 %', () => {
    const { c, rollbacks } = harness();
    recordMany(c, 'canary', 19, 300);
    c.record(base.name, 'canary', 2500, true); // 1 in 20: the 19th of 20 is still fast
    expect(c.state(base.name)!.rolledBack).toBe(false);
    c.record(base.name, 'canary', 2500, true); // 2 in 21: nearest-rank p95 is the 20th, slow
    const d = c.state(base.name)!;
    expect(d.rolledBack).toBe(true);
    expect(d.reason).toMatch(/^p95 \d+ ms over the SLO of 2000 ms$/);
    expect(d.canaryP95Ms).toBeGreaterThan(2000);
    expect(d.samples).toBe(21);
    expect(rollbacks).toEqual([d]);
    for (let i = 0; i < 50; i++) expect(c.route('acme', 'llama')).toEqual({ model: 'llama', variant: 'stable', canary: base.name });
  });

  it('uses the configured p95 SLO', () => {
    const { c } = harness([{ ...base, slo: { p95Ms: 500 } }]);
    recordMany(c, 'canary', 20, 600);
    expect(c.state(base.name)!.reason).toMatch(/over the SLO of 500 ms/);
  });

  it('rolls back on an error rate above the SLO', () => {
    const { c, rollbacks } = harness();
    recordMany(c, 'canary', 19, 300);
    c.record(base.name, 'canary', 300, false); // 5 %: allowed
    expect(rollbacks).toHaveLength(0);
    c.record(base.name, 'canary', 300, false); // 2/21 = 9.5 %
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({ rolledBack: true, reason: 'error rate 9.5 % over the SLO of 5.0 %', samples: 21 });
    expect(rollbacks[0]!.canaryErrorRate).toBeCloseTo(2 / 21, 12);
  });

  it('does not judge below minSamples, however bad the canary', () => {
    const { c, rollbacks } = harness([{ ...base, minSamples: 30 }]);
    recordMany(c, 'canary', 15, 9000);
    recordMany(c, 'canary', 14, 100, false);
    expect(rollbacks).toHaveLength(0);
    expect(c.route('acme', 'llama').variant).toBe('canary');
    c.record(base.name, 'canary', 100, false);
    expect(rollbacks).toHaveLength(1);
  });

  it('needs minSamples ok calls before judging latency', () => {
    const { c, rollbacks } = harness([{ ...base, slo: { maxErrorRate: 1 } }]);
    recordMany(c, 'canary', 50, 100, false);
    recordMany(c, 'canary', 19, 9000);
    expect(rollbacks).toHaveLength(0);
    c.record(base.name, 'canary', 9000, true);
    expect(rollbacks[0]!.reason).toMatch(/^p95/);
  });

  it('leaves a healthy canary in service', () => {
    const { c, rollbacks } = harness();
    const r = mulberry32(3);
    for (let i = 0; i < 5000; i++) {
      c.record(base.name, 'canary', 200 + r() * 1500, i % 50 !== 49); // 2 % errors
      c.record(base.name, 'stable', 200 + r() * 1500, i % 50 !== 49);
    }
    expect(rollbacks).toHaveLength(0);
    expect(c.route('acme', 'llama').variant).toBe('canary');
    const s = c.state(base.name)!;
    expect(s.rolledBack).toBe(false);
    expect(s.reason).toBeUndefined();
    expect(s.canaryP95Ms).toBeGreaterThan(1500);
    expect(s.canaryP95Ms).toBeLessThan(2000);
  });

  it('forgets samples that left the window', () => {
    const { c, rollbacks, advance } = harness([{ ...base, windowSeconds: 60 }]);
    recordMany(c, 'canary', 19, 9000, false);
    advance(61_000);
    c.record(base.name, 'canary', 9000, false);
    expect(rollbacks).toHaveLength(0);
    expect(c.state(base.name)!.samples).toBe(1);
    recordMany(c, 'canary', 19, 9000, false);
    expect(rollbacks).toHaveLength(1);
  });

  it('rolls the same canary back only once', () => {
    const { c, rollbacks } = harness();
    recordMany(c, 'canary', 100, 9000, false);
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]!.samples).toBe(20);
    expect(c.state(base.name)!.samples).toBe(20); // frozen at the decision
  });

  it('logs the decision', () => {
    const { c, log } = harness();
    recordMany(c, 'canary', 20, 100, false);
    expect(log.warn).toHaveBeenCalledWith(
      expect.objectContaining({ canary: base.name, rolledBack: true, stable: 'llama', canaryModel: 'llama-v2' }),
      'canary rolled back',
    );
  });

  it('survives an onRollback hook that throws', () => {
    const c = new Canaries([base], {
      now: () => 0,
      onRollback: () => {
        throw new Error('boom');
      },
      log: { warn: vi.fn(), info: vi.fn() },
    });
    expect(() => recordMany(c, 'canary', 20, 100, false)).not.toThrow();
    expect(c.state(base.name)!.rolledBack).toBe(true);
  });

  it('ignores outcomes for canaries it does not know (routed before a reload)', () => {
    const { c } = harness();
    expect(() => c.record('gone', 'canary', 100, false)).not.toThrow();
  });
});

describe('Canaries when stable is also bad', () => {
  it('does not blame the canary for a latency breach stable shares', () => {
    const { c, rollbacks } = harness();
    recordMany(c, 'stable', 40, 5000);
    recordMany(c, 'canary', 40, 6000);
    expect(rollbacks).toHaveLength(0);
    recordMany(c, 'canary', 200, 9000); // now clearly worse: p95 ≈ 9000 > 1.5 × 5000
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]!.reason).toMatch(/^p95 \d+ ms over the SLO of 2000 ms and over 1.5x stable's \d+ ms$/);
    expect(rollbacks[0]!.stableP95Ms).toBeGreaterThan(4500);
  });

  it('does not blame the canary for errors stable shares, unless clearly worse', () => {
    const { c, rollbacks } = harness();
    recordMany(c, 'stable', 20, 100, false);
    recordMany(c, 'stable', 20, 100, true);
    for (let i = 0; i < 10; i++) {
      recordMany(c, 'canary', 3, 100, false);
      recordMany(c, 'canary', 2, 100, true);
    }
    expect(c.state(base.name)).toMatchObject({ rolledBack: false, canaryErrorRate: 0.6, stableErrorRate: 0.5 });
    expect(rollbacks).toHaveLength(0);
    const { c: c2, rollbacks: r2 } = harness();
    recordMany(c2, 'stable', 2, 100, false);
    recordMany(c2, 'stable', 18, 100, true); // 10 %
    recordMany(c2, 'canary', 5, 100, false);
    recordMany(c2, 'canary', 15, 100, true); // 25 % > 1.5 × 10 %
    expect(r2).toHaveLength(1);
    expect(r2[0]!.reason).toBe("error rate 25.0 % over the SLO of 5.0 % and over 1.5x stable's 10.0 %");
  });

  it('still rolls back a slow canary while stable is fast but failing (each objective on its own)', () => {
    const { c, rollbacks } = harness([{ ...base, slo: { maxErrorRate: 1 } }]);
    recordMany(c, 'stable', 30, 300);
    recordMany(c, 'stable', 30, 300, false);
    recordMany(c, 'canary', 20, 3000);
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]!.reason).toMatch(/^p95 \d+ ms over the SLO of 2000 ms$/);
  });

  it('does not let a stable with too few samples excuse a breach', () => {
    const { c, rollbacks } = harness();
    recordMany(c, 'stable', 19, 100, false);
    recordMany(c, 'canary', 20, 100, false);
    expect(rollbacks).toHaveLength(1);
  });

  it('takes its margin from worseBy', () => {
    const { c, rollbacks } = harness([base], { worseBy: 1.1 });
    recordMany(c, 'stable', 40, 5000);
    recordMany(c, 'canary', 40, 6000);
    expect(rollbacks).toHaveLength(1);
  });
});

describe('Canaries.reset and shared state', () => {
  it('puts a rolled-back canary back in service with an empty window', () => {
    const { c, rollbacks } = harness();
    recordMany(c, 'canary', 20, 100, false);
    expect(c.route('acme', 'llama').variant).toBe('stable');
    c.reset(base.name);
    expect(c.route('acme', 'llama').variant).toBe('canary');
    expect(c.state(base.name)).toEqual({ canary: base.name, rolledBack: false, samples: 0 });
    recordMany(c, 'canary', 19, 100, false);
    expect(rollbacks).toHaveLength(1);
    c.record(base.name, 'canary', 100, false);
    expect(rollbacks).toHaveLength(2);
  });

  it('shares its rollbacks and adopts those of other replicas', () => {
    const marked = new Map<string, CanaryDecision>();
    const shared: CanarySharedState = {
      markRolledBack: (name, d) => marked.set(name, d),
      isRolledBack: (name) => marked.has(name),
      clear: (name) => marked.delete(name),
    };
    const registry = new Registry();
    const a = harness([base], { sharedState: shared, registry });
    const b = harness([base], { sharedState: shared });
    recordMany(a.c, 'canary', 20, 100, false);
    expect(marked.get(base.name)).toEqual(a.rollbacks[0]);

    expect(b.c.state(base.name)!.rolledBack).toBe(false);
    expect(b.c.route('acme', 'llama')).toEqual({ model: 'llama', variant: 'stable', canary: base.name });
    expect(b.c.state(base.name)).toMatchObject({ rolledBack: true, reason: 'rolled back by another replica (shared state)' });
    expect(b.rollbacks).toHaveLength(0);

    b.c.reset(base.name);
    expect(marked.has(base.name)).toBe(false);
    expect(b.c.route('acme', 'llama').variant).toBe('canary');
  });

  it('keeps routing on local judgement when the shared state fails', () => {
    const shared: CanarySharedState = {
      markRolledBack: () => {
        throw new Error('redis down');
      },
      isRolledBack: () => {
        throw new Error('redis down');
      },
    };
    const { c } = harness([base], { sharedState: shared });
    expect(c.route('acme', 'llama').variant).toBe('canary');
    expect(() => recordMany(c, 'canary', 20, 100, false)).not.toThrow();
    expect(c.route('acme', 'llama').variant).toBe('stable');
  });
});

describe('Canaries metrics', () => {
  async function values(registry: Registry, name: string) {
    const m = await registry.getSingleMetric(name)!.get();
    return m.values.map((v) => ({ labels: v.labels, value: v.value }));
  }

  it('exports requests, rollbacks, activity, p95 and error rate', async () => {
    const registry = new Registry();
    const { c } = harness([base, { ...base, name: 'other', stable: 'gpt', canary: 'gpt-2' }], { registry });
    recordMany(c, 'stable', 30, 1000);
    recordMany(c, 'stable', 10, 1000, false);
    recordMany(c, 'canary', 20, 100, false);

    expect(await values(registry, 'llm_gateway_canary_requests_total')).toEqual([
      { labels: { canary: 'llama-v2', variant: 'stable', outcome: 'ok' }, value: 30 },
      { labels: { canary: 'llama-v2', variant: 'stable', outcome: 'error' }, value: 10 },
      { labels: { canary: 'llama-v2', variant: 'canary', outcome: 'error' }, value: 20 },
    ]);
    expect(await values(registry, 'llm_gateway_canary_rollbacks_total')).toEqual([{ labels: { canary: 'llama-v2' }, value: 1 }]);
    expect(await values(registry, 'llm_gateway_canary_active')).toEqual([
      { labels: { canary: 'llama-v2' }, value: 0 },
      { labels: { canary: 'other' }, value: 1 },
    ]);
    expect(await values(registry, 'llm_gateway_canary_error_rate')).toEqual([
      { labels: { canary: 'llama-v2', variant: 'stable' }, value: 0.25 },
      { labels: { canary: 'llama-v2', variant: 'canary' }, value: 1 },
    ]);
    const p95 = await values(registry, 'llm_gateway_canary_p95_seconds');
    expect(p95).toHaveLength(1);
    expect(p95[0]!.labels).toEqual({ canary: 'llama-v2', variant: 'stable' });
    expect(Math.abs(p95[0]!.value / 1 - 1)).toBeLessThan(0.045);
  });

  it('drops window gauges once the window is empty', async () => {
    const registry = new Registry();
    const { c, advance } = harness([base], { registry });
    recordMany(c, 'stable', 5, 1000);
    expect(await values(registry, 'llm_gateway_canary_error_rate')).toHaveLength(1);
    advance(61_000);
    expect(await values(registry, 'llm_gateway_canary_error_rate')).toEqual([]);
    expect(await values(registry, 'llm_gateway_canary_p95_seconds')).toEqual([]);
  });

  it('survives a reload on the same registry: counters keep counting, gauges follow the new config', async () => {
    const registry = new Registry();
    const first = harness([base], { registry });
    recordMany(first.c, 'canary', 20, 100, false);
    const second = harness([base, { ...base, name: 'other', stable: 'gpt', canary: 'gpt-2' }], { registry });
    second.c.record(base.name, 'canary', 100, false);
    expect(await values(registry, 'llm_gateway_canary_requests_total')).toEqual([
      { labels: { canary: 'llama-v2', variant: 'canary', outcome: 'error' }, value: 21 },
    ]);
    expect(await values(registry, 'llm_gateway_canary_rollbacks_total')).toEqual([{ labels: { canary: 'llama-v2' }, value: 1 }]);
    expect(await values(registry, 'llm_gateway_canary_active')).toEqual([
      { labels: { canary: 'llama-v2' }, value: 1 },
      { labels: { canary: 'other' }, value: 1 },
    ]);
    expect(second.c.route('acme', 'llama').variant).toBe('canary');
  });
});

describe('Canaries configuration', () => {
  it('refuses configs the schema would refuse', () => {
    expect(() => new Canaries([{ ...base, percent: 120 }])).toThrow(/percent must be within 0..100, got 120/);
    expect(() => new Canaries([{ ...base, canary: 'llama' }])).toThrow(/canary must differ from stable/);
    expect(() => new Canaries([base, { ...base, canary: 'x' }])).toThrow(/duplicate canary name/);
    expect(() => new Canaries([base, { ...base, name: 'b', canary: 'x' }])).toThrow(/already split by canary "llama-v2"/);
    expect(() => new Canaries([{ ...base, minSamples: 0 }])).toThrow(/minSamples must be >= 1/);
  });
});
