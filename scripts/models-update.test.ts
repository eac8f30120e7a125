/*
 * `npm run models:update` as an operator runs it: report, write, run again (nothing left to do),
 * fetch from a URL, and refuse (leaving the file as it was) whatever would not load.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadCatalog } from '../ext-proc/src/catalog/load.js';
import { repoRoot } from '../ext-proc/src/config/paths.js';
import { main } from './models-update.js';

const FIXTURES = path.join(repoRoot(), 'ext-proc', 'src', 'catalog', 'update', 'fixtures');
const LITELLM = path.join(FIXTURES, 'litellm.json');
const OPENROUTER = path.join(FIXTURES, 'openrouter.json');

let dir: string;
let catalog: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gw-models-update-'));
  catalog = path.join(dir, 'catalog.yaml');
  copyFileSync(path.join(FIXTURES, 'catalog.yaml'), catalog);
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {}, { write: (s: string) => (out += s) }, { write: (s: string) => (err += s) });
  return { code, out, err };
}

describe('models:update', () => {
  it('prints the diff and leaves the catalog alone without --write', async () => {
    const before = readFileSync(catalog, 'utf8');
    const r = await run('--from', LITELLM, '--catalog', catalog);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('source: ');
    expect(r.out).toContain('(litellm)');
    expect(r.out).toMatch(/price changes \(USD per 1M tokens\):\n {2}openai gpt-4o: input 2\.5 -> 2\.75, output 10 -> 11, cached_input 1\.25 -> 1\.375\n/);
    expect(r.out).toContain('  groq llama-3.3-70b-versatile: context_window 131072 -> 262144, max_output_tokens 32768 -> 65536');
    expect(r.out).toContain('  openai gpt-9-preview: $2 in / $16 out, 1000000 context, tier premium (a guess)');
    expect(r.out).toMatch(/absent from the source \(kept; --prune removes them\):\n {2}groq llama-3\.1-8b-instant\n/);
    expect(r.out).toContain('summary: 2 price change(s), 1 context change(s), 1 new (1 addable), 1 absent');
    expect(r.out).toContain('not written (pass --write)');
    expect(readFileSync(catalog, 'utf8')).toBe(before);
  });

  it('with --write rewrites the catalog so that it loads, and a second run has nothing to change', async () => {
    const r = await run('--from', LITELLM, '--catalog', catalog, '--write');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('written: 3 model(s) updated, 0 added, 0 removed');
    const after = loadCatalog(catalog);
    expect(after.find('gpt-4o')!.pricing).toEqual({ inputPerMTok: 2.75, outputPerMTok: 11, cachedInputPerMTok: 1.375 });
    expect(readFileSync(catalog, 'utf8')).toContain('cache_ttl_seconds: 600 # hand-set: answers of this model stay 10 minutes');
    const again = await run('--from', LITELLM, '--catalog', catalog, '--write');
    expect(again.out).toContain('summary: 0 price change(s), 0 context change(s)');
    expect(again.out).toContain('nothing to change');
  });

  it('never changes an entry pinned with a `models:update: keep` comment', async () => {
    const text = readFileSync(catalog, 'utf8').replace('  - id: gpt-4o\n', '  # models:update: keep (a negotiated rate)\n  - id: gpt-4o\n');
    writeFileSync(catalog, text);
    const r = await run('--from', LITELLM, '--catalog', catalog, '--write');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('gpt-4o: pinned (# models:update: keep), left as written');
    expect(loadCatalog(catalog).find('gpt-4o')!.pricing).toEqual({ inputPerMTok: 2.5, outputPerMTok: 10, cachedInputPerMTok: 1.25 });
    expect(loadCatalog(catalog).find('llama-3.3-70b-versatile')!.contextWindow).toBe(262144);
  });

  it('--dry-run checks the rewrite but writes nothing', async () => {
    const before = readFileSync(catalog, 'utf8');
    const r = await run('--from', LITELLM, '--catalog', catalog, '--write', '--dry-run', '--add-new', '--prune');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('not written (dry run): would be 3 model(s) updated, 1 added, 1 removed; the result loads');
    expect(readFileSync(catalog, 'utf8')).toBe(before);
  });

  it('reads an OpenRouter list from a URL', async () => {
    const server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(readFileSync(OPENROUTER));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/models`;
      const r = await run('--from', url, '--catalog', catalog, '--write', '--add-new');
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('(openrouter)');
      const after = loadCatalog(catalog);
      expect(after.find('meta-llama/llama-3.3-70b-instruct')!.pricing).toMatchObject({ inputPerMTok: 0.12, outputPerMTok: 0.3 });
      expect(after.find('openrouter/anthropic/claude-sonnet-4')).toMatchObject({ upstreamId: 'anthropic/claude-sonnet-4', tier: 'premium' });
      expect(readFileSync(catalog, 'utf8')).toContain(`# Added by models:update from ${url} on `);
    } finally {
      server.close();
    }
  });

  it('refuses a prune that would break the routing policies beside the catalog, and writes nothing', async () => {
    writeFileSync(
      path.join(dir, 'routing.yaml'),
      'policies:\n  default:\n    tiers:\n      simple: [llama-3.1-8b-instant]\n      medium: [gpt-4o-mini]\n      complex: [gpt-5]\n',
    );
    const before = readFileSync(catalog, 'utf8');
    const r = await run('--from', LITELLM, '--catalog', catalog, '--write', '--prune');
    expect(r.code).toBe(1);
    expect(r.err).toContain('routing.yaml would no longer load against the rewritten catalog, so it was not written');
    expect(r.err).toMatch(/routing\.yaml:4:16: policy default: tiers\.simple\[0\]: unknown model "llama-3\.1-8b-instant"/);
    expect(readFileSync(catalog, 'utf8')).toBe(before);
  });

  it('fails with one clear line on a source of the wrong shape, and on bad usage', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"models": []}');
    const r = await run('--from', bad, '--catalog', catalog, '--format', 'openrouter');
    expect(r.code).toBe(1);
    expect(r.err).toBe('models:update: not an OpenRouter model list: expected {"data": [...]} as GET /api/v1/models answers\n');
    expect((await run('--catalog', catalog)).code).toBe(2);
    expect((await run('--from', LITELLM, '--format', 'csv')).code).toBe(2);
    expect((await run('--from', LITELLM, '--catalog', catalog, '--prune')).code).toBe(2);
    const missing = await run('--from', path.join(dir, 'nope.json'), '--catalog', catalog);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/nope\.json: cannot read/);
  });
});
