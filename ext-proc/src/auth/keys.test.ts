import { describe, expect, it } from 'vitest';
import { extractKey, KeyConfigError, KeyStore, parseGatewayKeys } from './keys.js';

describe('parseGatewayKeys', () => {
  it('refuses one key given to two tenants, naming the entry', () => {
    expect(() => parseGatewayKeys('a:same-key-123,b:same-key-123')).toThrow(/entry 2 \(tenant b\).*already given/);
  });

  it('parses tenant:key pairs, trimming whitespace and skipping empty entries', () => {
    const store = parseGatewayKeys(' acme:gw-key-acme-1 , beta.co_2:gw-key-beta-2,,');
    expect(store.size).toBe(2);
    expect(store.lookup('gw-key-acme-1')?.tenant).toBe('acme');
    expect(store.lookup('gw-key-beta-2')?.tenant).toBe('beta.co_2');
  });

  it('an empty spec gives an empty store', () => {
    expect(parseGatewayKeys('').size).toBe(0);
    expect(parseGatewayKeys(' , ').size).toBe(0);
  });

  it('a key may itself contain colons (split at the first one)', () => {
    const store = parseGatewayKeys('acme:sk:with:colons');
    expect(store.lookup('sk:with:colons')?.tenant).toBe('acme');
  });

  it('several keys may belong to one tenant, with distinct key ids', () => {
    const store = parseGatewayKeys('acme:first-key-123,acme:second-key-456');
    const a = store.lookup('first-key-123');
    const b = store.lookup('second-key-456');
    expect(a?.tenant).toBe('acme');
    expect(b?.tenant).toBe('acme');
    expect(a?.keyId).not.toBe(b?.keyId);
  });

  it.each([
    ['acme', /entry 1 must look like tenant:key/],
    [':gw-key-12345', /entry 1 must look like tenant:key/],
    ['acme:', /entry 1 must look like tenant:key/],
    ['acme:   ', /entry 1 must look like tenant:key/],
    ['ok:gw-key-12345,bad entry', /entry 2 must look like tenant:key/],
    ['ac me:gw-key-12345', /entry 1: tenant "ac me" may only use letters, digits/],
    ['acme/x:gw-key-12345', /tenant "acme\/x"/],
    [`${'t'.repeat(65)}:gw-key-12345`, /max 64/],
    ['acme:short', /entry 1 \(tenant acme\): key must be at least 8 characters/],
  ])('rejects %j with a message naming the entry', (spec, message) => {
    expect(() => parseGatewayKeys(spec)).toThrow(KeyConfigError);
    expect(() => parseGatewayKeys(spec)).toThrow(message);
  });

  it('error messages never echo the key itself', () => {
    try {
      parseGatewayKeys('acme:secret7');
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain('secret7');
    }
  });
});

describe('KeyStore', () => {
  it('looks keys up exactly (case-sensitive, no trimming, no prefix match)', () => {
    const store = new KeyStore();
    store.add('acme', 'Gw-Key-Abc-123');
    expect(store.lookup('Gw-Key-Abc-123')).toEqual({ tenant: 'acme', keyId: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(store.lookup('gw-key-abc-123')).toBeUndefined();
    expect(store.lookup('Gw-Key-Abc-12')).toBeUndefined();
    expect(store.lookup(' Gw-Key-Abc-123')).toBeUndefined();
    expect(store.lookup('')).toBeUndefined();
  });

  it('the key id is a non-secret hash prefix, stable across stores', () => {
    const a = new KeyStore();
    const b = new KeyStore();
    a.add('x', 'gw-key-stable-1');
    b.add('y', 'gw-key-stable-1');
    const id = a.lookup('gw-key-stable-1')!.keyId;
    expect(id).toBe(b.lookup('gw-key-stable-1')!.keyId);
    expect('gw-key-stable-1').not.toContain(id);
  });
});

describe('extractKey', () => {
  const q = (s: string) => new URLSearchParams(s);

  it('Authorization: Bearer (OpenAI SDKs)', () => {
    expect(extractKey({ authorization: 'Bearer gw-abc' }, undefined)).toBe('gw-abc');
    expect(extractKey({ authorization: 'bearer   gw-abc  ' }, undefined)).toBe('gw-abc');
    expect(extractKey({ authorization: 'BEARER gw-abc' }, undefined)).toBe('gw-abc');
  });

  it('x-api-key (Anthropic SDKs)', () => {
    expect(extractKey({ 'x-api-key': 'gw-anth' }, undefined)).toBe('gw-anth');
  });

  it('x-goog-api-key (Gemini SDKs)', () => {
    expect(extractKey({ 'x-goog-api-key': 'gw-goog' }, undefined)).toBe('gw-goog');
  });

  it('?key= query parameter (Gemini REST)', () => {
    expect(extractKey({}, q('alt=sse&key=gw-query'))).toBe('gw-query');
  });

  it('Bearer wins over the other places', () => {
    expect(extractKey({ authorization: 'Bearer gw-1', 'x-api-key': 'gw-2', 'x-goog-api-key': 'gw-3' }, q('key=gw-4'))).toBe('gw-1');
    expect(extractKey({ 'x-api-key': 'gw-2', 'x-goog-api-key': 'gw-3' }, q('key=gw-4'))).toBe('gw-2');
    expect(extractKey({ 'x-goog-api-key': 'gw-3' }, q('key=gw-4'))).toBe('gw-3');
  });

  it('a non-Bearer Authorization falls through to the other places', () => {
    expect(extractKey({ authorization: 'Basic dXNlcjpwYXNz' }, undefined)).toBeUndefined();
    expect(extractKey({ authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'gw-2' }, undefined)).toBe('gw-2');
    expect(extractKey({ authorization: 'Bearer ' }, undefined)).toBeUndefined();
    expect(extractKey({ authorization: 'Bearer' }, undefined)).toBeUndefined();
  });

  it('nothing, or empty values, gives undefined', () => {
    expect(extractKey({}, undefined)).toBeUndefined();
    expect(extractKey({ 'x-api-key': '', 'x-goog-api-key': '' }, q('key='))).toBeUndefined();
    expect(extractKey({}, q('other=1'))).toBeUndefined();
  });
});
