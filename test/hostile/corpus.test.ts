/* The corpus itself: big enough, every API and family covered, names unique, known failures real. */
import { describe, expect, it } from 'vitest';
import { buildCorpus, MIN_CASES } from './corpus.js';
import { KNOWN_FAILURES } from './known-failures.js';
import { APIS, FAMILIES } from './types.js';

const corpus = buildCorpus();

describe('hostile corpus', () => {
  it(`holds at least ${MIN_CASES} cases`, () => {
    expect(corpus.length).toBeGreaterThanOrEqual(MIN_CASES);
  });

  it('names every case uniquely', () => {
    const seen = new Map<string, number>();
    for (const c of corpus) seen.set(c.name, (seen.get(c.name) ?? 0) + 1);
    expect([...seen].filter(([, n]) => n > 1).map(([name]) => name)).toEqual([]);
  });

  it('covers every family for every inbound API', () => {
    const missing: string[] = [];
    for (const api of APIS) for (const f of FAMILIES) if (!corpus.some((c) => c.api === api && c.family === f)) missing.push(`${f}/${api}`);
    expect(missing).toEqual([]);
  });

  it('lists as known failures only cases that exist', () => {
    const names = new Set(corpus.map((c) => c.name));
    expect(Object.keys(KNOWN_FAILURES).filter((n) => !names.has(n))).toEqual([]);
  });
});
