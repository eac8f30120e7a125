/**
 * OpenRouter's model list (`GET https://openrouter.ai/api/v1/models`): `{ data: [...] }`, each
 * model with its `id` (the slug callers send), `context_length`, `pricing` as per-token USD
 * strings (`prompt`, `completion`, `input_cache_read`), `top_provider.max_completion_tokens`,
 * `architecture.input_modalities` and `supported_parameters`. Every model is served by the
 * catalog's `openrouter` provider.
 */
import { z } from 'zod';
import type { Capability } from '../schema.js';
import { describeIssues, perMillion, SourceError, type SourceModel, type SourceProblem } from './source.js';

const PROVIDER = 'openrouter';

/** A per-token price: a decimal string (as OpenRouter sends it) or a number. */
const PerToken = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: 'custom', message: `not a price: ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});
const Tokens = z.number().int().positive().nullish();

const ModelSchema = z.looseObject({
  id: z.string().min(1),
  context_length: Tokens,
  pricing: z.looseObject({ prompt: PerToken, completion: PerToken, input_cache_read: PerToken.nullish() }),
  top_provider: z.looseObject({ context_length: Tokens, max_completion_tokens: Tokens }).nullish(),
  architecture: z.looseObject({ input_modalities: z.array(z.string()).nullish() }).nullish(),
  supported_parameters: z.array(z.string()).nullish(),
});
type Model = z.infer<typeof ModelSchema>;

const ResponseSchema = z.object({ data: z.array(z.unknown()) });

export function readOpenRouter(json: unknown): { models: SourceModel[]; problems: SourceProblem[] } {
  const response = ResponseSchema.safeParse(json);
  if (!response.success) throw new SourceError('not an OpenRouter model list: expected {"data": [...]} as GET /api/v1/models answers');
  const models: SourceModel[] = [];
  const problems: SourceProblem[] = [];
  response.data.data.forEach((value, i) => {
    const id = (value as { id?: unknown } | null)?.id;
    const origin = typeof id === 'string' ? id : `data[${i}]`;
    const parsed = ModelSchema.safeParse(value);
    if (!parsed.success) {
      problems.push({ origin, ...(typeof id === 'string' ? { provider: PROVIDER, name: id } : {}), message: describeIssues(parsed.error.issues) });
      return;
    }
    const m = parsed.data;
    const model: SourceModel = { provider: PROVIDER, name: m.id, origin, capabilities: capabilities(m) };
    const p = m.pricing;
    // A negative price is OpenRouter's "varies by request" (its auto router): nothing to compare.
    if (p.prompt >= 0 && p.completion >= 0) {
      model.pricing = { input: perMillion(p.prompt), output: perMillion(p.completion) };
      if (p.input_cache_read != null && p.input_cache_read >= 0) model.pricing.cachedInput = perMillion(p.input_cache_read);
    } else {
      problems.push({ origin, provider: PROVIDER, name: m.id, message: 'no fixed price (it varies by request): prices left as they are' });
    }
    const context = m.context_length ?? m.top_provider?.context_length ?? undefined;
    if (context !== undefined) model.contextWindow = context;
    const output = m.top_provider?.max_completion_tokens ?? undefined;
    if (output !== undefined) model.maxOutputTokens = output;
    models.push(model);
  });
  return { models, problems };
}

function capabilities(m: Model): Capability[] {
  const params = new Set(m.supported_parameters ?? []);
  const caps: Capability[] = [];
  if (params.has('tools')) caps.push('tools');
  if ((m.architecture?.input_modalities ?? []).includes('image')) caps.push('vision');
  if (params.has('response_format') || params.has('structured_outputs')) caps.push('json_mode');
  // OpenRouter streams every model's answers.
  caps.push('streaming');
  if (params.has('reasoning') || params.has('include_reasoning')) caps.push('reasoning');
  return caps;
}
