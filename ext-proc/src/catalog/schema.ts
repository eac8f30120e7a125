/**
 * Zod schemas for `models/catalog.yaml`.
 *
 * Field names are snake_case exactly as written in the YAML; `load.ts` turns the
 * validated raw data into the camelCase runtime types. Every object is strict:
 * an unknown (e.g. misspelt) key is an error, never silently ignored.
 *
 * Checks that need the whole catalog (provider references, id/alias uniqueness)
 * live in `load.ts`, because they must name two entries and their lines.
 */
import { z } from 'zod';

/** Wire formats the gateway speaks to upstreams; each format also decides how the credential is sent. */
export const PROVIDER_FORMATS = ['openai', 'anthropic', 'gemini', 'ollama'] as const;
export const CAPABILITIES = ['tools', 'vision', 'json_mode', 'streaming', 'reasoning'] as const;
export const TIERS = ['economy', 'standard', 'premium'] as const;

export type ProviderFormat = (typeof PROVIDER_FORMATS)[number];
export type Capability = (typeof CAPABILITIES)[number];
export type Tier = (typeof TIERS)[number];

/** Provider ids double as Envoy cluster names and as the `provider:` reference in models. */
export const PROVIDER_ID_RE = /^[a-z0-9][a-z0-9_-]*$/;
/** Model ids/aliases: what callers put in `"model"`. No whitespace; `/`, `:`, `.`, `@`, `+` allowed. */
export const MODEL_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$/;
/** DNS name or IPv4 literal; no scheme, no port, no path. */
const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** '' or '/seg/seg' — leading slash, no trailing slash, no query. */
const BASE_PATH_RE = /^(?:\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/;
const ENV_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;

export const ProviderIdSchema = z
  .string()
  .regex(PROVIDER_ID_RE, 'provider id must be lowercase letters, digits, "-" or "_" (it is used as the Envoy cluster name)');

export const ModelNameSchema = z.string().regex(MODEL_NAME_RE, 'model name must be non-empty, start with a letter or digit, and contain no whitespace');

export const ProviderSchema = z
  .strictObject({
    format: z.enum(PROVIDER_FORMATS),
    host: z.string().regex(HOST_RE, 'host must be a bare hostname (no scheme, port or path), e.g. api.openai.com'),
    port: z.int().min(1).max(65535),
    tls: z.boolean(),
    base_path: z.string().regex(BASE_PATH_RE, 'base_path must be empty or start with "/" and have no trailing "/", e.g. /v1'),
    /** Absent for keyless backends (a local Ollama or vLLM), which then need `enabled_env`. */
    api_key_env: z.string().regex(ENV_NAME_RE, 'api_key_env must be an environment variable name like OPENAI_API_KEY').optional(),
    /** A keyless provider is offered only while this variable is set (e.g. OLLAMA_URLS). */
    enabled_env: z.string().regex(ENV_NAME_RE, 'enabled_env must be an environment variable name like OLLAMA_URLS').optional(),
  })
  .superRefine((p, ctx) => {
    if (p.api_key_env === undefined && p.enabled_env === undefined) {
      ctx.addIssue({ code: 'custom', path: ['api_key_env'], message: 'a provider needs api_key_env, or enabled_env when it takes no key' });
    }
  });

/** USD per 1M tokens. */
const Price = z.number().min(0);

export const PricingSchema = z
  .strictObject({
    input: Price,
    output: Price,
    cached_input: Price.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.cached_input !== undefined && p.input >= 0 && p.cached_input > p.input) {
      ctx.addIssue({
        code: 'custom',
        path: ['cached_input'],
        message: `cached_input (${p.cached_input}) must not exceed input (${p.input})`,
      });
    }
  });

const CapabilityListSchema = z.array(z.enum(CAPABILITIES)).superRefine((caps, ctx) => {
  const seen = new Set<string>();
  caps.forEach((c, i) => {
    if (seen.has(c)) ctx.addIssue({ code: 'custom', path: [i], message: `capability "${c}" is listed twice` });
    seen.add(c);
  });
});

/** A chain (the model and its fallbacks) stays small: Envoy gets one cluster per usable subset. */
export const MAX_FALLBACKS = 3;

export const ModelSchema = z
  .strictObject({
    id: ModelNameSchema,
    provider: ProviderIdSchema,
    upstream_id: z.string().min(1).optional(),
    aliases: z.array(ModelNameSchema).default([]),
    pricing: PricingSchema,
    context_window: z.int().positive(),
    max_output_tokens: z.int().positive(),
    capabilities: CapabilityListSchema,
    tier: z.enum(TIERS),
    /** How long this model's answers stay in the response cache (overrides CACHE_TTL_SECONDS). */
    cache_ttl_seconds: z.int().positive().optional(),
    /**
     * Models tried in order when this one answers 429/5xx, cannot be reached or times out.
     * Each may be served by a provider of another wire format: the request is re-translated.
     */
    fallbacks: z.array(ModelNameSchema).max(MAX_FALLBACKS, `at most ${MAX_FALLBACKS} fallbacks per model`).optional(),
  })
  .superRefine((m, ctx) => {
    if (m.max_output_tokens > m.context_window) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_output_tokens'],
        message: `max_output_tokens (${m.max_output_tokens}) exceeds context_window (${m.context_window})`,
      });
    }
  });

export const CatalogSchema = z.strictObject({
  providers: z.record(ProviderIdSchema, ProviderSchema),
  models: z.array(ModelSchema),
});

export type RawProvider = z.infer<typeof ProviderSchema>;
export type RawPricing = z.infer<typeof PricingSchema>;
export type RawModel = z.infer<typeof ModelSchema>;
export type RawCatalog = z.infer<typeof CatalogSchema>;
