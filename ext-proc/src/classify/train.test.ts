import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../config/paths.js';
import { parseClassifierModel } from './model.js';
import { Classifier } from './classify.js';
import { DEFAULT_TRAIN_OPTIONS, encodeExample, parseDataset, predict, toRequest, toWeightsFile, train } from './train.js';
import type { LabelledExample, TrainOptions } from './train.js';
import { COMPLEXITY_TIERS, DOMAINS } from './types.js';

const dataDir = path.join(repoRoot(), 'models', 'classifier');
const load = (name: string) => parseDataset(readFileSync(path.join(dataDir, name), 'utf8'), name);
const trainSet = load('train.jsonl');
const evalSet = load('eval.jsonl');

/** A small, fixed sample: every 8th training example. */
const sample = trainSet.filter((_, i) => i % 8 === 0);
const opts: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, epochs: 4, hashBits: 16 };

function weightsJson(examples: readonly LabelledExample[], o: TrainOptions): string {
  const w = train(
    examples.map((e) => encodeExample(e, o.hashBits)),
    o,
  );
  return JSON.stringify(toWeightsFile(w, { seed: o.seed }));
}

describe('training', () => {
  it('is deterministic: the same data and options give the same weights file, byte for byte', () => {
    const a = weightsJson(sample, opts);
    const b = weightsJson(sample, opts);
    expect(a).toBe(b);
    expect(a.length).toBeGreaterThan(1000);
  });

  it('depends on the seed (the example order) and on the data', () => {
    const a = weightsJson(sample, opts);
    expect(weightsJson(sample, { ...opts, seed: opts.seed + 1 })).not.toBe(a);
    expect(weightsJson(sample.slice(1), opts)).not.toBe(a);
  });

  it('learns its sample and exports a loadable model that agrees with the float weights', () => {
    const encoded = sample.map((e) => encodeExample(e, opts.hashBits));
    const w = train(encoded, opts);
    let ok = 0;
    for (const ex of encoded) if (predict(w, ex).tier === ex.tier) ok++;
    expect(ok / encoded.length).toBeGreaterThan(0.9);
    const clf = new Classifier(parseClassifierModel(JSON.parse(JSON.stringify(toWeightsFile(w, {}))), 'sample'));
    let agree = 0;
    sample.forEach((ex, i) => {
      if (COMPLEXITY_TIERS.indexOf(clf.classify(toRequest(ex)).tier) === predict(w, encoded[i]!).tier) agree++;
    });
    expect(agree / sample.length).toBeGreaterThan(0.95); // int8 quantisation and pruning change little
  });
});

describe('data sets', () => {
  it('parse, with line numbers on errors', () => {
    expect(() => parseDataset('{"id":"a","lang":"en","messages":[{"role":"user","content":"x"}],"tier":"easy","domain":"math"}\n', 'd.jsonl')).toThrow(
      /^d\.jsonl:1: tier:/,
    );
    expect(() => parseDataset('\n{oops}\n', 'd.jsonl')).toThrow(/^d\.jsonl:2: invalid JSON/);
    const line = '{"id":"a","lang":"es","messages":[{"role":"user","content":"hola"}],"tier":"simple","domain":"general"}';
    expect(() => parseDataset(`${line}\n${line}\n`, 'd.jsonl')).toThrow(/d\.jsonl:2: duplicate id "a"/);
  });

  it.each([
    ['train', trainSet, 600],
    ['eval', evalSet, 300],
  ] as const)('%s: big enough, English and Spanish about half each, every tier and domain, multi-turn included', (_, set, min) => {
    expect(set.length).toBeGreaterThanOrEqual(min);
    const en = set.filter((e) => e.lang === 'en').length;
    const es = set.filter((e) => e.lang === 'es').length;
    expect(Math.abs(en - es)).toBeLessThanOrEqual(set.length * 0.05);
    expect(en + es).toBeGreaterThanOrEqual(set.length * 0.98);
    for (const lang of ['en', 'es']) {
      for (const tier of COMPLEXITY_TIERS) {
        for (const domain of DOMAINS) expect(set.some((e) => e.lang === lang && e.tier === tier && e.domain === domain)).toBe(true);
      }
    }
    const multi = set.filter((e) => e.messages.filter((m) => m.role === 'user').length > 1);
    expect(multi.length).toBeGreaterThanOrEqual(set.length * 0.05);
  });

  it('train and eval are disjoint: no shared request, and no shared pasted material', () => {
    const key = (e: LabelledExample) => JSON.stringify(e.messages);
    const trainKeys = new Set(trainSet.map(key));
    expect(evalSet.filter((e) => trainKeys.has(key(e)))).toEqual([]);
    // Long texts (pasted material) must not be reused across the two sets, even with other instructions.
    const paragraphs = (set: readonly LabelledExample[]) =>
      new Set(set.flatMap((e) => e.messages.flatMap((m) => (typeof m.content === 'string' ? m.content.split('\n\n').filter((p) => p.length > 120) : []))));
    const trainParas = paragraphs(trainSet);
    expect([...paragraphs(evalSet)].filter((p) => trainParas.has(p))).toEqual([]);
    // And no single user turn is repeated verbatim.
    const turns = (set: readonly LabelledExample[]) =>
      new Set(set.flatMap((e) => e.messages.filter((m) => m.role === 'user' && typeof m.content === 'string').map((m) => m.content as string)));
    const trainTurns = turns(trainSet);
    expect([...turns(evalSet)].filter((t) => trainTurns.has(t) && t.length > 25)).toEqual([]);
  });
});
