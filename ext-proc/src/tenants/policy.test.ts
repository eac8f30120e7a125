import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../catalog/load.js';
import { loadTenantPolicies, parseTenantPolicies, TenantPolicyError } from './policy.js';

const EXAMPLE = fileURLToPath(new URL('../../../models/tenants.example.yaml', import.meta.url));
const CATALOG = fileURLToPath(new URL('../../../models/catalog.yaml', import.meta.url));

function errorOf(text: string, opts: Parameters<typeof parseTenantPolicies>[2] = {}): TenantPolicyError {
  try {
    parseTenantPolicies(text, 'tenants.yaml', opts);
  } catch (err) {
    expect(err).toBeInstanceOf(TenantPolicyError);
    return err as TenantPolicyError;
  }
  throw new Error('expected a TenantPolicyError');
}

describe('tenant policies: valid files', () => {
  it('parses the shipped example into camelCase runtime policies', () => {
    const policies = parseTenantPolicies(
      [
        'tenants:',
        '  acme:',
        '    limits: { rpm: 600, tpm: 200000, usd_per_day: 50, usd_per_month: 1000 }',
        '    models: [gpt-4o-mini, llama-3.3-70b-versatile]   # allow-list',
        '    cache: { enabled: true, ttl_seconds: 3600 }',
      ].join('\n'),
      'tenants.yaml',
    );
    const acme = policies.get('acme');
    expect(acme?.limits).toEqual({ rpm: 600, tpm: 200000, usdPerDay: 50, usdPerMonth: 1000 });
    expect([...(acme?.models ?? [])]).toEqual(['gpt-4o-mini', 'llama-3.3-70b-versatile']);
    expect(acme?.cache).toEqual({ enabled: true, ttlSeconds: 3600 });
    expect(Object.isFrozen(acme)).toBe(true);
  });

  it('absent sections mean: no limits, all models, gateway cache default', () => {
    const p = parseTenantPolicies('tenants:\n  beta: {}\n  gamma:\n    cache: { enabled: false }\n', 'x.yaml');
    expect(p.get('beta')).toEqual({ limits: {} });
    expect(p.get('beta')?.models).toBeUndefined();
    expect(p.get('beta')?.cache).toBeUndefined();
    expect(p.get('gamma')?.cache).toEqual({ enabled: false });
    expect(p.has('nobody')).toBe(false);
  });

  it('an empty or comment-only file, an undefined path and a missing file give no policies', () => {
    expect(parseTenantPolicies('', 'x.yaml').size).toBe(0);
    expect(parseTenantPolicies('# nothing yet\n', 'x.yaml').size).toBe(0);
    expect(parseTenantPolicies('tenants: {}\n', 'x.yaml').size).toBe(0);
    expect(loadTenantPolicies(undefined).size).toBe(0);
    expect(loadTenantPolicies('/nonexistent/tenants.yaml').size).toBe(0);
  });

  it('mustExist turns a missing file into an error naming the path', () => {
    expect(() => loadTenantPolicies('/nonexistent/tenants.yaml', { mustExist: true })).toThrow(
      /^\/nonexistent\/tenants\.yaml: cannot read tenant policies: ENOENT/,
    );
  });

  it('the shipped example is valid against the real catalog', () => {
    const catalog = loadCatalog(CATALOG);
    const p = loadTenantPolicies(EXAMPLE, { resolveModel: (n) => catalog.find(n)?.id, mustExist: true });
    expect([...p.keys()]).toEqual(['acme', 'globex', 'initech', 'hospital']);
    expect(p.get('globex')?.cache).toEqual({ enabled: false });
  });

  it('pii and pii_restore; absent pii means the gateway default', () => {
    const p = parseTenantPolicies(
      ['tenants:', '  a: { pii: redact, pii_restore: true }', '  b: { pii: detect }', '  c: { pii: "off" }', '  d: { pii_restore: true }', '  e: {}'].join(
        '\n',
      ),
      'x.yaml',
    );
    expect(p.get('a')).toMatchObject({ pii: 'redact', piiRestore: true });
    expect(p.get('b')?.pii).toBe('detect');
    expect(p.get('c')?.pii).toBe('off');
    // Restoring applies when PII_MODE=redact supplies the mode.
    expect(p.get('d')).toMatchObject({ piiRestore: true });
    expect(p.get('d')?.pii).toBeUndefined();
    expect(p.get('e')?.pii).toBeUndefined();
  });

  it('guard per tenant; absent guard means the gateway default (GUARD_MODE)', () => {
    const p = parseTenantPolicies(['tenants:', '  a: { guard: block }', '  b: { guard: monitor }', '  c: { guard: off }', '  d: {}'].join('\n'), 'x.yaml');
    expect(p.get('a')?.guard).toBe('block');
    expect(p.get('b')?.guard).toBe('monitor');
    expect(p.get('c')?.guard).toBe('off');
    expect(p.get('d')?.guard).toBeUndefined();
  });

  it('an unknown guard mode is an error naming file, line and tenant', () => {
    const err = errorOf(['tenants:', '  a:', '    guard: strict', '  b:', '    guard: true'].join('\n'));
    expect(err.issues.map((i) => i.message)).toEqual([
      'tenants.yaml:3:12: tenant a: guard: expected one of off, monitor, block, got string "strict"',
      'tenants.yaml:5:12: tenant b: guard: expected one of off, monitor, block, got boolean true',
    ]);
  });

  it('with a model resolver, aliases become catalog ids', () => {
    const ids: Record<string, string> = { 'gpt-4o-mini': 'gpt-4o-mini', 'llama-3.3-70b': 'llama-3.3-70b-versatile' };
    const p = parseTenantPolicies('tenants:\n  a:\n    models: [gpt-4o-mini, llama-3.3-70b]\n', 'x.yaml', { resolveModel: (n) => ids[n] });
    expect([...(p.get('a')?.models ?? [])]).toEqual(['gpt-4o-mini', 'llama-3.3-70b-versatile']);
  });

  it('loads from a file path and names that path in errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tenants-'));
    try {
      const file = path.join(dir, 't.yaml');
      writeFileSync(file, 'tenants:\n  acme:\n    limits: { rpm: 10 }\n');
      expect(loadTenantPolicies(file).get('acme')?.limits.rpm).toBe(10);
      writeFileSync(file, 'tenants:\n  acme:\n    limits: { rpm: -1 }\n');
      expect(() => loadTenantPolicies(file)).toThrow(`${file}:3:20: tenant acme: limits.rpm: expected number > 0, got number -1`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tenant policies: invalid files name file:line and the tenant', () => {
  it('a non-positive limit', () => {
    const err = errorOf('tenants:\n  acme:\n    limits:\n      rpm: 0\n');
    expect(err.message).toBe('tenants.yaml:4:12: tenant acme: limits.rpm: expected number > 0, got number 0');
    expect(err.issues[0]?.line).toBe(4);
    expect(err.issues[0]?.path).toEqual(['tenants', 'acme', 'limits', 'rpm']);
  });

  it('a misspelt key, with a suggestion and the allowed keys', () => {
    const err = errorOf('tenants:\n  acme:\n    limits:\n      usd_per_dya: 5\n');
    expect(err.message).toBe(
      'tenants.yaml:4:7: tenant acme: limits.usd_per_dya: unknown key "usd_per_dya" (did you mean "usd_per_day"?) (allowed: rpm, tpm, usd_per_day, usd_per_month)',
    );
  });

  it('a misspelt section under a tenant and at the root', () => {
    const err = errorOf('tenant:\n  acme: {}\n');
    expect(err.issues.map((i) => i.message)).toEqual([
      'tenants.yaml:1:1: tenants: missing required field (expected a mapping)',
      'tenants.yaml:1:1: tenant: unknown key "tenant" (did you mean "tenants"?) (allowed: tenants)',
    ]);
    const err2 = errorOf('tenants:\n  acme:\n    model: [gpt-4o]\n');
    expect(err2.message).toMatch(/^tenants\.yaml:3:5: tenant acme: model: unknown key "model" \(did you mean "models"\?\)/);
  });

  it('wrong types: a string rpm, a fractional tpm, a non-boolean cache flag, a scalar tenant', () => {
    const err = errorOf(['tenants:', '  acme:', '    limits: { rpm: "600", tpm: 1.5 }', '    cache: { enabled: yes }', '  beta: 3'].join('\n'));
    expect(err.issues.map((i) => i.message)).toEqual([
      'tenants.yaml:3:20: tenant acme: limits.rpm: expected number, got string "600"',
      'tenants.yaml:3:32: tenant acme: limits.tpm: expected integer, got number 1.5',
      'tenants.yaml:4:23: tenant acme: cache.enabled: expected boolean, got string "yes"',
      'tenants.yaml:5:9: tenant beta: expected a mapping, got number 3',
    ]);
  });

  it('missing cache.enabled points at the cache mapping', () => {
    const err = errorOf('tenants:\n  acme:\n    cache: { ttl_seconds: 60 }\n');
    expect(err.message).toBe('tenants.yaml:3:12: tenant acme: cache.enabled: missing required field (expected boolean)');
  });

  it('an empty or duplicated allow-list', () => {
    const err = errorOf('tenants:\n  acme:\n    models: []\n  beta:\n    models: [a, b, a]\n');
    expect(err.issues.map((i) => i.message)).toEqual([
      'tenants.yaml:3:13: tenant acme: models: an empty allow-list would refuse every model; omit `models` to allow all catalog models',
      'tenants.yaml:5:20: tenant beta: models[2]: model "a" is listed twice',
    ]);
  });

  it('an unknown model when a resolver is given', () => {
    const err = errorOf('tenants:\n  acme:\n    models:\n      - gpt-4o-mini\n      - gpt-4o-mnii\n', {
      resolveModel: (n) => (n === 'gpt-4o-mini' ? n : undefined),
    });
    expect(err.message).toBe('tenants.yaml:5:9: tenant acme: models[1]: unknown model "gpt-4o-mnii" (not in the model catalog)');
  });

  it('a bad tenant name', () => {
    const err = errorOf('tenants:\n  "acme corp": {}\n');
    expect(err.message).toMatch(/^tenants\.yaml:2:3: tenant acme corp: invalid tenant name "acme corp": tenant names may only use/);
  });

  it('a daily budget above the monthly one', () => {
    const err = errorOf('tenants:\n  acme:\n    limits: { usd_per_day: 100, usd_per_month: 50 }\n');
    expect(err.message).toBe(
      'tenants.yaml:3:28: tenant acme: limits.usd_per_day: usd_per_day (100) exceeds usd_per_month (50); the daily budget could never be reached',
    );
  });

  it('an unknown pii mode, a non-boolean pii_restore, restoring without redaction', () => {
    const err = errorOf(['tenants:', '  a:', '    pii: mask', '  b:', '    pii_restore: "yes"', '  c:', '    pii: detect', '    pii_restore: true'].join('\n'));
    expect(err.issues.map((i) => i.message)).toEqual([
      'tenants.yaml:3:10: tenant a: pii: expected one of off, detect, redact, got string "mask"',
      'tenants.yaml:5:18: tenant b: pii_restore: expected boolean, got string "yes"',
    ]);
    const cross = errorOf(['tenants:', '  c:', '    pii: detect', '    pii_restore: true'].join('\n'));
    expect(cross.message).toBe('tenants.yaml:4:18: tenant c: pii_restore: pii_restore needs pii: redact (this tenant has pii: detect)');
  });

  it('YAML syntax errors and duplicate tenants', () => {
    expect(errorOf('tenants:\n  acme: {limits: {rpm: 1}\n').message).toMatch(/^tenants\.yaml:\d+:\d+: YAML syntax error: /);
    expect(errorOf('tenants:\n  acme: {}\n  acme: {}\n').message).toMatch(/^tenants\.yaml:3:3: YAML syntax error: Map keys must be unique/);
  });

  it('reports every problem, in file order', () => {
    const err = errorOf('tenants:\n  a:\n    limits: { rpm: -1 }\n  b:\n    limits: { tpm: 0 }\n    cache: { enabled: 1 }\n');
    expect(err.issues.map((i) => i.line)).toEqual([3, 5, 6]);
    expect(err.issues.map((i) => i.message.split(': ')[1])).toEqual(['tenant a', 'tenant b', 'tenant b']);
  });
});
