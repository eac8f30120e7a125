import { describe, expect, it } from 'vitest';
import { decodeRouteContext, encodeRouteContext, type RouteContext } from './route-context.js';

const key = Buffer.from('k'.repeat(32));
const ctx: RouteContext = { rid: 'r1', caller: 'openai', model: 'm', stream: false, includeUsage: true, tenant: 't', members: ['a', 'b'], exp: 2_000 };

describe('route context', () => {
  it('round-trips when signed with the same key and not expired', () => {
    expect(decodeRouteContext(encodeRouteContext(ctx, key), key, 1_000)).toEqual(ctx);
  });

  it('refuses a missing, unsigned, forged, tampered or expired context with a 403', () => {
    const good = encodeRouteContext(ctx, key);
    const [payload, sig] = good.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ ...ctx, tenant: 'other' })).toString('base64url');
    const cases = [
      undefined,
      '',
      payload,
      `${forgedPayload}.${sig}`,
      `${payload}.${Buffer.alloc(32).toString('base64url')}`,
      `${payload}.${sig}.extra`,
      encodeRouteContext(ctx, Buffer.from('x'.repeat(32))),
    ];
    for (const c of cases) expect(() => decodeRouteContext(c, key, 1_000)).toThrow(expect.objectContaining({ status: 403 }));
    expect(() => decodeRouteContext(good, key, 3_000)).toThrow(/expired/);
  });
});
