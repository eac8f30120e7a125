/**
 * A public model list (LiteLLM's price map or OpenRouter's model API), read into one shape the
 * catalog can be compared with: the provider's own model name, prices in the catalog's unit (USD
 * per 1M tokens), context sizes and capabilities.
 *
 * Each format's reader validates its input with zod. A top-level shape that is not the format's
 * is an error ({@link SourceError}); one malformed entry among thousands is not: it is skipped and
 * reported as a {@link SourceProblem}, and the model it names still counts as listed (so a typo
 * upstream never makes a catalog model look withdrawn).
 */
import type { Capability } from '../schema.js';

export const SOURCE_FORMATS = ['litellm', 'openrouter'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export interface SourcePricing {
  /** USD per 1M input tokens. */
  input: number;
  /** USD per 1M output tokens. */
  output: number;
  /** USD per 1M input tokens read from the provider's prompt cache, when the source lists it. */
  cachedInput?: number;
}

export interface SourceModel {
  /** Catalog provider id it belongs to (`openai`, `groq`, `openrouter`, ...). */
  provider: string;
  /** The provider's own model name: what the catalog calls `upstream_id`. */
  name: string;
  /** The entry's name in the source (LiteLLM key, OpenRouter id), for messages. */
  origin: string;
  pricing?: SourcePricing;
  /** Total tokens (input + output) the model accepts, as the source states it. */
  contextWindow?: number;
  /** The input limit alone, where the source lists input and output limits separately. */
  maxInputTokens?: number;
  maxOutputTokens?: number;
  capabilities: Capability[];
}

/** An entry that could not be read; `provider` and `name` are set when they could be told. */
export interface SourceProblem {
  origin: string;
  provider?: string;
  name?: string;
  message: string;
}

export interface SourceReadout {
  format: SourceFormat;
  models: SourceModel[];
  problems: SourceProblem[];
}

/** The input is not the format it should be; the message says what was expected. */
export class SourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

/** USD per token (the sources' unit) → USD per 1M tokens (the catalog's), without float dust. */
export function perMillion(usdPerToken: number): number {
  return Number((usdPerToken * 1e6).toPrecision(10));
}

/** `field: message; field: message` for a zod error, for one line of a report. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}
