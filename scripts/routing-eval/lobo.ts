/**
 * Leave-one-batch-out: for each independently written batch, a model trained on every other batch
 * (and the single-author set) scores the held-out one. Every request is thus scored by a model
 * that never saw its author's phrasing, which is what real traffic does to a router.
 */
import type { Batch } from '../../ext-proc/src/classify/batches.js';
import { N_TIER, softmaxInPlace } from '../../ext-proc/src/classify/model.js';
import { asShipped, encodeRequestAndFacts, labelIndex, logitsOf, toRequest, train } from '../../ext-proc/src/classify/train.js';
import type { EncodedExample, LabelledExample, TrainOptions } from '../../ext-proc/src/classify/train.js';
import { COMPLEXITY_TIERS } from '../../ext-proc/src/classify/types.js';
import type { Capabilities, ComplexityTier } from '../../ext-proc/src/classify/types.js';

/** A held-out request with what the model trained without its batch made of it. */
export interface Scored {
  ex: LabelledExample;
  batch: string;
  /** Raw (uncalibrated) tier logits: simple, medium, complex. */
  tierLogits: [number, number, number];
  domainPred: number;
  capabilities: Capabilities;
  estimatedTokens: number;
}

/** An example's features with its labels, and its capabilities and size (for the cost model). */
function encode(ex: LabelledExample, hashBits: number): { encoded: EncodedExample; capabilities: Capabilities; estimatedTokens: number } {
  const { features, capabilities, estimatedTokens } = encodeRequestAndFacts(toRequest(ex), hashBits);
  return { encoded: { ...features, ...labelIndex(ex.tier, ex.domain) }, capabilities, estimatedTokens };
}

export function leaveOneBatchOut(
  batches: readonly Batch[],
  legacy: readonly LabelledExample[],
  opts: TrainOptions,
  progress: (msg: string) => void = () => {},
): Scored[] {
  const legacyEncoded = legacy.map((ex) => encode(ex, opts.hashBits).encoded);
  const encoded = batches.map((b) => b.examples.map((ex) => encode(ex, opts.hashBits)));
  const out: Scored[] = [];
  batches.forEach((held, i) => {
    const t0 = Date.now();
    const trainSet: EncodedExample[] = [...legacyEncoded];
    encoded.forEach((e, j) => {
      if (j !== i) trainSet.push(...e.map((x) => x.encoded));
    });
    const w = asShipped(train(trainSet, opts));
    held.examples.forEach((ex, n) => {
      const { encoded: e, capabilities, estimatedTokens } = encoded[i]![n]!;
      const l = logitsOf(w, e);
      let domainPred = 0;
      for (let k = 1; k < l.length - N_TIER; k++) if (l[N_TIER + k]! > l[N_TIER + domainPred]!) domainPred = k;
      out.push({ ex, batch: held.name, tierLogits: [l[0]!, l[1]!, l[2]!], domainPred, capabilities, estimatedTokens });
    });
    progress(`batch ${held.name}: trained on ${trainSet.length}, scored ${held.examples.length} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  });
  return out;
}

/** The tier probabilities at a temperature, as the classifier computes them. */
export function tierProbabilities(l: readonly number[], temperature = 1): Float64Array {
  const v = Float64Array.of(l[0]! / temperature, l[1]! / temperature, l[2]! / temperature);
  softmaxInPlace(v, 0, N_TIER);
  return v;
}

/** Mean negative log-likelihood of the labelled tiers at a temperature. */
export function tierNll(scored: readonly Scored[], temperature: number): number {
  let sum = 0;
  for (const s of scored) {
    const p = tierProbabilities(s.tierLogits, temperature);
    sum -= Math.log(Math.max(1e-12, p[tierIndex(s.ex.tier)]!));
  }
  return sum / scored.length;
}

/** The temperature that minimises the held-out NLL (grid 0.25 … 5, step 0.01). */
export function fitTemperature(scored: readonly Scored[]): number {
  let best = 1;
  let bestNll = tierNll(scored, 1);
  for (let t = 0.25; t <= 5.0001; t += 0.01) {
    const nll = tierNll(scored, t);
    if (nll < bestNll) {
      bestNll = nll;
      best = Number(t.toFixed(2));
    }
  }
  return best;
}

/** Expected calibration error of the top tier probability (10 equal-width bins). */
export function expectedCalibrationError(scored: readonly Scored[], temperature: number): number {
  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, hit: 0 }));
  for (const s of scored) {
    const p = tierProbabilities(s.tierLogits, temperature);
    const k = p.indexOf(Math.max(...p));
    const b = bins[Math.min(9, Math.floor(p[k]! * 10))]!;
    b.n++;
    b.conf += p[k]!;
    if (k === tierIndex(s.ex.tier)) b.hit++;
  }
  return bins.reduce((acc, b) => acc + (b.n ? (b.n / scored.length) * Math.abs(b.conf / b.n - b.hit / b.n) : 0), 0);
}

export function tierIndex(t: ComplexityTier): number {
  return COMPLEXITY_TIERS.indexOf(t);
}
