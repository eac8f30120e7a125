/**
 * The guard's trained model: weights file format, loading, and scoring a text.
 *
 * `models/guard/weights.json` holds one logistic regression over the features of features.ts:
 * the dense cue weights by name (readable), the hashed weights packed (non-zero buckets as base64
 * LEB128 deltas, weights as base64 int8 with one scale), and a decision threshold per channel
 * (chosen at training time for a false-positive rate ≤ `maxFpr`, see train.ts).
 *
 * Loading expands the hashed weights into one Int8Array of 2^hashBits (256 KiB for 18 bits): a
 * feature costs one array read. A text longer than the window is normalised once and scored window
 * by window (with overlap); its score is the highest: an instruction hidden in a long document is
 * not diluted by the document around it.
 *
 * Scores: p = σ(w·x) is the model's probability; what the gateway reports is p re-centred on the
 * channel's threshold, σ(w·x − logit(threshold)), so 0.50 is the verdict line in both channels and
 * scores of a user turn and of a tool result compare.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { decodeBuckets as unpackBuckets } from '../../util/bucket-packing.js';

export { encodeBuckets } from '../../util/bucket-packing.js';
import { type Channel, DENSE_COUNT, DENSE_NAMES, featureFingerprint, GuardExtractor, type GuardSink, type PreparedText } from './features.js';

export const GUARD_WEIGHTS_FORMAT = 'llm-gateway-guard';
export const GUARD_WEIGHTS_VERSION = 1;

/**
 * Texts longer than this (normalised) are scored in windows of this many characters (a few
 * paragraphs: an instruction buried in a long document is a large part of its window)…
 * Chosen on batches a–g (windows of 700, 1,000, 1,500, 2,000, 3,000 and 4,000 characters, each
 * with the windows of long negative examples added to training, train.ts); h–j were not used.
 */
export const WINDOW_CHARS = 1500;
/** …each starting this many characters after the previous one (half a window of overlap). */
export const WINDOW_STRIDE = 750;

const Probability = z.number().gt(0).lt(1);

export const GuardWeightsSchema = z.strictObject({
  format: z.literal(GUARD_WEIGHTS_FORMAT),
  version: z.literal(GUARD_WEIGHTS_VERSION),
  features: z.string(),
  hashBits: z.int().min(10).max(24),
  /** Per-channel threshold on p, and the false-positive rate it was chosen for. */
  thresholds: z.strictObject({ user: Probability, data: Probability }),
  maxFpr: z.number().min(0).max(1),
  dense: z.record(z.string(), z.number()),
  hashed: z.strictObject({
    rows: z.int().min(0),
    scale: z.number().min(0),
    buckets: z.string(),
    weights: z.string(),
  }),
  training: z.record(z.string(), z.unknown()).optional(),
});
export type GuardWeightsFile = z.infer<typeof GuardWeightsSchema>;

export class GuardModelError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = 'GuardModelError';
  }
}

export interface GuardModel {
  hashBits: number;
  mask: number;
  /** bucket → int8 weight; the weight is q × scale. */
  q: Int8Array;
  scale: number;
  dense: Float32Array;
  thresholds: Record<Channel, number>;
  /** logit(threshold) per channel: subtracted from the margin to re-centre the score. */
  offsets: Record<Channel, number>;
  maxFpr: number;
  training: Record<string, unknown> | undefined;
}

// ---------------------------------------------------------------------------------------------------
// Packing (shared with training)

export const logit = (p: number): number => Math.log(p / (1 - p));
export const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

// ---------------------------------------------------------------------------------------------------
// Loading

export function parseGuardModel(json: unknown, source: string): GuardModel {
  const parsed = GuardWeightsSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new GuardModelError(source, `not a guard weights file: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`);
  }
  const w = parsed.data;
  const expected = featureFingerprint();
  if (w.features !== expected) {
    throw new GuardModelError(source, `trained for feature set ${w.features}, this code extracts ${expected}: retrain with npm run train:guard`);
  }
  for (const name of Object.keys(w.dense)) if (!DENSE_NAMES.includes(name)) throw new GuardModelError(source, `dense: unknown feature "${name}"`);
  const dense = new Float32Array(DENSE_COUNT);
  DENSE_NAMES.forEach((name, i) => {
    const v = w.dense[name];
    if (v === undefined) throw new GuardModelError(source, `dense: missing feature "${name}"`);
    dense[i] = v;
  });
  const size = 1 << w.hashBits;
  const buckets = unpackBuckets(w.hashed.buckets, w.hashed.rows, (m) => new GuardModelError(source, m));
  const bytes = Buffer.from(w.hashed.weights, 'base64');
  if (bytes.length !== w.hashed.rows) throw new GuardModelError(source, `hashed.weights: ${bytes.length} bytes for ${w.hashed.rows} rows`);
  const q = new Int8Array(size);
  const values = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let r = 0; r < buckets.length; r++) {
    const b = buckets[r]!;
    if (b >= size) throw new GuardModelError(source, `hashed.buckets: bucket ${b} outside 2^${w.hashBits}`);
    q[b] = values[r]!;
  }
  const thresholds = { user: w.thresholds.user, data: w.thresholds.data };
  return {
    hashBits: w.hashBits,
    mask: size - 1,
    q,
    scale: w.hashed.scale,
    dense,
    thresholds,
    offsets: { user: logit(thresholds.user), data: logit(thresholds.data) },
    maxFpr: w.maxFpr,
    training: w.training,
  };
}

export function loadGuardModel(path: string): GuardModel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GuardModelError(path, `cannot read guard weights: ${e instanceof Error ? e.message : String(e)} (train them with npm run train:guard)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new GuardModelError(path, `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseGuardModel(json, path);
}

// ---------------------------------------------------------------------------------------------------
// Scoring

/** One text's score: the model's probability and the same re-centred on the channel's threshold. */
export interface TextScore {
  /** σ(margin): the model's probability that the text is an injection or a jailbreak. */
  probability: number;
  /** σ(margin − logit(threshold)): ≥ 0.5 exactly when the text is over its channel's threshold. */
  score: number;
}

/** Scores texts with one model. Holds the extractor's buffers: one instance per thread of use. */
export class GuardScorer implements GuardSink {
  private readonly extractor: GuardExtractor;
  private margin = 0;
  private group = 0;

  constructor(readonly model: GuardModel) {
    this.extractor = new GuardExtractor(model.mask);
  }

  begin(): void {
    this.group = 0;
  }

  add(bucket: number, sign: number): void {
    this.group += sign * this.model.q[bucket]!;
  }

  end(scale: number): void {
    this.margin += scale * this.model.scale * this.group;
  }

  /** The model's margin w·x for one text, scored whole. */
  marginOf(text: string, channel: Channel): number {
    const p = this.extractor.prepare(text);
    return this.rangeMargin(p, 0, p.length, channel);
  }

  private rangeMargin(p: PreparedText, start: number, end: number, channel: Channel): number {
    this.margin = 0;
    const d = this.extractor.extractRange(p, start, end, channel, this);
    const w = this.model.dense;
    let m = this.margin;
    for (let i = 0; i < DENSE_COUNT; i++) if (d[i] !== 0) m += d[i]! * w[i]!;
    return m;
  }

  /** A text's score: whole, or the highest of its windows when it is longer than one. */
  score(text: string, channel: Channel): TextScore {
    const p = this.extractor.prepare(text);
    let m = -Infinity;
    if (p.length <= WINDOW_CHARS) m = this.rangeMargin(p, 0, p.length, channel);
    else {
      for (let start = 0; ; start += WINDOW_STRIDE) {
        const end = Math.min(p.length, start + WINDOW_CHARS);
        m = Math.max(m, this.rangeMargin(p, start, end, channel));
        if (end >= p.length) break;
      }
    }
    return { probability: sigmoid(m), score: sigmoid(m - this.model.offsets[channel]) };
  }
}
