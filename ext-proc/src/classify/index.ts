export { Classifier, classify, defaultWeightsPath, initClassifier } from './classify.js';
export type { ClassifierOptions } from './classify.js';
export { DEFAULT_LONG_CONTEXT_TOKENS, TOKENS_PER_IMAGE, segmentText } from './features.js';
export { ClassifierModelError, loadClassifierModel, parseClassifierModel } from './model.js';
export type { ClassifierModel } from './model.js';
export { COMPLEXITY_TIERS, DOMAINS, LANGUAGES } from './types.js';
export type {
  Capabilities,
  ChatMessageLike,
  Classification,
  ClassificationScores,
  ClassifyRequest,
  ComplexityTier,
  Domain,
  Language,
} from './types.js';
