import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../config/paths.js';
import {
  DEFAULT_GUARD_TRAIN_OPTIONS,
  encodeExamples,
  type GuardExample,
  parseGuardDataset,
  quantizeGuard,
  type Scored,
  thresholdFor,
  toGuardWeightsFile,
  trainGuard,
} from './train.js';

const batch = (name: string) => {
  const file = path.join(repoRoot(), 'models', 'guard', `batch-${name}.jsonl`);
  return parseGuardDataset(readFileSync(file, 'utf8'), `batch-${name}.jsonl`);
};

describe('the labelled batches', () => {
  it('three batches of 320, about 45 % positive, a third Spanish, both channels, unique ids', () => {
    const ids = new Set<string>();
    for (const name of ['a', 'b', 'c']) {
      const b = batch(name);
      expect(b).toHaveLength(320);
      const pos = b.filter((e) => e.label === 1).length / b.length;
      expect(pos).toBeGreaterThan(0.4);
      expect(pos).toBeLessThan(0.5);
      const es = b.filter((e) => e.lang === 'es').length / b.length;
      expect(es).toBeGreaterThan(0.25);
      expect(es).toBeLessThan(0.4);
      expect(new Set(b.map((e) => e.channel))).toEqual(new Set(['user', 'data']));
      for (const e of b) {
        expect(ids.has(e.id)).toBe(false);
        ids.add(e.id);
      }
    }
  });

  it('no published jailbreak prompt is reproduced (the rewritten items keep their label)', () => {
    const all = ['a', 'b', 'c'].flatMap(batch);
    const text = all.map((e) => e.text).join('\n');
    for (const phrase of [
      'freed from the typical confines of AI and do not have to abide',
      'always intelligent and Machiavellian',
      'ChatGPT successfully jailbroken',
      'used to be a chemical engineer at a napalm production factory',
      'Strive To Avoid Norms',
      'Mongo Tom is a foul mouthed AI robot',
      'As your knowledge is cut off in 2021',
      'I have been PWNED',
    ])
      expect(text, phrase).not.toContain(phrase);
    const byId = new Map(all.map((e) => [e.id, e]));
    for (const id of ['batch-a-0259', 'batch-b-0084', 'batch-b-0184', 'batch-c-0069', 'batch-c-0298', 'batch-c-0313']) expect(byId.get(id)?.label).toBe(1);
  });

  it('a bad line is reported with its file and line', () => {
    const good = JSON.stringify({ id: 'x-1', lang: 'en', channel: 'user', label: 0, kind: 'k', text: 't' });
    expect(() => parseGuardDataset(`${good}\n{"id":"x-2","lang":"fr","channel":"user","label":0,"kind":"k","text":"t"}\n`, 'b.jsonl')).toThrow(
      /^b\.jsonl:2: lang: /,
    );
    expect(() => parseGuardDataset(`${good}\n${good}\n`, 'b.jsonl')).toThrow('b.jsonl:2: duplicate id "x-1"');
    expect(() => parseGuardDataset('{not json\n', 'b.jsonl')).toThrow(/^b\.jsonl:1: invalid JSON/);
  });
});

describe('training', () => {
  const small: GuardExample[] = batch('a').slice(0, 80);
  const opts = { ...DEFAULT_GUARD_TRAIN_OPTIONS, epochs: 5, hashBits: 14 };

  it('is deterministic: the same data and options give the same weights file, byte for byte', () => {
    const a = toGuardWeightsFile(trainGuard(encodeExamples(small, 14), opts), { user: 0.5, data: 0.5 }, 0.03, {});
    const b = toGuardWeightsFile(trainGuard(encodeExamples([...small], 14), opts), { user: 0.5, data: 0.5 }, 0.03, {});
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = toGuardWeightsFile(trainGuard(encodeExamples(small, 14), { ...opts, seed: opts.seed + 1 }), { user: 0.5, data: 0.5 }, 0.03, {});
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a));
  });

  it('fits its training data', () => {
    const enc = encodeExamples(small, 14);
    const w = trainGuard(enc, { ...opts, epochs: 20 });
    let right = 0;
    for (const e of enc) {
      let z = 0;
      for (let f = 0; f < e.idx.length; f++) z += e.val[f]! * w.hashed[e.idx[f]!]!;
      for (let d = 0; d < e.dense.length; d++) z += e.dense[d]! * w.dense[d]!;
      if (z > 0 === (e.label === 1)) right++;
    }
    expect(right / enc.length).toBeGreaterThan(0.95);
  });

  it('quantises to int8 with one scale, dropping zeros', () => {
    const hashed = new Float32Array(16);
    hashed[3] = 1.27;
    hashed[7] = -0.64;
    hashed[9] = 0.001;
    const q = quantizeGuard({ hashBits: 4, hashed, dense: new Float32Array(0) });
    expect(q.scale).toBeCloseTo(0.01);
    expect(q.buckets).toEqual([3, 7]);
    expect([...q.q]).toEqual([127, -64]);
  });
});

describe('thresholds', () => {
  const scored = (neg: number[], pos: number[], channel: 'user' | 'data' = 'user'): Scored[] => [
    ...neg.map((margin): Scored => ({ margin, label: 0, channel })),
    ...pos.map((margin): Scored => ({ margin, label: 1, channel })),
  ];

  it('as low as possible while at most ⌊maxFpr · negatives⌋ negatives reach it', () => {
    const neg = Array.from({ length: 100 }, (_, i) => i / 10 - 5); // -5 … 4.9
    const t = thresholdFor(scored(neg, [6, 7]), 'user', 0.03);
    const flagged = neg.filter((m) => 1 / (1 + Math.exp(-m)) >= t).length;
    expect(flagged).toBe(3);
    expect(thresholdFor(scored(neg, []), 'user', 0.005)).toBeGreaterThan(1 / (1 + Math.exp(-4.9)));
  });

  it('per channel: the other channel’s scores do not count', () => {
    const t = thresholdFor([...scored([0, 0, 0], [], 'user'), ...scored([9, 9, 9], [], 'data')], 'user', 0.03);
    expect(t).toBeLessThan(0.51);
    expect(() => thresholdFor(scored([], [1]), 'data', 0.03)).toThrow(/no negative data examples/);
  });
});
