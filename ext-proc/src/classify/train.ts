/**
 * Training the classifier: labelled data set format, feature encoding (the very extractor used at
 * run time), multinomial logistic regression by SGD with L2, and export to the weights file.
 *
 * Deterministic: the only randomness is the example order, drawn from a seeded PRNG (mulberry32);
 * all arithmetic is in a fixed order, so the same data and options give the same weights file,
 * byte for byte.
 */
import { z } from 'zod';
import { parseJsonl } from '../util/jsonl.js';
import { DEFAULT_LONG_CONTEXT_TOKENS, DENSE_COUNT, DENSE_NAMES, extract, featureFingerprint } from './features.js';
import { N_DOMAIN, N_OUT, N_TIER, WEIGHTS_FORMAT, WEIGHTS_VERSION, encodeBuckets, softmaxInPlace } from './model.js';
import type { WeightsFile } from './model.js';
import { COMPLEXITY_TIERS, DOMAINS } from './types.js';
import type { Capabilities, ChatMessageLike, ClassifyRequest, ComplexityTier, Domain } from './types.js';
import { mulberry32 } from '../util/mulberry32.js';
import { RecordingSink } from '../util/recording-sink.js';

// ---------------------------------------------------------------------------------------------------
// Data set

const MessageSchema = z.object({ role: z.string().min(1), content: z.unknown() }).passthrough();

/** Languages a labelled request may be written in (the classifier itself reports en / es / other). */
export const DATA_LANGUAGES = ['en', 'es', 'pt', 'fr', 'de', 'other'] as const;

export const ExampleSchema = z.strictObject({
  id: z.string().min(1),
  /** The independently written batch the request belongs to (models/classifier/batches/). */
  batch: z.string().min(1).optional(),
  lang: z.enum(DATA_LANGUAGES),
  messages: z.array(MessageSchema).min(1),
  tools: z.array(z.unknown()).optional(),
  response_format: z.unknown().optional(),
  max_tokens: z.int().positive().optional(),
  tier: z.enum(COMPLEXITY_TIERS),
  domain: z.enum(DOMAINS),
  /** Free-text note on why the label is what it is (hard cases). */
  note: z.string().optional(),
});
export type LabelledExample = z.infer<typeof ExampleSchema>;

/** Parses a JSONL data set; throws naming file:line on the first bad line or duplicate id. */
export function parseDataset(text: string, source: string): LabelledExample[] {
  return parseJsonl(text, source, ExampleSchema);
}

export function toRequest(ex: LabelledExample): ClassifyRequest {
  const req: ClassifyRequest = { messages: ex.messages as ChatMessageLike[] };
  if (ex.tools !== undefined) req.tools = ex.tools;
  if (ex.response_format !== undefined) req.response_format = ex.response_format;
  if (ex.max_tokens !== undefined) req.max_tokens = ex.max_tokens;
  return req;
}

// ---------------------------------------------------------------------------------------------------
// Encoding

export interface EncodedExample {
  /** Hashed feature buckets and their (signed, scaled) values; a bucket may repeat. */
  idx: Int32Array;
  val: Float32Array;
  dense: Float32Array;
  tier: number;
  domain: number;
}

/** A request's features, and what the classifier reports of it besides tier and domain (one extraction). */
export function encodeRequestAndFacts(
  req: ClassifyRequest,
  hashBits: number,
): { features: Omit<EncodedExample, 'tier' | 'domain'>; capabilities: Capabilities; estimatedTokens: number } {
  const sink = new RecordingSink();
  const x = extract(req, sink, { mask: (1 << hashBits) - 1, longContextTokens: DEFAULT_LONG_CONTEXT_TOKENS });
  return {
    features: { idx: Int32Array.from(sink.idx), val: Float32Array.from(sink.val), dense: Float32Array.from(x.dense) },
    capabilities: { tools: x.tools, vision: x.vision, json: x.json, longContext: x.longContext },
    estimatedTokens: x.estimatedTokens,
  };
}

export function encodeRequest(req: ClassifyRequest, hashBits: number): Omit<EncodedExample, 'tier' | 'domain'> {
  return encodeRequestAndFacts(req, hashBits).features;
}

export function encodeExample(ex: LabelledExample, hashBits: number): EncodedExample {
  return {
    ...encodeRequest(toRequest(ex), hashBits),
    tier: COMPLEXITY_TIERS.indexOf(ex.tier),
    domain: DOMAINS.indexOf(ex.domain),
  };
}

// ---------------------------------------------------------------------------------------------------
// SGD

export interface TrainOptions {
  seed: number;
  epochs: number;
  /** Initial learning rate; decays as lr / (1 + lr·l2·t). */
  learningRate: number;
  /** L2 penalty per example step. */
  l2: number;
  hashBits: number;
  /** Hashed features present in fewer training examples than this get no weight (default 1: all). */
  minCount?: number;
}

/** Rows whose largest quantised weight is below this are not shipped (see quantize). */
export const DEFAULT_MIN_LEVEL = 4;

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = { seed: 20_260_501, epochs: 20, learningRate: 0.5, l2: 1e-4, hashBits: 17 };

export interface TrainedWeights {
  hashBits: number;
  /** 2^hashBits × N_OUT. */
  hashed: Float32Array;
  /** DENSE_COUNT × N_OUT. */
  dense: Float32Array;
}

export function train(data: readonly EncodedExample[], opts: TrainOptions): TrainedWeights {
  const size = 1 << opts.hashBits;
  // Stored weights; the true weight is scale × stored (exact L2 decay without touching every weight).
  const hw = new Float64Array(size * N_OUT);
  const dw = new Float64Array(DENSE_COUNT * N_OUT);
  let scale = 1;
  const rand = mulberry32(opts.seed);
  const order = data.map((_, i) => i);
  const logits = new Float64Array(N_OUT);
  const grad = new Float64Array(N_OUT);
  // Document frequency of each bucket: rare features can be left out (they mostly memorise).
  const minCount = opts.minCount ?? 1;
  const allowed = new Uint8Array(size);
  if (minCount <= 1) allowed.fill(1);
  else {
    const df = new Uint16Array(size);
    const seen = new Int32Array(size).fill(-1);
    data.forEach((ex, n) => {
      for (const b of ex.idx) {
        if (seen[b] === n) continue;
        seen[b] = n;
        if (df[b]! < 0xffff) df[b] = df[b]! + 1;
      }
    });
    for (let b = 0; b < size; b++) if (df[b]! >= minCount) allowed[b] = 1;
  }
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
      forward(ex, hw, dw, scale, logits);
      softmaxInPlace(logits, 0, N_TIER);
      softmaxInPlace(logits, N_TIER, N_DOMAIN);
      for (let k = 0; k < N_OUT; k++) grad[k] = logits[k]!;
      grad[ex.tier] = grad[ex.tier]! - 1;
      grad[N_TIER + ex.domain] = grad[N_TIER + ex.domain]! - 1;
      scale *= 1 - lr * opts.l2;
      const step = lr / scale;
      for (let f = 0; f < ex.idx.length; f++) {
        if (allowed[ex.idx[f]!] === 0) continue;
        const base = ex.idx[f]! * N_OUT;
        const v = ex.val[f]! * step;
        for (let k = 0; k < N_OUT; k++) hw[base + k] = hw[base + k]! - v * grad[k]!;
      }
      for (let d = 0; d < DENSE_COUNT; d++) {
        const x = ex.dense[d]!;
        if (x === 0) continue;
        const base = d * N_OUT;
        const v = x * step;
        for (let k = 0; k < N_OUT; k++) dw[base + k] = dw[base + k]! - v * grad[k]!;
      }
      if (scale < 1e-6) {
        for (let q = 0; q < hw.length; q++) hw[q] = hw[q]! * scale;
        for (let q = 0; q < dw.length; q++) dw[q] = dw[q]! * scale;
        scale = 1;
      }
    }
  }
  const hashed = new Float32Array(size * N_OUT);
  for (let q = 0; q < hw.length; q++) hashed[q] = hw[q]! * scale;
  const dense = new Float32Array(DENSE_COUNT * N_OUT);
  for (let q = 0; q < dw.length; q++) dense[q] = dw[q]! * scale;
  return { hashBits: opts.hashBits, hashed, dense };
}

function forward(ex: EncodedExample, hw: ArrayLike<number>, dw: ArrayLike<number>, scale: number, out: Float64Array): void {
  out.fill(0);
  for (let f = 0; f < ex.idx.length; f++) {
    const base = ex.idx[f]! * N_OUT;
    const v = ex.val[f]!;
    for (let k = 0; k < N_OUT; k++) out[k] = out[k]! + v * hw[base + k]!;
  }
  for (let d = 0; d < DENSE_COUNT; d++) {
    const x = ex.dense[d]!;
    if (x === 0) continue;
    const base = d * N_OUT;
    for (let k = 0; k < N_OUT; k++) out[k] = out[k]! + x * dw[base + k]!;
  }
  for (let k = 0; k < N_OUT; k++) out[k] = out[k]! * scale;
}

/** The raw logits (tier head then domain head) of an encoded example under float weights. */
export function logitsOf(w: TrainedWeights, ex: Pick<EncodedExample, 'idx' | 'val' | 'dense'>): Float64Array {
  const out = new Float64Array(N_OUT);
  forward(ex as EncodedExample, w.hashed, w.dense, 1, out);
  return out;
}

/** Predicted (tier, domain) indices for an encoded example under float weights. */
export function predict(w: TrainedWeights, ex: EncodedExample): { tier: number; domain: number } {
  const out = new Float64Array(N_OUT);
  forward(ex, w.hashed, w.dense, 1, out);
  let tier = 0;
  for (let k = 1; k < N_TIER; k++) if (out[k]! > out[tier]!) tier = k;
  let domain = 0;
  for (let k = 1; k < N_DOMAIN; k++) if (out[N_TIER + k]! > out[N_TIER + domain]!) domain = k;
  return { tier, domain };
}

// ---------------------------------------------------------------------------------------------------
// Export

/**
 * Quantises the hashed weights to int8 (one scale per output column) and keeps only the rows whose
 * largest |q| reaches minLevel (1 = drop only the all-zero rows).
 */
export function quantize(w: TrainedWeights, minLevel = DEFAULT_MIN_LEVEL): { buckets: number[]; q: Int8Array; scales: number[] } {
  const size = 1 << w.hashBits;
  const scales: number[] = [];
  for (let k = 0; k < N_OUT; k++) {
    let max = 0;
    for (let b = 0; b < size; b++) max = Math.max(max, Math.abs(w.hashed[b * N_OUT + k]!));
    scales.push(max > 0 ? Number((max / 127).toPrecision(6)) : 0);
  }
  const buckets: number[] = [];
  const rows: number[] = [];
  for (let b = 0; b < size; b++) {
    let level = 0;
    for (let k = 0; k < N_OUT; k++) {
      const s = scales[k]!;
      if (s > 0) level = Math.max(level, Math.abs(Math.round(w.hashed[b * N_OUT + k]! / s)));
    }
    if (level < Math.max(1, minLevel)) continue;
    buckets.push(b);
    for (let k = 0; k < N_OUT; k++) {
      const s = scales[k]!;
      rows.push(s > 0 ? Math.max(-127, Math.min(127, Math.round(w.hashed[b * N_OUT + k]! / s))) : 0);
    }
  }
  return { buckets, q: Int8Array.from(rows), scales };
}

/** The float weights as the shipped file will hold them (quantised and pruned): for measuring. */
export function asShipped(w: TrainedWeights, minLevel = DEFAULT_MIN_LEVEL): TrainedWeights {
  const { buckets, q, scales } = quantize(w, minLevel);
  const hashed = new Float32Array(w.hashed.length);
  buckets.forEach((b, r) => {
    for (let k = 0; k < N_OUT; k++) hashed[b * N_OUT + k] = q[r * N_OUT + k]! * scales[k]!;
  });
  const dense = new Float32Array(w.dense.length);
  for (let i = 0; i < dense.length; i++) dense[i] = Number(w.dense[i]!.toFixed(4));
  return { hashBits: w.hashBits, hashed, dense };
}

export function toWeightsFile(
  w: TrainedWeights,
  training: Record<string, unknown>,
  minLevel = DEFAULT_MIN_LEVEL,
  calibration?: WeightsFile['calibration'],
): WeightsFile {
  const { buckets, q, scales } = quantize(w, minLevel);
  const dense: Record<string, number[]> = {};
  DENSE_NAMES.forEach((name, d) => {
    const row: number[] = [];
    for (let k = 0; k < N_OUT; k++) row.push(Number(w.dense[d * N_OUT + k]!.toFixed(4)));
    dense[name] = row;
  });
  return {
    format: WEIGHTS_FORMAT,
    version: WEIGHTS_VERSION,
    features: featureFingerprint(),
    hashBits: w.hashBits,
    tiers: [...COMPLEXITY_TIERS],
    domains: [...DOMAINS],
    dense,
    hashed: {
      rows: buckets.length,
      scales,
      buckets: encodeBuckets(buckets),
      weights: Buffer.from(q.buffer, q.byteOffset, q.byteLength).toString('base64'),
    },
    training,
    ...(calibration ? { calibration } : {}),
  };
}

/** Tier/domain labels of an example, as indices (for confusion matrices). */
export function labelIndex(tier: ComplexityTier, domain: Domain): { tier: number; domain: number } {
  return { tier: COMPLEXITY_TIERS.indexOf(tier), domain: DOMAINS.indexOf(domain) };
}
