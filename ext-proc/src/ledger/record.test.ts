import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../catalog/load.js';
import { repoRoot } from '../config/paths.js';
import { METADATA_NAMESPACE } from '../contract.js';
import { createMemoryLimiter } from '../limits/index.js';
import { CallMeter, type MeterDeps } from '../metering/call-meter.js';
import { createMetrics } from '../metering/metrics.js';
import type { RoutingContext } from '../route/routing-context.js';
import { cacheHitRecord, LEDGER_FIELDS, LedgerRecordSchema, type LedgerRecord } from './record.js';

const catalog = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml'));
const model = catalog.find('gpt-4o-mini')!;
const other = catalog.find('claude-haiku-4-5')!;

/** Just enough routing for the meter to teach (it is not what these tests look at). */
const routing = {
  latency: { observe: () => undefined },
  quotas: { recordTokens: () => undefined },
  canaries: { record: () => undefined },
} as unknown as RoutingContext;

function meter(records: LedgerRecord[], extra: Partial<ConstructorParameters<typeof CallMeter>[1]> = {}) {
  const deps: MeterDeps = {
    metrics: createMetrics(),
    log: pino({ level: 'silent' }),
    limiter: createMemoryLimiter(),
    routing,
    ledger: { append: (r) => records.push(r) },
  };
  return new CallMeter(deps, {
    startedAt: process.hrtime.bigint() - 250_000_000n,
    rid: 'rid-1',
    tenant: 'acme',
    keyId: 'k-123',
    stream: true,
    model,
    cache: 'miss',
    requestedModel: 'auto',
    route: { tier: 'simple', reason: 'policy default: cheapest simple-tier model' },
    ...extra,
  });
}

describe('the meter hands the ledger one record per call', () => {
  it('records a finished call with its usage, cost, timings, attempts and route, once', () => {
    const records: LedgerRecord[] = [];
    const m = meter(records);
    m.responseStatus(200);
    m.bodyStarted();
    m.servedBy(other);
    m.attemptsMade(2);
    const usd = m.finish({ inputTokens: 1000, outputTokens: 200, cachedInputTokens: 100, reasoningTokens: 50 });
    // An abort after the end (the meter finishing twice) adds nothing.
    m.finish(undefined, true);
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(LedgerRecordSchema.parse(r)).toEqual(r);
    expect(r).toMatchObject({
      request_id: 'rid-1',
      tenant: 'acme',
      key_id: 'k-123',
      requested_model: 'auto',
      model: other.id,
      provider: other.provider.id,
      tier: 'simple',
      stream: true,
      input_tokens: 1000,
      output_tokens: 200,
      cached_input_tokens: 100,
      reasoning_tokens: 50,
      cost_usd: usd,
      cache: 'miss',
      status: 200,
      attempts: 2,
      route_reason: 'policy default: cheapest simple-tier model',
      aborted: false,
      usage_estimated: false,
    });
    expect(usd).toBeGreaterThan(0);
    expect(r.latency_ms).toBeGreaterThanOrEqual(250);
    expect(r.ttft_ms).toBeGreaterThanOrEqual(250);
    expect(r.ttft_ms!).toBeLessThanOrEqual(r.latency_ms);
    // The time is when the request reached the gateway.
    expect(Math.abs(Date.parse(r.ts) - (Date.now() - r.latency_ms))).toBeLessThan(100);
  });

  it('records a call cut off (estimated usage) and an upstream error (no usage)', () => {
    const records: LedgerRecord[] = [];
    const cut = meter(records);
    cut.responseStatus(200);
    cut.finish({ inputTokens: 10, outputTokens: 3, cachedInputTokens: 0, reasoningTokens: 0 }, true, true);
    const failed = meter(records, { rid: 'rid-2', stream: false, cache: 'bypass', route: undefined, requestedModel: undefined });
    failed.responseStatus(503);
    failed.finish(undefined);
    expect(records.map((r) => [r.request_id, r.status, r.aborted, r.usage_estimated, r.cost_usd === null, r.attempts])).toEqual([
      ['rid-1', 200, true, true, false, 1],
      ['rid-2', 503, false, false, true, 1],
    ]);
    expect(records[1]).toMatchObject({ input_tokens: null, tier: null, route_reason: null, requested_model: null, ttft_ms: null, cache: 'bypass' });
    for (const r of records) expect(LedgerRecordSchema.safeParse(r).success).toBe(true);
  });

  it('ignores an attempt count that is not a positive integer', () => {
    const records: LedgerRecord[] = [];
    const m = meter(records);
    m.attemptsMade(Number(undefined));
    m.attemptsMade(0);
    m.finish(undefined);
    expect(records[0]!.attempts).toBe(1);
  });
});

describe('the record', () => {
  it('holds counts, prices, timings and names only: no field for prompt or answer text', () => {
    expect(LEDGER_FIELDS).toEqual([
      'request_id',
      'ts',
      'tenant',
      'key_id',
      'requested_model',
      'model',
      'provider',
      'tier',
      'stream',
      'input_tokens',
      'output_tokens',
      'cached_input_tokens',
      'reasoning_tokens',
      'cost_usd',
      'saved_usd',
      'cache',
      'status',
      'latency_ms',
      'ttft_ms',
      'attempts',
      'route_reason',
      'aborted',
      'usage_estimated',
    ]);
    const records: LedgerRecord[] = [];
    meter(records).finish(undefined);
    // Strict: a record with anything more is refused (the writer keeps it apart, unread).
    expect(LedgerRecordSchema.safeParse({ ...records[0], prompt: 'hello' }).success).toBe(false);
  });

  it('of a cache hit comes from the reply the cache made: no cost, no attempt, what it saved', () => {
    const started = process.hrtime.bigint();
    const reply = {
      status: 200,
      headers: [],
      body: Buffer.from('{}'),
      details: 'llm_gateway_cache_hit',
      metadata: {
        [METADATA_NAMESPACE]: {
          cache: 'hit',
          saved_usd: 0.0012,
          request_id: 'rid-hit',
          tenant: 'acme',
          key_id: 'k-123',
          model: model.id,
          provider: model.provider.id,
          stream: false,
          cost_usd: 0,
          input_tokens: 12,
          output_tokens: 7,
          cached_input_tokens: 0,
        },
      },
    };
    const r = cacheHitRecord(
      reply,
      { startedAt: started - 5_000_000n, keyId: 'k-123', requestedModel: 'gpt-4o-mini', route: { reason: 'requested' } },
      Date.now(),
      started,
    );
    expect(LedgerRecordSchema.parse(r)).toMatchObject({
      request_id: 'rid-hit',
      tenant: 'acme',
      cache: 'hit',
      cost_usd: 0,
      saved_usd: 0.0012,
      attempts: 0,
      input_tokens: 12,
      output_tokens: 7,
      status: 200,
      latency_ms: 5,
      route_reason: 'requested',
    });
  });
});
