/**
 * classify(request) → complexity tier, domain, capabilities, estimated tokens, language.
 *
 * Cheap features and the hashed word features are extracted in one pass (features.ts) and scored
 * by the shipped linear model (model.ts) as they stream out; capabilities, language and the
 * token estimate come straight from the extractor. No tokenizer runs here (DESIGN §7): the token
 * count is an estimate from character classes, good enough for tiering and the long-context flag;
 * exact tokenization is for callers near a context limit.
 */
import path from 'node:path';
import { repoRoot } from '../config/paths.js';
import { DEFAULT_LONG_CONTEXT_TOKENS, extract } from './features.js';
import { N_DOMAIN, N_TIER, ScoringSink, argmax, loadClassifierModel, softmaxInPlace } from './model.js';
import type { ClassifierModel } from './model.js';
import { COMPLEXITY_TIERS, DOMAINS } from './types.js';
import type { Classification, ClassifyRequest, ComplexityTier, Domain } from './types.js';

export interface ClassifierOptions {
  /** estimatedTokens + max_tokens at or above this sets capabilities.longContext. Default 32,000. */
  longContextTokens?: number;
  /** Include the heads' probabilities in the result (default true). */
  scores?: boolean;
}

export class Classifier {
  private readonly sink: ScoringSink;
  private readonly longContextTokens: number;
  private readonly withScores: boolean;

  constructor(
    readonly model: ClassifierModel,
    opts: ClassifierOptions = {},
  ) {
    this.sink = new ScoringSink(model);
    this.longContextTokens = opts.longContextTokens ?? DEFAULT_LONG_CONTEXT_TOKENS;
    this.withScores = opts.scores ?? true;
  }

  classify(req: ClassifyRequest): Classification {
    const sink = this.sink;
    sink.reset();
    const x = extract(req, sink, { mask: this.model.mask, longContextTokens: this.longContextTokens });
    sink.addDense(x.dense);
    const l = sink.logits;
    const t = this.model.tierTemperature;
    if (t !== 1) for (let k = 0; k < N_TIER; k++) l[k] = l[k]! / t;
    softmaxInPlace(l, 0, N_TIER);
    softmaxInPlace(l, N_TIER, N_DOMAIN);
    const tier = COMPLEXITY_TIERS[argmax(l, 0, N_TIER)]!;
    const domain = DOMAINS[argmax(l, N_TIER, N_DOMAIN)]!;
    const out: Classification = {
      tier,
      domain,
      capabilities: { tools: x.tools, vision: x.vision, json: x.json, longContext: x.longContext },
      estimatedTokens: x.estimatedTokens,
      language: x.language,
    };
    if (this.withScores) {
      const t = {} as Record<ComplexityTier, number>;
      COMPLEXITY_TIERS.forEach((name, k) => {
        t[name] = round4(l[k]!);
      });
      const d = {} as Record<Domain, number>;
      DOMAINS.forEach((name, k) => {
        d[name] = round4(l[N_TIER + k]!);
      });
      out.scores = { tier: t, domain: d };
    }
    return out;
  }
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

// ---------------------------------------------------------------------------------------------------
// The shipped model, loaded once

/** `models/classifier/weights.json` under the project root. */
export function defaultWeightsPath(): string {
  return path.join(repoRoot(), 'models', 'classifier', 'weights.json');
}

let shared: Classifier | undefined;

/**
 * Loads the shipped weights (or `weightsPath`) once; call at start-up so the first request does not
 * pay for it. Throws ClassifierModelError when the file is missing, malformed or stale.
 */
export function initClassifier(weightsPath: string = defaultWeightsPath(), opts: ClassifierOptions = {}): Classifier {
  shared = new Classifier(loadClassifierModel(weightsPath), opts);
  return shared;
}

/** Classifies with the shipped model (loaded on first use if initClassifier was not called). */
export function classify(req: ClassifyRequest): Classification {
  return (shared ?? initClassifier()).classify(req);
}
