/**
 * The trained linear model: weights file format, loading, and scoring.
 *
 * `models/classifier/weights.json` holds two multinomial logistic-regression heads (tier: 3
 * classes, domain: 9 classes) over one feature space: the named dense features (stored readable,
 * by name, as floats) and the hashed word features (stored packed: only non-zero buckets, bucket
 * numbers as base64 LEB128 deltas, weights as base64 int8 with one scale per output column).
 *
 * Loading builds a dense bucket → row table (Uint16Array of 2^hashBits: 512 KiB for 18 bits) once,
 * so a feature lookup on the hot path is a single array read; the weights stay int8 in memory
 * (rows × 12 bytes) and are summed as integers, scaled per column once per namespace.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DENSE_COUNT, DENSE_NAMES, featureFingerprint } from './features.js';
import type { FeatureSink } from './features.js';
import { COMPLEXITY_TIERS, DOMAINS } from './types.js';
import { decodeBuckets as unpackBuckets } from '../util/bucket-packing.js';

export { encodeBuckets } from '../util/bucket-packing.js';

export const WEIGHTS_FORMAT = 'llm-gateway-classifier';
export const WEIGHTS_VERSION = 1;
/** Output columns: tier head then domain head. */
export const N_TIER = COMPLEXITY_TIERS.length;
export const N_DOMAIN = DOMAINS.length;
export const N_OUT = N_TIER + N_DOMAIN;

export const WeightsFileSchema = z.strictObject({
  format: z.literal(WEIGHTS_FORMAT),
  version: z.literal(WEIGHTS_VERSION),
  features: z.string(),
  hashBits: z.int().min(10).max(24),
  tiers: z.array(z.string()),
  domains: z.array(z.string()),
  dense: z.record(z.string(), z.array(z.number()).length(N_OUT)),
  hashed: z.strictObject({
    rows: z.int().min(0),
    scales: z.array(z.number().min(0)).length(N_OUT),
    buckets: z.string(),
    weights: z.string(),
  }),
  training: z.record(z.string(), z.unknown()).optional(),
  /** Temperature of the tier head, fitted on held-out batches (probabilities = softmax(logits / T)). */
  calibration: z.strictObject({ tierTemperature: z.number().positive() }).optional(),
});
export type WeightsFile = z.infer<typeof WeightsFileSchema>;

export class ClassifierModelError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'ClassifierModelError';
  }
}

export interface ClassifierModel {
  hashBits: number;
  mask: number;
  /** bucket → row + 1 (0: the bucket has no weights). Uint16Array while rows < 65,535. */
  rowOf: Uint16Array | Int32Array;
  /** rows × N_OUT hashed weights, int8 as stored; column k is worth q × scales[k]. */
  hashed: Int8Array;
  /** Dequantisation scale of each output column. */
  scales: Float64Array;
  /** DENSE_COUNT × N_OUT dense weights. */
  dense: Float32Array;
  rows: number;
  training: Record<string, unknown> | undefined;
  /** The tier head's temperature (1: uncalibrated). */
  tierTemperature: number;
}

// ---------------------------------------------------------------------------------------------------
// Packing

/** The classifier's packed buckets, its own error naming the weights file. */
export function decodeBuckets(b64: string, rows: number, source: string): Int32Array {
  return unpackBuckets(b64, rows, (m) => new ClassifierModelError(source, m));
}

// ---------------------------------------------------------------------------------------------------
// Loading

export function parseClassifierModel(json: unknown, source: string): ClassifierModel {
  const parsed = WeightsFileSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ClassifierModelError(source, `not a classifier weights file: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`);
  }
  const w = parsed.data;
  const expected = featureFingerprint();
  if (w.features !== expected) {
    throw new ClassifierModelError(source, `trained for feature set ${w.features}, this code extracts ${expected}: retrain with npm run train:classifier`);
  }
  if (w.tiers.join() !== COMPLEXITY_TIERS.join() || w.domains.join() !== DOMAINS.join()) {
    throw new ClassifierModelError(source, `labels differ from the code's (tiers ${w.tiers.join('/')}, domains ${w.domains.join('/')})`);
  }
  const dense = new Float32Array(DENSE_COUNT * N_OUT);
  for (const name of Object.keys(w.dense)) {
    if (!DENSE_NAMES.includes(name)) throw new ClassifierModelError(source, `dense: unknown feature "${name}"`);
  }
  DENSE_NAMES.forEach((name, i) => {
    const row = w.dense[name];
    if (!row) throw new ClassifierModelError(source, `dense: missing feature "${name}"`);
    dense.set(row, i * N_OUT);
  });
  const rows = w.hashed.rows;
  const size = 1 << w.hashBits;
  const buckets = decodeBuckets(w.hashed.buckets, rows, source);
  const q = Buffer.from(w.hashed.weights, 'base64');
  if (q.length !== rows * N_OUT) throw new ClassifierModelError(source, `hashed.weights: ${q.length} bytes, expected ${rows} × ${N_OUT}`);
  const hashed = new Int8Array(rows * N_OUT);
  hashed.set(new Int8Array(q.buffer, q.byteOffset, q.byteLength));
  const rowOf = rows < 0xffff ? new Uint16Array(size) : new Int32Array(size);
  for (let r = 0; r < rows; r++) {
    const b = buckets[r]!;
    if (b >= size) throw new ClassifierModelError(source, `hashed.buckets: bucket ${b} outside 2^${w.hashBits}`);
    rowOf[b] = r + 1;
  }
  const scales = Float64Array.from(w.hashed.scales);
  return {
    hashBits: w.hashBits,
    mask: size - 1,
    rowOf,
    hashed,
    scales,
    dense,
    rows,
    training: w.training,
    tierTemperature: w.calibration?.tierTemperature ?? 1,
  };
}

export function loadClassifierModel(path: string): ClassifierModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ClassifierModelError(
      path,
      `cannot read classifier weights: ${e instanceof Error ? e.message : String(e)} (train them with npm run train:classifier)`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ClassifierModelError(path, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseClassifierModel(json, path);
}

// ---------------------------------------------------------------------------------------------------
// Scoring

/** Accumulates the model's logits while the extractor streams features (no per-call allocation). */
export class ScoringSink implements FeatureSink {
  readonly logits = new Float64Array(N_OUT);
  private readonly tmp = new Float64Array(N_OUT);
  private readonly rowOf: Uint16Array | Int32Array;
  private readonly hashed: Int8Array;
  private readonly scales: Float64Array;
  private readonly dense: Float32Array;

  constructor(model: ClassifierModel) {
    this.rowOf = model.rowOf;
    this.hashed = model.hashed;
    this.scales = model.scales;
    this.dense = model.dense;
  }

  reset(): void {
    this.logits.fill(0);
  }

  begin(): void {
    this.tmp.fill(0);
  }

  add(bucket: number, sign: number): void {
    const r = this.rowOf[bucket]!;
    if (r === 0) return;
    const w = this.hashed;
    const t = this.tmp;
    const base = (r - 1) * N_OUT;
    for (let k = 0; k < N_OUT; k++) t[k] = t[k]! + sign * w[base + k]!;
  }

  end(scale: number): void {
    const t = this.tmp;
    const l = this.logits;
    const s = this.scales;
    for (let k = 0; k < N_OUT; k++) l[k] = l[k]! + scale * s[k]! * t[k]!;
  }

  addDense(dense: Float32Array): void {
    const w = this.dense;
    const l = this.logits;
    for (let d = 0; d < DENSE_COUNT; d++) {
      const x = dense[d]!;
      if (x === 0) continue;
      const base = d * N_OUT;
      for (let k = 0; k < N_OUT; k++) l[k] = l[k]! + x * w[base + k]!;
    }
  }
}

/** In-place softmax of logits[from, from + n). */
export function softmaxInPlace(v: Float64Array, from: number, n: number): void {
  let max = -Infinity;
  for (let k = from; k < from + n; k++) if (v[k]! > max) max = v[k]!;
  let sum = 0;
  for (let k = from; k < from + n; k++) {
    const e = Math.exp(v[k]! - max);
    v[k] = e;
    sum += e;
  }
  for (let k = from; k < from + n; k++) v[k] = v[k]! / sum;
}

export function argmax(v: ArrayLike<number>, from: number, n: number): number {
  let best = from;
  for (let k = from + 1; k < from + n; k++) if (v[k]! > v[best]!) best = k;
  return best - from;
}
