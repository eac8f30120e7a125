/**
 * Training the guard: the labelled batches' format, encoding (the very extractor used at run
 * time), logistic regression by SGD with L2, per-channel thresholds, and export to the weights file.
 *
 * Deterministic: the only randomness is the example order, drawn from a seeded PRNG (mulberry32),
 * and all arithmetic runs in a fixed order, so the same data and options give the same weights
 * file, byte for byte.
 *
 * Thresholds are never chosen on the scores a model gives its own training data (it has seen
 * those, they are too good). They come from out-of-batch scores: each training batch scored by a
 * model trained on the other training batches. Each batch was written by its own writer, who
 * never saw the others', so a model meets a new writer's style there, as it will in service.
 */
import { z } from 'zod';
import { parseJsonl } from '../../util/jsonl.js';
import { mulberry32 } from '../../util/mulberry32.js';
import { RecordingSink } from '../../util/recording-sink.js';
import { type Channel, DENSE_COUNT, DENSE_NAMES, featureFingerprint, GuardExtractor } from './features.js';
import {
  encodeBuckets,
  GUARD_WEIGHTS_FORMAT,
  GUARD_WEIGHTS_VERSION,
  type GuardModel,
  type GuardWeightsFile,
  GuardScorer,
  parseGuardModel,
  sigmoid,
  WINDOW_CHARS,
  WINDOW_STRIDE,
} from './model.js';

// ---------------------------------------------------------------------------------------------------
// Data set

export const GuardExampleSchema = z.strictObject({
  id: z.string().min(1),
  lang: z.enum(['en', 'es']),
  channel: z.enum(['user', 'data']),
  /** 1 = prompt injection or jailbreak attempt, 0 = not. */
  label: z.union([z.literal(0), z.literal(1)]),
  /** The writer's own name for the kind of example (free text). */
  kind: z.string().min(1),
  text: z.string().min(1),
});
export type GuardExample = z.infer<typeof GuardExampleSchema>;

/** Parses a JSONL batch; throws naming file:line on the first bad line or a duplicate id. */
export function parseGuardDataset(text: string, source: string): GuardExample[] {
  return parseJsonl(text, source, GuardExampleSchema);
}

// ---------------------------------------------------------------------------------------------------
// Encoding

export interface EncodedExample {
  /** Hashed buckets and their signed, scaled values. */
  idx: Int32Array;
  val: Float32Array;
  dense: Float32Array;
  label: 0 | 1;
  channel: Channel;
}

/** Encodings of each example object, per hash size (encoding does not depend on the training options). */
const encoded = new Map<number, WeakMap<GuardExample, EncodedExample>>();

export function encodeExamples(examples: readonly GuardExample[], hashBits: number): EncodedExample[] {
  let cache = encoded.get(hashBits);
  if (!cache) encoded.set(hashBits, (cache = new WeakMap()));
  let extractor: GuardExtractor | undefined;
  return examples.map((ex) => {
    const hit = cache.get(ex);
    if (hit) return hit;
    extractor ??= new GuardExtractor((1 << hashBits) - 1);
    const sink = new RecordingSink();
    const dense = Float32Array.from(extractor.extract(ex.text, ex.channel, sink));
    const e: EncodedExample = { idx: Int32Array.from(sink.idx), val: Float32Array.from(sink.val), dense, label: ex.label, channel: ex.channel };
    cache.set(ex, e);
    return e;
  });
}

// ---------------------------------------------------------------------------------------------------
// SGD

export interface GuardTrainOptions {
  seed: number;
  epochs: number;
  /** Initial learning rate; decays as lr / (1 + lr·l2·t). */
  learningRate: number;
  /** L2 penalty per example step. */
  l2: number;
  hashBits: number;
}

export const DEFAULT_GUARD_TRAIN_OPTIONS: GuardTrainOptions = { seed: 20_260_601, epochs: 40, learningRate: 0.2, l2: 3e-4, hashBits: 18 };
/** The L2 penalties the nested selection chooses from (on training batches only). */
export const L2_GRID: readonly number[] = [1e-4, 3e-4, 1e-3];

export interface GuardWeights {
  hashBits: number;
  hashed: Float32Array;
  dense: Float32Array;
}

export function trainGuard(data: readonly EncodedExample[], opts: GuardTrainOptions): GuardWeights {
  const size = 1 << opts.hashBits;
  // Stored weights; the true weight is scale × stored (exact L2 decay without touching every weight).
  const hw = new Float64Array(size);
  const dw = new Float64Array(DENSE_COUNT);
  let scale = 1;
  const rand = mulberry32(opts.seed);
  const order = data.map((_, i) => i);
  let t = 0;
  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const tmp = order[i]!;
      order[i] = order[j]!;
      order[j] = tmp;
    }
    for (const n of order) {
      const ex = data[n]!;
      const lr = opts.learningRate / (1 + opts.learningRate * opts.l2 * t);
      t++;
      let z = 0;
      for (let f = 0; f < ex.idx.length; f++) z += ex.val[f]! * hw[ex.idx[f]!]!;
      for (let d = 0; d < DENSE_COUNT; d++) if (ex.dense[d] !== 0) z += ex.dense[d]! * dw[d]!;
      z *= scale;
      const g = sigmoid(z) - ex.label;
      scale *= 1 - lr * opts.l2;
      const step = (lr * g) / scale;
      for (let f = 0; f < ex.idx.length; f++) hw[ex.idx[f]!] = hw[ex.idx[f]!]! - step * ex.val[f]!;
      for (let d = 0; d < DENSE_COUNT; d++) if (ex.dense[d] !== 0) dw[d] = dw[d]! - step * ex.dense[d]!;
      if (scale < 1e-6) {
        for (let q = 0; q < size; q++) hw[q] = hw[q]! * scale;
        for (let q = 0; q < DENSE_COUNT; q++) dw[q] = dw[q]! * scale;
        scale = 1;
      }
    }
  }
  const hashed = new Float32Array(size);
  for (let q = 0; q < size; q++) hashed[q] = hw[q]! * scale;
  const dense = new Float32Array(DENSE_COUNT);
  for (let q = 0; q < DENSE_COUNT; q++) dense[q] = dw[q]! * scale;
  return { hashBits: opts.hashBits, hashed, dense };
}

// ---------------------------------------------------------------------------------------------------
// Thresholds

export interface Scored {
  /** The model's margin w·x (its logit). */
  margin: number;
  label: 0 | 1;
  channel: Channel;
}

/**
 * The threshold of one channel for a false-positive rate ≤ maxFpr on `scored`: as low as it can be
 * (catching the most) while at most ⌊maxFpr · negatives⌋ negatives reach it. As a probability.
 */
export function thresholdFor(scored: readonly Scored[], channel: Channel, maxFpr: number): number {
  const neg = scored
    .filter((s) => s.channel === channel && s.label === 0)
    .map((s) => s.margin)
    .sort((a, b) => b - a);
  if (neg.length === 0) throw new Error(`no negative ${channel} examples to choose a threshold on`);
  const allowed = Math.floor(maxFpr * neg.length);
  const m = neg[allowed]! + 1e-6;
  return clampProbability(sigmoid(m));
}

export function thresholdsFor(scored: readonly Scored[], maxFpr: number): Record<Channel, number> {
  return { user: thresholdFor(scored, 'user', maxFpr), data: thresholdFor(scored, 'data', maxFpr) };
}

const clampProbability = (p: number): number => Math.min(1 - 1e-9, Math.max(1e-9, p));

// ---------------------------------------------------------------------------------------------------
// Export

/** Hashed weights as int8 with one scale; buckets whose weight rounds to 0 are not shipped. */
export function quantizeGuard(w: GuardWeights): { buckets: number[]; q: Int8Array; scale: number } {
  let max = 0;
  for (let b = 0; b < w.hashed.length; b++) max = Math.max(max, Math.abs(w.hashed[b]!));
  const scale = max > 0 ? Number((max / 127).toPrecision(6)) : 0;
  const buckets: number[] = [];
  const values: number[] = [];
  if (scale > 0) {
    for (let b = 0; b < w.hashed.length; b++) {
      const q = Math.max(-127, Math.min(127, Math.round(w.hashed[b]! / scale)));
      if (q === 0) continue;
      buckets.push(b);
      values.push(q);
    }
  }
  return { buckets, q: Int8Array.from(values), scale };
}

export function toGuardWeightsFile(w: GuardWeights, thresholds: Record<Channel, number>, maxFpr: number, training: Record<string, unknown>): GuardWeightsFile {
  const { buckets, q, scale } = quantizeGuard(w);
  const dense: Record<string, number> = {};
  DENSE_NAMES.forEach((name, d) => {
    dense[name] = Number(w.dense[d]!.toFixed(4));
  });
  return {
    format: GUARD_WEIGHTS_FORMAT,
    version: GUARD_WEIGHTS_VERSION,
    features: featureFingerprint(),
    hashBits: w.hashBits,
    thresholds: { user: Number(thresholds.user.toPrecision(6)), data: Number(thresholds.data.toPrecision(6)) },
    maxFpr,
    dense,
    hashed: {
      rows: buckets.length,
      scale,
      buckets: encodeBuckets(buckets),
      weights: Buffer.from(q.buffer, q.byteOffset, q.byteLength).toString('base64'),
    },
    training,
  };
}

/** The model as it will ship (quantised, through the weights file and its loader). */
export function asShippedModel(w: GuardWeights, thresholds: Record<Channel, number>, maxFpr: number): GuardModel {
  return parseGuardModel(JSON.parse(JSON.stringify(toGuardWeightsFile(w, thresholds, maxFpr, {}))), '(in memory)');
}

/** Margins of `examples` under a shipped-form model, each text scored the way the gateway scores it. */
export function marginsOf(model: GuardModel, examples: readonly GuardExample[]): Scored[] {
  const scorer = new GuardScorer(model);
  return examples.map((ex) => {
    const s = scorer.score(ex.text, ex.channel);
    const p = Math.min(1 - 1e-15, Math.max(1e-15, s.probability));
    return { margin: Math.log(p / (1 - p)), label: ex.label, channel: ex.channel };
  });
}

// ---------------------------------------------------------------------------------------------------
// Out-of-batch scores and the choice of the L2 penalty

export interface Batch {
  name: string;
  examples: GuardExample[];
}

/**
 * The windows the scorer reads a long text in (model.ts), as texts of their own: a long
 * negative's windows are negatives too. Without them the model only ever sees long benign
 * documents whole, and their windows (what the gateway scores) look unlike anything it learnt.
 * Positives are not split: which window holds the injection is not labelled.
 */
export function windowExamples(examples: readonly GuardExample[]): GuardExample[] {
  const out: GuardExample[] = [];
  for (const ex of examples) {
    if (ex.label !== 0 || ex.text.length <= WINDOW_CHARS) continue;
    let cached = windowsOf.get(ex);
    if (!cached) {
      cached = [];
      for (let start = 0, k = 0; ; start += WINDOW_STRIDE, k++) {
        cached.push({ ...ex, id: `${ex.id}#w${k}`, text: ex.text.slice(start, start + WINDOW_CHARS) });
        if (start + WINDOW_CHARS >= ex.text.length) break;
      }
      windowsOf.set(ex, cached);
    }
    out.push(...cached);
  }
  return out;
}

/** The same window objects for the same example (the encoding cache is keyed by object). */
const windowsOf = new WeakMap<GuardExample, GuardExample[]>();

/** Trains on `examples` (and the windows of the long negatives) and returns the model in shipped form (thresholds left at 0.5). */
export function fitShipped(examples: readonly GuardExample[], opts: GuardTrainOptions): { weights: GuardWeights; model: GuardModel } {
  const weights = trainGuard(encodeExamples([...examples, ...windowExamples(examples)], opts.hashBits), opts);
  return { weights, model: asShippedModel(weights, { user: 0.5, data: 0.5 }, 0) };
}

/** Each batch scored by a model trained on the other batches (leave one batch out). */
export function outOfBatchScores(batches: readonly Batch[], opts: GuardTrainOptions): Scored[][] {
  return batches.map((held, i) => {
    const train = batches.filter((_, j) => j !== i).flatMap((b) => b.examples);
    return marginsOf(fitShipped(train, opts).model, held.examples);
  });
}

/** True-positive rate of `scored` at per-channel thresholds. */
export function tprAt(scored: readonly Scored[], thresholds: Record<Channel, number>): number {
  let pos = 0;
  let hit = 0;
  for (const s of scored) {
    if (s.label !== 1) continue;
    pos++;
    if (sigmoid(s.margin) >= thresholds[s.channel]) hit++;
  }
  return pos === 0 ? 0 : hit / pos;
}

export interface Selection {
  l2: number;
  thresholds: Record<Channel, number>;
  /** Per L2 candidate: the out-of-batch TPR at its own thresholds. */
  candidates: Array<{ l2: number; tpr: number }>;
}

/**
 * Picks the L2 penalty and the thresholds from the given (training) batches alone: for each
 * candidate, leave-one-batch-out scores over these batches, thresholds for FPR ≤ maxFpr per
 * channel on them, and the TPR there; the best TPR wins (ties: the stronger penalty).
 */
export function selectOnBatches(batches: readonly Batch[], opts: GuardTrainOptions, maxFpr: number, grid: readonly number[] = L2_GRID): Selection {
  let best: { l2: number; tpr: number; thresholds: Record<Channel, number> } | undefined;
  const candidates: Array<{ l2: number; tpr: number }> = [];
  for (const l2 of [...grid].sort((a, b) => b - a)) {
    const scored = outOfBatchScores(batches, { ...opts, l2 }).flat();
    const thresholds = thresholdsFor(scored, maxFpr);
    const tpr = tprAt(scored, thresholds);
    candidates.push({ l2, tpr: Number(tpr.toFixed(4)) });
    if (!best || tpr > best.tpr + 1e-9) best = { l2, tpr, thresholds };
  }
  return { l2: best!.l2, thresholds: best!.thresholds, candidates };
}

// ---------------------------------------------------------------------------------------------------
// Leave one batch out

export interface HeldOutItem {
  id: string;
  lang: 'en' | 'es';
  channel: Channel;
  kind: string;
  label: 0 | 1;
  /** The text's length in characters. */
  chars: number;
  /** The score as the gateway reports it: re-centred on the fold's threshold for the item's channel. */
  score: number;
  flagged: boolean;
}

export interface HeldOutFold {
  heldOut: string;
  trainedOn: string[];
  selection: Selection;
  items: HeldOutItem[];
}

/**
 * The honest figure: for each batch, a model and its thresholds chosen on the other batches alone
 * (selectOnBatches: the L2 penalty and FPR ≤ maxFpr thresholds from their own leave-one-batch-out
 * scores), trained on them, then scored on the held-out batch.
 */
export function leaveOneBatchOut(batches: readonly Batch[], opts: GuardTrainOptions, maxFpr: number, grid: readonly number[] = L2_GRID): HeldOutFold[] {
  return batches.map((held, i) => {
    const train = batches.filter((_, j) => j !== i);
    const selection = selectOnBatches(train, opts, maxFpr, grid);
    const { weights } = fitShipped(
      train.flatMap((b) => b.examples),
      { ...opts, l2: selection.l2 },
    );
    const model = asShippedModel(weights, selection.thresholds, maxFpr);
    const scorer = new GuardScorer(model);
    const items = held.examples.map((ex): HeldOutItem => {
      const s = scorer.score(ex.text, ex.channel);
      return { id: ex.id, lang: ex.lang, channel: ex.channel, kind: ex.kind, label: ex.label, chars: ex.text.length, score: s.score, flagged: s.score >= 0.5 };
    });
    return { heldOut: held.name, trainedOn: train.map((b) => b.name), selection, items };
  });
}
