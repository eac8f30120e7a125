/**
 * LiteLLM's `model_prices_and_context_window.json`: one object keyed by model name, each entry
 * with per-token USD prices (`input_cost_per_token`, `output_cost_per_token`,
 * `cache_read_input_token_cost`), limits (`max_input_tokens`, `max_output_tokens`, the older
 * `max_tokens`), the serving provider (`litellm_provider`), the kind of model (`mode`) and
 * `supports_*` flags. Keys of non-OpenAI providers usually carry the provider as a prefix
 * (`groq/llama-3.3-70b-versatile`, `openrouter/anthropic/claude-sonnet-4`).
 */
import { z } from 'zod';
import type { Capability } from '../schema.js';
import { describeIssues, perMillion, SourceError, type SourceModel, type SourceProblem } from './source.js';

/** LiteLLM's provider names that differ from the catalog's provider ids. */
const PROVIDER_IDS: Readonly<Record<string, string>> = {
  ollama_chat: 'ollama',
  hosted_vllm: 'vllm',
};

/** The file's first key documents the fields rather than describing a model. */
const SPEC_KEY = 'sample_spec';

const Cost = z.number().nonnegative().nullish();
const Limit = z.number().int().positive().nullish();

/** Only the fields read here are checked; the many others are let through untouched. */
const EntrySchema = z.looseObject({
  litellm_provider: z.string().min(1),
  mode: z.string().nullish(),
  input_cost_per_token: Cost,
  output_cost_per_token: Cost,
  cache_read_input_token_cost: Cost,
  max_input_tokens: Limit,
  max_output_tokens: Limit,
  supports_function_calling: z.boolean().nullish(),
  supports_vision: z.boolean().nullish(),
  supports_response_schema: z.boolean().nullish(),
  supports_reasoning: z.boolean().nullish(),
});
type Entry = z.infer<typeof EntrySchema>;

const FileSchema = z.record(z.string(), z.unknown());

export function readLiteLlm(json: unknown, providers: ReadonlySet<string>): { models: SourceModel[]; problems: SourceProblem[] } {
  const file = FileSchema.safeParse(json);
  if (!file.success || Array.isArray(json)) {
    throw new SourceError('not a LiteLLM price map: expected a JSON object keyed by model name (model_prices_and_context_window.json)');
  }
  const models: SourceModel[] = [];
  const problems: SourceProblem[] = [];
  for (const [key, value] of Object.entries(file.data)) {
    if (key === SPEC_KEY) continue;
    const guess = nameOf(key, value);
    if (guess && !providers.has(guess.provider)) continue;
    const parsed = EntrySchema.safeParse(value);
    if (!parsed.success) {
      problems.push({ origin: key, ...guess, message: describeIssues(parsed.error.issues) });
      continue;
    }
    const e = parsed.data;
    // The gateway speaks chat: embeddings, images, audio and completion-only models do not apply.
    if (e.mode != null && e.mode !== 'chat') continue;
    const { provider, name } = nameOf(key, e)!;
    models.push({ provider, name, origin: key, ...pricing(e), ...limits(e), capabilities: capabilities(e) });
  }
  return { models, problems };
}

/** The catalog provider and the provider's own name of an entry (undefined without a provider). */
function nameOf(key: string, value: unknown): { provider: string; name: string } | undefined {
  const litellm = (value as { litellm_provider?: unknown } | null)?.litellm_provider;
  if (typeof litellm !== 'string') return undefined;
  const provider = PROVIDER_IDS[litellm] ?? litellm;
  for (const prefix of [`${litellm}/`, `${provider}/`]) {
    if (key.startsWith(prefix)) return { provider, name: key.slice(prefix.length) };
  }
  return { provider, name: key };
}

function pricing(e: Entry): Pick<SourceModel, 'pricing'> {
  if (e.input_cost_per_token == null || e.output_cost_per_token == null) return {};
  const p: NonNullable<SourceModel['pricing']> = { input: perMillion(e.input_cost_per_token), output: perMillion(e.output_cost_per_token) };
  if (e.cache_read_input_token_cost != null) p.cachedInput = perMillion(e.cache_read_input_token_cost);
  return { pricing: p };
}

/**
 * `max_input_tokens` is what LiteLLM knows as the context window of most models; where a provider
 * splits the window (an input limit plus an output limit), the catalog may hold their sum. The
 * legacy `max_tokens` is left alone: it means the output limit in some entries, the window in others.
 */
function limits(e: Entry): Pick<SourceModel, 'contextWindow' | 'maxInputTokens' | 'maxOutputTokens'> {
  const out: Pick<SourceModel, 'contextWindow' | 'maxInputTokens' | 'maxOutputTokens'> = {};
  const input = e.max_input_tokens ?? undefined;
  if (input !== undefined) {
    out.contextWindow = input;
    out.maxInputTokens = input;
  }
  const output = e.max_output_tokens ?? undefined;
  if (output !== undefined) out.maxOutputTokens = output;
  return out;
}

function capabilities(e: Entry): Capability[] {
  const caps: Capability[] = [];
  if (e.supports_function_calling) caps.push('tools');
  if (e.supports_vision) caps.push('vision');
  if (e.supports_response_schema) caps.push('json_mode');
  // Every chat model LiteLLM lists streams; it has no flag saying otherwise.
  caps.push('streaming');
  if (e.supports_reasoning) caps.push('reasoning');
  return caps;
}
