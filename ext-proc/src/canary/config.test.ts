import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { allowedKeysAt } from '../config/yaml-source.js';
import { CanaryConfigSchema, CanaryListSchema, resolveCanary } from './config.js';

const minimal = { name: 'llama-v2', stable: 'llama-3.3-70b', canary: 'llama-3.3-70b-v2', percent: 5 };

function issues(schema: typeof CanaryConfigSchema | typeof CanaryListSchema, value: unknown) {
  const r = schema.safeParse(value);
  expect(r.success).toBe(false);
  return r.error!.issues.map((i) => ({ path: i.path, message: i.message, code: i.code }));
}

describe('CanaryConfigSchema', () => {
  it('turns the YAML form into the camelCase config', () => {
    const doc = parse(`
name: llama-3.3-v2
tenant: acme
stable: llama-3.3-70b
canary: llama-3.3-70b-v2
percent: 12.5
slo: { p95_ms: 1500, max_error_rate: 0.02 }
window_seconds: 120
min_samples: 50
`);
    expect(CanaryConfigSchema.parse(doc)).toEqual({
      name: 'llama-3.3-v2',
      tenant: 'acme',
      stable: 'llama-3.3-70b',
      canary: 'llama-3.3-70b-v2',
      percent: 12.5,
      slo: { p95Ms: 1500, maxErrorRate: 0.02 },
      windowSeconds: 120,
      minSamples: 50,
    });
  });

  it('leaves absent fields absent, and the defaults fill them in', () => {
    const c = CanaryConfigSchema.parse(minimal);
    expect(c).toEqual(minimal);
    expect(resolveCanary(c)).toEqual({ ...minimal, tenant: undefined, p95Ms: 2000, maxErrorRate: 0.05, windowSeconds: 60, minSamples: 20 });
    expect(resolveCanary(CanaryConfigSchema.parse({ ...minimal, slo: { p95_ms: 900 } }))).toMatchObject({ p95Ms: 900, maxErrorRate: 0.05 });
  });

  it('rejects a percent outside 0..100 and accepts both ends', () => {
    expect(issues(CanaryConfigSchema, { ...minimal, percent: 101 })).toEqual([expect.objectContaining({ path: ['percent'], code: 'too_big' })]);
    expect(issues(CanaryConfigSchema, { ...minimal, percent: -1 })).toEqual([expect.objectContaining({ path: ['percent'], code: 'too_small' })]);
    expect(CanaryConfigSchema.safeParse({ ...minimal, percent: 0 }).success).toBe(true);
    expect(CanaryConfigSchema.safeParse({ ...minimal, percent: 100 }).success).toBe(true);
  });

  it('rejects a canary that is the stable model', () => {
    const found = issues(CanaryConfigSchema, { ...minimal, canary: minimal.stable });
    expect(found).toEqual([{ path: ['canary'], code: 'custom', message: 'canary must differ from stable (both are "llama-3.3-70b")' }]);
  });

  it('rejects unknown keys, out-of-range SLOs and windows, and missing fields', () => {
    expect(issues(CanaryConfigSchema, { ...minimal, precent: 5 })).toEqual([expect.objectContaining({ code: 'unrecognized_keys' })]);
    expect(issues(CanaryConfigSchema, { ...minimal, slo: { p95: 100 } })).toEqual([expect.objectContaining({ path: ['slo'], code: 'unrecognized_keys' })]);
    expect(issues(CanaryConfigSchema, { ...minimal, slo: { max_error_rate: 1.5 } })[0]!.path).toEqual(['slo', 'max_error_rate']);
    expect(issues(CanaryConfigSchema, { ...minimal, slo: { p95_ms: 0 } })[0]!.path).toEqual(['slo', 'p95_ms']);
    expect(issues(CanaryConfigSchema, { ...minimal, window_seconds: 0.5 })[0]!.path).toEqual(['window_seconds']);
    expect(issues(CanaryConfigSchema, { ...minimal, min_samples: 0 })[0]!.path).toEqual(['min_samples']);
    expect(issues(CanaryConfigSchema, { ...minimal, tenant: 'has space' })[0]!.path).toEqual(['tenant']);
    const { stable: _omit, ...noStable } = minimal;
    expect(issues(CanaryConfigSchema, noStable)[0]).toMatchObject({ path: ['stable'], code: 'invalid_type' });
  });

  it('lets the YAML loaders suggest the allowed keys through the transform', () => {
    expect(allowedKeysAt(CanaryConfigSchema, [])).toEqual(['name', 'tenant', 'stable', 'canary', 'percent', 'slo', 'window_seconds', 'min_samples']);
    expect(allowedKeysAt(CanaryListSchema, [0, 'slo'])).toEqual(['p95_ms', 'max_error_rate']);
  });
});

describe('CanaryListSchema', () => {
  it('accepts a tenant canary beside an every-tenant canary of the same model', () => {
    const list = [minimal, { ...minimal, name: 'llama-acme', tenant: 'acme' }];
    expect(CanaryListSchema.parse(list)).toHaveLength(2);
  });

  it('rejects duplicate names and two canaries splitting the same model for the same tenants', () => {
    const found = issues(CanaryListSchema, [
      minimal,
      { ...minimal, canary: 'other-model' },
      { ...minimal, name: 'b', tenant: 'acme' },
      { ...minimal, name: 'c', tenant: 'acme', canary: 'x' },
    ]);
    expect(found).toEqual([
      expect.objectContaining({ path: [1, 'name'], message: 'duplicate canary name "llama-v2" (also entry 1)' }),
      expect.objectContaining({ path: [1, 'stable'], message: '"llama-3.3-70b" for every tenant is already split by canary "llama-v2"' }),
      expect.objectContaining({ path: [3, 'stable'], message: '"llama-3.3-70b" for tenant acme is already split by canary "b"' }),
    ]);
  });
});
