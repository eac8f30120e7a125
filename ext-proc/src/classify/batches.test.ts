/*
 * The routing data as the spec asks for it: independently written batches that look like
 * production traffic (size, languages, shape, every domain × tier cell), checked on the files.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../config/paths.js';
import { languageGroup, loadBatches } from './batches.js';
import { COMPLEXITY_TIERS, DOMAINS } from './types.js';

const batches = loadBatches(path.join(repoRoot(), 'models', 'classifier', 'batches'));
const all = batches.flatMap((b) => b.examples);

function chars(messages: ReadonlyArray<{ content: unknown }>): number {
  let n = 0;
  for (const m of messages) n += typeof m.content === 'string' ? m.content.length : JSON.stringify(m.content ?? '').length;
  return n;
}

describe('routing data batches', () => {
  it('has at least 8 independently written batches and 3,000 requests', () => {
    expect(batches.length).toBeGreaterThanOrEqual(8);
    expect(all.length).toBeGreaterThanOrEqual(3000);
    for (const b of batches) expect(b.examples.length, b.source).toBeGreaterThanOrEqual(300);
  });

  it('is at least 40 % Spanish and has Portuguese, French and German', () => {
    const count = (l: string) => all.filter((e) => e.lang === l).length;
    expect(count('es') / all.length).toBeGreaterThanOrEqual(0.4);
    for (const l of ['pt', 'fr', 'de']) expect(count(l), l).toBeGreaterThanOrEqual(50);
  });

  it('looks like production traffic: long, with system prompts, multi-turn, tools, JSON mode', () => {
    const lengths = all.map((e) => chars(e.messages)).sort((a, b) => a - b);
    expect(lengths[Math.floor(lengths.length / 2)]!).toBeGreaterThan(1000);
    expect(lengths.at(-1)!).toBeGreaterThan(30_000);
    expect(lengths[0]!).toBeLessThan(100);
    const share = (f: (e: (typeof all)[number]) => boolean) => all.filter(f).length / all.length;
    expect(share((e) => e.messages.some((m) => m.role === 'system'))).toBeGreaterThanOrEqual(0.6);
    expect(share((e) => e.messages.slice(0, -1).some((m) => m.role === 'assistant' || m.role === 'user'))).toBeGreaterThanOrEqual(0.25);
    expect(all.filter((e) => e.tools !== undefined || e.messages.some((m) => m.role === 'tool')).length).toBeGreaterThanOrEqual(200);
    expect(all.filter((e) => e.response_format !== undefined).length).toBeGreaterThanOrEqual(150);
  });

  it('fills every domain × tier cell in English, Spanish and the other languages', () => {
    for (const lang of ['en', 'es', 'other'] as const) {
      for (const d of DOMAINS) {
        for (const t of COMPLEXITY_TIERS) {
          const n = all.filter((e) => languageGroup(e.lang) === lang && e.domain === d && e.tier === t).length;
          expect(n, `${lang} ${d} ${t}`).toBeGreaterThanOrEqual(lang === 'other' ? 3 : 10);
        }
      }
    }
  });

  it('shares no request between batches (no last user turn of 40 characters or more is in two batches)', () => {
    const seen = new Map<string, string>();
    const dup: string[] = [];
    for (const e of all) {
      const last = [...e.messages].reverse().find((m) => m.role === 'user');
      const key = JSON.stringify(last?.content ?? '');
      // "thanks!" may well come from two authors.
      if (key.length < 40) continue;
      const other = seen.get(key);
      if (other && other.split('-')[1] !== e.id.split('-')[1]) dup.push(`${other} / ${e.id}`);
      seen.set(key, e.id);
    }
    expect(dup).toEqual([]);
  });

  it('refuses an item filed in another batch and an id used twice', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-batches-'));
    const line = (id: string, batch: string) =>
      JSON.stringify({ id, batch, lang: 'en', messages: [{ role: 'user', content: 'hi' }], tier: 'simple', domain: 'general' });
    writeFileSync(path.join(dir, 'batch-x.jsonl'), `${line('x-1', 'y')}\n`);
    expect(() => loadBatches(dir)).toThrow(/batch-x\.jsonl:1: item x-1 says batch "y", the file is batch x/);
    writeFileSync(path.join(dir, 'batch-x.jsonl'), `${line('x-1', 'x')}\n`);
    writeFileSync(path.join(dir, 'batch-y.jsonl'), `${line('x-1', 'y')}\n`);
    expect(() => loadBatches(dir)).toThrow(/batch-y\.jsonl:1: id x-1 is also in/);
  });
});
