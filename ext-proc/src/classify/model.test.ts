import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultWeightsPath } from './classify.js';
import { DENSE_NAMES } from './features.js';
import { ClassifierModelError, N_OUT, decodeBuckets, encodeBuckets, loadClassifierModel, parseClassifierModel } from './model.js';
import type { WeightsFile } from './model.js';

const path = defaultWeightsPath();
const shipped = (): WeightsFile => JSON.parse(readFileSync(path, 'utf8')) as WeightsFile;

describe('shipped weights', () => {
  it('load, and are small', () => {
    const m = loadClassifierModel(path);
    expect(m.rows).toBeGreaterThan(1000);
    expect(m.hashed.length).toBe(m.rows * N_OUT);
    expect(m.dense.length).toBe(DENSE_NAMES.length * N_OUT);
    expect(m.rowOf.length).toBe(1 << m.hashBits);
    // About 1 MiB since it learns from 3,000+ long requests with character n-grams: still loaded
    // once, from the repository, never downloaded.
    expect(statSync(path).size).toBeLessThan(1536 * 1024);
    // every row is reachable from exactly one bucket
    const seen = new Set<number>();
    for (const r of m.rowOf) if (r !== 0) seen.add(r);
    expect(seen.size).toBe(m.rows);
  });

  it('say how they were trained', () => {
    const t = shipped().training!;
    expect(t.data).toBe('models/classifier/batches');
    expect(t.examples).toBeGreaterThanOrEqual(3000);
    // The tier head's temperature, fitted on held-out batches.
    expect(shipped().calibration?.tierTemperature).toBeGreaterThan(0);
    expect(typeof t.seed).toBe('number');
  });
});

describe('weights validation', () => {
  const expectError = (w: unknown, message: RegExp) => {
    expect(() => parseClassifierModel(w, 'w.json')).toThrow(ClassifierModelError);
    expect(() => parseClassifierModel(w, 'w.json')).toThrow(message);
  };

  it('refuses weights trained for another feature set', () => {
    expectError({ ...shipped(), features: '00000000-00000000' }, /trained for feature set 00000000-00000000.*retrain/);
  });

  it('refuses a file that is not a weights file', () => {
    expectError({ hello: 'world' }, /w\.json: not a classifier weights file/);
    expectError({ ...shipped(), version: 2 }, /not a classifier weights file: version/);
  });

  it('refuses missing or unknown dense features', () => {
    const w = shipped();
    const { bias: _bias, ...rest } = w.dense;
    expectError({ ...w, dense: rest }, /dense: missing feature "bias"/);
    expectError({ ...w, dense: { ...w.dense, made_up: new Array(N_OUT).fill(0) } }, /dense: unknown feature "made_up"/);
  });

  it('refuses truncated or inconsistent hashed weights', () => {
    const w = shipped();
    expectError({ ...w, hashed: { ...w.hashed, rows: w.hashed.rows + 1 } }, /hashed.buckets: truncated/);
    expectError({ ...w, hashed: { ...w.hashed, weights: Buffer.from([1, 2, 3]).toString('base64') } }, /hashed.weights: 3 bytes/);
  });

  it('names the file when it cannot be read or parsed', () => {
    expect(() => loadClassifierModel('/nonexistent/weights.json')).toThrow(/\/nonexistent\/weights.json: cannot read classifier weights.*train:classifier/);
  });
});

describe('bucket packing', () => {
  it('round-trips increasing bucket lists, including big gaps', () => {
    const buckets = [0, 1, 2, 130, 131, 20_000, 262_143];
    expect(Array.from(decodeBuckets(encodeBuckets(buckets), buckets.length, 'x'))).toEqual(buckets);
    expect(() => decodeBuckets(encodeBuckets(buckets), buckets.length - 1, 'x')).toThrow(/bytes left/);
  });
});
