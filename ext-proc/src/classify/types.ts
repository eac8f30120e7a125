/**
 * Public types of the request classifier (complexity tier, domain, capabilities, size, language).
 */

/** Complexity tiers, cheapest first. Routing maps them to catalog quality tiers (economy/standard/premium). */
export const COMPLEXITY_TIERS = ['simple', 'medium', 'complex'] as const;
export const DOMAINS = ['code', 'math', 'creative', 'legal', 'medical', 'finance', 'translation', 'data', 'general'] as const;
export const LANGUAGES = ['en', 'es', 'other'] as const;

export type ComplexityTier = (typeof COMPLEXITY_TIERS)[number];
export type Domain = (typeof DOMAINS)[number];
export type Language = (typeof LANGUAGES)[number];

/** One chat message as it arrives in an OpenAI-style body: `content` is a string, an array of parts, or null. */
export interface ChatMessageLike {
  role: string;
  content: unknown;
}

/** The parts of a chat completion request the classifier reads. */
export interface ClassifyRequest {
  messages: ChatMessageLike[];
  tools?: unknown[];
  response_format?: unknown;
  max_tokens?: number;
}

export interface Capabilities {
  /** The request declares tools (or the conversation already contains tool calls/results). */
  tools: boolean;
  /** At least one image part in the conversation. */
  vision: boolean;
  /** `response_format` asks for JSON (`json_object` or `json_schema`). */
  json: boolean;
  /** estimatedTokens + max_tokens reaches the long-context threshold (default 32,000 tokens). */
  longContext: boolean;
}

export interface ClassificationScores {
  /** Softmax probabilities of the tier head. */
  tier: Record<ComplexityTier, number>;
  /** Softmax probabilities of the domain head. */
  domain: Record<Domain, number>;
}

export interface Classification {
  tier: ComplexityTier;
  domain: Domain;
  capabilities: Capabilities;
  /** Estimated input (prompt) tokens of the whole request: text, images, tool definitions, JSON schema. */
  estimatedTokens: number;
  /** Language of the conversation, weighted towards the last user instruction. */
  language: Language;
  scores?: ClassificationScores;
}
