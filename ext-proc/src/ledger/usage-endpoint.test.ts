import { describe, expect, it } from 'vitest';
import { detectEndpoint } from '../ingress/endpoints.js';
import type { Caller } from '../pipeline/caller.js';
import { GatewayError } from '../errors.js';
import type { Ledger } from './ledger.js';
import { usageReply } from './usage-endpoint.js';
import type { UsageQuery } from './usage-query.js';

const NOW = new Date('2025-06-15T10:00:00Z');

function caller(query: string, tenant = 'acme'): Caller {
  return { rid: 'rid-u', query: new URLSearchParams(query), principal: { tenant, keyId: 'k1' } } as unknown as Caller;
}

function ledger(asked: UsageQuery[]): Ledger {
  return {
    kind: 'file',
    where: 'test',
    append: () => undefined,
    close: async () => undefined,
    async usage(q) {
      asked.push(q);
      return [
        {
          key: 'gpt-4o-mini',
          requests: 2,
          errors: 0,
          aborted: 0,
          cache_hits: 1,
          input_tokens: 10,
          output_tokens: 4,
          cached_input_tokens: 0,
          reasoning_tokens: 0,
          cost_usd: 0.5,
          saved_usd: 0.25,
        },
      ];
    },
  };
}

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof GatewayError) return e;
    throw e;
  }
  throw new Error('answered');
}

describe('GET /v1/usage', () => {
  it('is an endpoint of its own, GET only', () => {
    expect(detectEndpoint('GET', '/v1/usage')).toEqual({ api: 'openai', op: 'usage' });
    expect(detectEndpoint('POST', '/v1/usage')).toBeUndefined();
    expect(detectEndpoint('GET', '/v1/usage/')).toBeUndefined();
  });

  it("asks the ledger about the caller's own tenant and answers JSON", async () => {
    const asked: UsageQuery[] = [];
    const reply = await usageReply(ledger(asked), caller('from=2025-06-01&to=2025-06-10&group_by=model&key=gw-k'), NOW);
    expect(asked).toEqual([{ tenant: 'acme', from: new Date('2025-06-01T00:00:00Z'), to: new Date('2025-06-11T00:00:00Z'), groupBy: 'model' }]);
    expect(reply.status).toBe(200);
    expect(reply.headers).toContainEqual(['content-type', 'application/json']);
    expect(JSON.parse(reply.body.toString('utf8'))).toEqual({
      object: 'usage',
      tenant: 'acme',
      from: '2025-06-01T00:00:00.000Z',
      to: '2025-06-11T00:00:00.000Z',
      group_by: 'model',
      data: [
        {
          model: 'gpt-4o-mini',
          requests: 2,
          errors: 0,
          aborted: 0,
          cache_hits: 1,
          input_tokens: 10,
          output_tokens: 4,
          cached_input_tokens: 0,
          reasoning_tokens: 0,
          cost_usd: 0.5,
          saved_usd: 0.25,
        },
      ],
      totals: {
        requests: 2,
        errors: 0,
        aborted: 0,
        cache_hits: 1,
        input_tokens: 10,
        output_tokens: 4,
        cached_input_tokens: 0,
        reasoning_tokens: 0,
        cost_usd: 0.5,
        saved_usd: 0.25,
      },
    });
  });

  it('refuses unknown or repeated parameters (there is no tenant to ask about but your own)', async () => {
    const asked: UsageQuery[] = [];
    const e = await refusal(usageReply(ledger(asked), caller('tenant=globex'), NOW));
    expect([e.status, e.opts.param, e.opts.code]).toEqual([400, 'tenant', 'unknown_parameter']);
    const twice = await refusal(usageReply(ledger(asked), caller('to=2025-06-01&to=2025-06-02'), NOW));
    expect([twice.status, twice.opts.param]).toEqual([400, 'to']);
    expect(asked).toEqual([]);
  });

  it('is a 404 when the ledger is off', async () => {
    const e = await refusal(usageReply(undefined, caller(''), NOW));
    expect([e.status, e.opts.code]).toEqual([404, 'ledger_off']);
  });
});
