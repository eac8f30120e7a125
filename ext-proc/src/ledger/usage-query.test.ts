import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { LedgerRecord } from './record.js';
import { parseUsageParams, UsageAccumulator, usageAnswer, type UsageQuery } from './usage-query.js';

const NOW = new Date('2025-06-15T10:00:00Z');

function record(over: Partial<LedgerRecord>): LedgerRecord {
  return {
    v: 1,
    request_id: 'r',
    ts: '2025-06-10T12:00:00.000Z',
    tenant: 'acme',
    key_id: 'k1',
    requested_model: 'auto',
    model: 'gpt-4o-mini',
    provider: 'openai',
    tier: null,
    stream: false,
    input_tokens: 10,
    output_tokens: 5,
    cached_input_tokens: 0,
    reasoning_tokens: 0,
    cost_usd: 0.001,
    saved_usd: null,
    cache: 'miss',
    status: 200,
    latency_ms: 100,
    ttft_ms: null,
    attempts: 1,
    route_reason: null,
    aborted: false,
    usage_estimated: false,
    ...over,
  };
}

function badParam(p: Parameters<typeof parseUsageParams>[0]): { param: unknown; message: string } {
  try {
    parseUsageParams(p, 'acme', NOW);
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    const g = e as GatewayError;
    expect(g.status).toBe(400);
    return { param: g.opts.param, message: g.message };
  }
  throw new Error('accepted');
}

describe('usage parameters', () => {
  it('default to the 30 days up to now, by day', () => {
    const q = parseUsageParams({}, 'acme', NOW);
    expect(q).toEqual({ tenant: 'acme', from: new Date('2025-05-16T10:00:00Z'), to: NOW, groupBy: 'day' });
  });

  it('read dates (a `to` date counts its whole day) and RFC 3339 times', () => {
    expect(parseUsageParams({ from: '2025-06-01', to: '2025-06-01', group_by: 'model' }, 'acme', NOW)).toMatchObject({
      from: new Date('2025-06-01T00:00:00Z'),
      to: new Date('2025-06-02T00:00:00Z'),
      groupBy: 'model',
    });
    expect(parseUsageParams({ from: '2025-06-01T08:30:00+02:00', to: '2025-06-01T12:00:00.5Z' }, 'acme', NOW)).toMatchObject({
      from: new Date('2025-06-01T06:30:00Z'),
      to: new Date('2025-06-01T12:00:00.500Z'),
    });
  });

  it('refuse what they cannot read with a 400 naming the parameter', () => {
    expect(badParam({ group_by: 'week' })).toMatchObject({ param: 'group_by', message: expect.stringContaining('day, model, provider, key') });
    expect(badParam({ from: 'yesterday' }).param).toBe('from');
    expect(badParam({ to: '2025-02-30' }).param).toBe('to');
    expect(badParam({ from: '1718000000' }).param).toBe('from');
    expect(badParam({ from: '2025-06-10T10:00' }).param).toBe('from');
    expect(badParam({ from: '2025-06-10', to: '2025-06-09' })).toMatchObject({ param: 'from', message: expect.stringContaining('before') });
    expect(badParam({ from: '2023-01-01', to: '2025-01-01' })).toMatchObject({ param: 'to', message: expect.stringContaining('366 days') });
  });
});

describe('usage aggregation', () => {
  const q: UsageQuery = { tenant: 'acme', from: new Date('2025-06-01T00:00:00Z'), to: new Date('2025-06-11T00:00:00Z'), groupBy: 'day' };

  it('keeps the tenant and the range (from inclusive, to exclusive)', () => {
    const acc = new UsageAccumulator(q);
    expect(acc.matches(record({ ts: '2025-06-01T00:00:00.000Z' }))).toBe(true);
    expect(acc.matches(record({ ts: '2025-06-11T00:00:00.000Z' }))).toBe(false);
    expect(acc.matches(record({ ts: '2025-05-31T23:59:59.999Z' }))).toBe(false);
    expect(acc.matches(record({ tenant: 'other' }))).toBe(false);
  });

  it('sums each group: days in order, other groups by cost', () => {
    const rs = [
      record({ ts: '2025-06-03T01:00:00.000Z', cost_usd: 0.1, model: 'a' }),
      record({ ts: '2025-06-02T01:00:00.000Z', cost_usd: 0.2, model: 'b', status: 502, input_tokens: null, output_tokens: null }),
      record({ ts: '2025-06-02T02:00:00.000Z', cost_usd: 0, saved_usd: 0.05, model: 'b', cache: 'hit', aborted: false }),
      record({ ts: '2025-06-03T03:00:00.000Z', cost_usd: 0.3, model: 'a', aborted: true, reasoning_tokens: 4 }),
    ];
    const byDay = new UsageAccumulator(q);
    for (const r of rs) byDay.add(r);
    expect(
      byDay.buckets().map((b) => [b.key, b.requests, b.errors, b.aborted, b.cache_hits, b.input_tokens, b.cost_usd, b.saved_usd, b.reasoning_tokens]),
    ).toEqual([
      ['2025-06-02', 2, 1, 0, 1, 10, 0.2, 0.05, 0],
      ['2025-06-03', 2, 0, 1, 0, 20, 0.4, 0, 4],
    ]);
    const byModel = new UsageAccumulator({ ...q, groupBy: 'model' });
    for (const r of rs) byModel.add(r);
    expect(byModel.buckets().map((b) => [b.key, b.cost_usd])).toEqual([
      ['a', 0.4],
      ['b', 0.2],
    ]);
    const answer = usageAnswer({ ...q, groupBy: 'model' }, byModel.buckets()) as { data: Array<Record<string, unknown>>; totals: Record<string, number> };
    expect(answer).toMatchObject({ object: 'usage', tenant: 'acme', group_by: 'model', from: '2025-06-01T00:00:00.000Z', to: '2025-06-11T00:00:00.000Z' });
    expect(answer.data[0]).toMatchObject({ model: 'a', requests: 2 });
    expect(answer.totals).toMatchObject({
      requests: 4,
      errors: 1,
      aborted: 1,
      cache_hits: 1,
      input_tokens: 30,
      output_tokens: 15,
      cost_usd: 0.6,
      saved_usd: 0.05,
    });
  });
});
