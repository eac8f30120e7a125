/**
 * Leave-one-batch-out: for each independently written batch, a model trained on every other batch
 * (and the single-author set) scores the held-out one. Every request is thus scored by a model
 * that never saw its author's phrasing, which is what real traffic does to a router.
 */
import { DEFAULT_LONG_CONTEXT_TOKENS, extract } from '../../ext-proc/src/classify/features.js';
import type { FeatureSink } from '../../ext-proc/src/classify/features.js';
import { N_TIER } from '../../ext-proc/src/classify/model.js';
import { asShipped, encodeExample, logitsOf, toRequest, train } from '../../ext-proc/src/classify/train.js';
import type { EncodedExample, LabelledExample, TrainOptions } from '../../ext-proc/src/classify/train.js';
import type { Batch } from '../../ext-proc/src/classify/batches.js';
import type { Capabilities } from '../../ext-proc/src/classify/types.js';

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

const NO_SINK: FeatureSink = { begin() {}, add() {}, end() {} };

/** Capabilities and size as the classifier reports them (for the cost model). */
export function requestFacts(ex: LabelledExample): { capabilities: Capabilities; estimatedTokens: number } {
  const x = extract(toRequest(ex), NO_SINK, { mask: (1 << 17) - 1, longContextTokens: DEFAULT_LONG_CONTEXT_TOKENS });
  return { capabilities: { tools: x.tools, vision: x.vision, json: x.json, longContext: x.longContext }, estimatedTokens: x.estimatedTokens };
}

export function leaveOneBatchOut(
  batches: readonly Batch[],
  legacy: readonly LabelledExample[],
  opts: TrainOptions,
  progress: (msg: string) => void = () => {},
): Scored[] {
  const encode = (ex: LabelledExample) => encodeExample(ex, opts.hashBits);
  const legacyEncoded = legacy.map(encode);
  const encoded = batches.map((b) => b.examples.map(encode));
  const out: Scored[] = [];
  batches.forEach((held, i) => {
    const t0 = Date.now();
    const trainSet: EncodedExample[] = [...legacyEncoded];
    encoded.forEach((e, j) => {
      if (j !== i) trainSet.push(...e);
    });
    const w = asShipped(train(trainSet, opts));
    held.examples.forEach((ex, n) => {
      const l = logitsOf(w, encoded[i]![n]!);
      let domainPred = 0;
      for (let k = 1; k < l.length - N_TIER; k++) if (l[N_TIER + k]! > l[N_TIER + domainPred]!) domainPred = k;
      out.push({ ex, batch: held.name, tierLogits: [l[0]!, l[1]!, l[2]!], domainPred, ...requestFacts(ex) });
    });
    progress(`batch ${held.name}: trained on ${trainSet.length}, scored ${held.examples.length} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  });
  return out;
}

export function softmax3(l: readonly number[], temperature = 1): [number, number, number] {
  const a = l[0]! / temperature;
  const b = l[1]! / temperature;
  const c = l[2]! / temperature;
  const m = Math.max(a, b, c);
  const ea = Math.exp(a - m);
  const eb = Math.exp(b - m);
  const ec = Math.exp(c - m);
  const s = ea + eb + ec;
  return [ea / s, eb / s, ec / s];
}

/** Mean negative log-likelihood of the labelled tiers at a temperature. */
export function tierNll(scored: readonly Scored[], temperature: number): number {
  let sum = 0;
  for (const s of scored) {
    const p = softmax3(s.tierLogits, temperature);
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
    const p = softmax3(s.tierLogits, temperature);
    const k = p.indexOf(Math.max(...p));
    const b = bins[Math.min(9, Math.floor(p[k]! * 10))]!;
    b.n++;
    b.conf += p[k]!;
    if (k === tierIndex(s.ex.tier)) b.hit++;
  }
  return bins.reduce((acc, b) => acc + (b.n ? (b.n / scored.length) * Math.abs(b.conf / b.n - b.hit / b.n) : 0), 0);
}

export function tierIndex(t: string): number {
  return t === 'simple' ? 0 : t === 'medium' ? 1 : 2;
}
