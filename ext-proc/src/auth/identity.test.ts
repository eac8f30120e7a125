import { describe, expect, it } from 'vitest';
import { IdentityAuthenticator, xfccUris } from './identity.js';

describe('xfccUris', () => {
  it('reads URI elements, nearest peer first, with quoted values', () => {
    const h =
      'By=spiffe://cluster.local/ns/gw/sa/envoy;Hash=abc;URI=spiffe://cluster.local/ns/a/sa/first,By=x;URI="spiffe://cluster.local/ns/b/sa/second";DNS=b.local';
    expect(xfccUris(h)).toEqual(['spiffe://cluster.local/ns/b/sa/second', 'spiffe://cluster.local/ns/a/sa/first']);
    expect(xfccUris('Hash=abc;DNS=x')).toEqual([]);
  });
});

describe('IdentityAuthenticator', () => {
  const tenants = new Map([['spiffe://cluster.local/ns/shop/sa/checkout', 'shop']]);

  it('maps a known identity to its tenant with a stable, non-secret key id', () => {
    const auth = new IdentityAuthenticator('x-forwarded-client-cert', tenants);
    const p = auth.authenticate({ 'x-forwarded-client-cert': 'Hash=1;URI=spiffe://cluster.local/ns/shop/sa/checkout' });
    expect(p?.tenant).toBe('shop');
    expect(p?.keyId).toMatch(/^id-[0-9a-f]{9}$/);
    expect(auth.authenticate({ 'x-forwarded-client-cert': 'Hash=1;URI=spiffe://cluster.local/ns/shop/sa/checkout' })).toEqual(p);
  });

  it('refuses unknown identities and missing headers', () => {
    const auth = new IdentityAuthenticator('x-forwarded-client-cert', tenants);
    expect(auth.authenticate({ 'x-forwarded-client-cert': 'URI=spiffe://cluster.local/ns/evil/sa/x' })).toBeUndefined();
    expect(auth.authenticate({})).toBeUndefined();
  });

  it('reads a plain identity header whole', () => {
    const auth = new IdentityAuthenticator('x-mesh-identity', new Map([['checkout.shop', 'shop']]));
    expect(auth.authenticate({ 'x-mesh-identity': ' checkout.shop ' })?.tenant).toBe('shop');
  });
});
